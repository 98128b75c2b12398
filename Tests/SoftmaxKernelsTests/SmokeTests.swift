import XCTest
import SoftmaxKernels
final class SmokeTests: XCTestCase {
  func testSmoke() throws {
    let y = try Softmax.softmax([1, 2, 3] as [Float])
    XCTAssertEqual(y.reduce(0, +), 1, accuracy: 1e-6)
  }
}
