import SoftmaxKernels
import XCTest

/// The accuracy claim for long rows: a 2^28-element float softmax (1 GiB) sums to 1 within 1e-6
/// with every algorithm, split over threads or not. One float accumulator per lane would give
/// about 1.0123 here (../shared/SWIFT-SIMD.md §4).
final class LongRowTests: SoftmaxKernelsTestCase {
  func testQuarterBillionElementSoftmaxSumsToOne() throws {
    let n = 1 << 28
    let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    let y = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
    defer {
      x.deallocate()
      y.deallocate()
    }
    // Uniform in [-8, 8) from a fixed xorshift seed (PERF.md's W1 input).
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    for i in 0..<n {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      x[i] = -8 + Float(state >> 40) * (16 / Float(1 << 24))
    }
    for algorithm in [SoftmaxAlgorithm.twoPass, .threePassReload, .online, .threePassRecompute] {
      for threads in [1, 2] {
        try Softmax.forward(UnsafeBufferPointer(x), into: y, options: SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: threads)))
        var total = 0.0
        var block = 0.0
        for i in 0..<n {
          block += Double(y[i])
          if i & 0xFFFF == 0xFFFF {
            total += block
            block = 0
          }
        }
        total += block
        XCTAssertEqual(total, 1, accuracy: 1e-6, "\(algorithm), \(threads) threads: sum \(total)")
      }
    }
  }
}

/// The README's usage example, verbatim, with its printed values checked.
final class ReadmeExampleTests: SoftmaxKernelsTestCase {
  func testReadmeExample() throws {
    let logits: [Float] = [2.0, 1.0, 0.1, -.infinity]
    let p = try Softmax.forward(logits)  // [0.659, 0.242, 0.099, 0.0]
    let z = try LogSoftmax.forward(logits)  // [-0.417, -1.417, -2.317, -inf]
    let lse = try LogSumExp.forward(logits)  // 2.417

    var batch: [Float] = (0..<12).map(Float.init)  // 4 rows of 3 classes
    try Softmax.forward(&batch, columns: 3, options: SoftmaxOptions(algorithm: .twoPass))
    print(ISALevel.active, p, z, lse, batch)

    for (a, b) in zip(p, [0.659, 0.242, 0.099, 0.0] as [Float]) { XCTAssertEqual(a, b, accuracy: 5e-4) }
    for (a, b) in zip(z.prefix(3), [-0.417, -1.417, -2.317] as [Float]) { XCTAssertEqual(a, b, accuracy: 5e-4) }
    XCTAssertEqual(z[3], -.infinity)
    XCTAssertEqual(lse, 2.417, accuracy: 5e-4)
    for r in 0..<4 {
      XCTAssertEqual(batch[3 * r..<3 * r + 3].reduce(0, +), 1, accuracy: 1e-6)
      XCTAssertEqual(batch[3 * r + 2] / batch[3 * r + 1], exp(1), accuracy: 1e-5)
    }
  }
}
