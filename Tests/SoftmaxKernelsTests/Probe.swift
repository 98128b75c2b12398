import XCTest
import SoftmaxKernels
import Foundation

final class ProbeTests: XCTestCase {
  func testSpeed() throws {
    for level in ISALevel.allSupported {
      for alg in SoftmaxAlgorithm.allCases {
        let x = (0..<100_003).map { Float($0 % 97) * 0.1 }
        let t0 = Date()
        var y = [Float]()
        for _ in 0..<5 { y = try Softmax.softmax(x, options: SoftmaxOptions(algorithm: alg, isa: level)) }
        print("speed", level, alg, Date().timeIntervalSince(t0) / 5 / 100_003 * 1e9, "ns/elem", y[0])
      }
    }
  }
  func testNaNTail() throws {
    var x = [Float](repeating: 0, count: 17)
    x[16] = .nan
    let y = try Softmax.softmax(x, options: SoftmaxOptions(algorithm: .twoPass))
    print("nan tail", y)
    print("lse", try Softmax.logSumExp(x, options: SoftmaxOptions(algorithm: .twoPass)))
  }
  func testZInfTwoPass() throws {
    guard ProcessInfo.processInfo.environment["PROBE_INF"] != nil else { return }
    var x = [Float](repeating: 0, count: 17)
    x[3] = .infinity
    let y = try Softmax.softmax(x, options: SoftmaxOptions(algorithm: .twoPass))
    print("inf", y)
  }
}
