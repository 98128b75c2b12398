// Streaming (non-temporal) stores: the softmax family's outputs are bitwise the same with and
// without them, for every algorithm, level and type, at every alignment of the output (the
// streaming driver writes the elements before the first 64-byte boundary and the last partial
// vector with ordinary stores), for split rows (each thread's chunk aligned on its own), in
// place, and nothing outside the output is written.

import SoftmaxKernels
import XCTest

final class StreamingStoreTests: SoftmaxKernelsTestCase {
  /// Rows of every length around the vector widths, at every element offset of a 64-byte line.
  func testOutputsAreBitwiseTheSameAtEveryAlignment() throws {
    try forEachScalarType { type in try check(type) }
  }

  private func check<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 404)
    let lineElements = 64 / MemoryLayout<T>.stride
    for columns in [1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1000, 4097] {
      let rows = 3
      let x: [T] = rng.row(T.self, rows * columns, -20, 20)
      try forEachAlgorithmAndLevel { options in
        for offset in 0..<lineElements {
          let plain = try run(x, columns, offset, options, streaming: false)
          let streamed = try run(x, columns, offset, options, streaming: true)
          for (name, a, b) in [("softmax", plain.0, streamed.0), ("logSoftmax", plain.1, streamed.1)] {
            if let i = firstDifference(a, b) {
              XCTFail("\(name) \(T.self) columns \(columns) offset \(offset) \(describe(options)): index \(i), \(a[i]) vs \(b[i])")
              return
            }
          }
        }
      }
    }
  }

  /// Softmax and log-softmax of `x` written at element `offset` of a larger buffer whose other
  /// elements must stay untouched.
  private func run<T: KernelScalar>(
    _ x: [T], _ columns: Int, _ offset: Int, _ options: SoftmaxOptions, streaming: Bool
  ) throws -> ([T], [T]) {
    var options = options
    options.execution.streamingStores = streaming
    func into<F: RowwiseFunction>(_: F.Type) throws -> [T] where F.Options == SoftmaxOptions {
      let sentinel = T(-12345)
      var buffer = [T](repeating: sentinel, count: x.count + offset + 64)
      try x.withUnsafeBufferPointer { xb in
        try buffer.withUnsafeMutableBufferPointer { b in
          let out = UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)])
          try F.forward(
            Rows(xb, rows: x.count / columns, columns: columns),
            into: MutableRows(out, rows: x.count / columns, columns: columns), options: options)
        }
      }
      let outside = buffer[..<offset] + buffer[(offset + x.count)...]
      XCTAssertTrue(outside.allSatisfy { $0 == sentinel }, "written outside the output (offset \(offset))")
      return Array(buffer[offset..<(offset + x.count)])
    }
    return (try into(Softmax.self), try into(LogSoftmax.self))
  }

  /// One long row split over two threads (each chunk starts at its own alignment), and in place.
  func testSplitRowsAndInPlace() throws {
    var rng = SeededRandom(seed: 405)
    let n = 300_007
    let x: [Float] = rng.row(Float.self, n, -30, 30)
    try forEachAlgorithmAndLevel { options in
      var options = options
      options.execution.threads = 2
      options.execution.streamingStores = false
      let plain = try Softmax.forward(x, options: options)
      let plainLog = try LogSoftmax.forward(x, options: options)
      options.execution.streamingStores = true
      XCTAssertNil(firstDifference(plain, try Softmax.forward(x, options: options)), describe(options))
      XCTAssertNil(firstDifference(plainLog, try LogSoftmax.forward(x, options: options)), describe(options))
      var inPlace = x
      try Softmax.forward(&inPlace, options: options)
      XCTAssertNil(firstDifference(plain, inPlace), "in place, \(describe(options))")
    }
  }

  /// The cross-entropy gradient (integer and probability targets, class weights, label
  /// smoothing, z-loss) is bitwise the same with and without streaming stores, at every output
  /// alignment and level.
  func testCrossEntropyGradientIsBitwiseTheSame() throws {
    var rng = SeededRandom(seed: 406)
    let rows = 3
    for columns in [1, 15, 17, 100, 1000] {
      let x: [Float] = rng.row(Float.self, rows * columns, -10, 10)
      let targets = (0..<rows).map { $0 % columns }
      let p: [Float] = rng.row(Float.self, rows * columns, 0, 1)
      let w: [Float] = rng.row(Float.self, columns, 0.5, 2)
      try forEachLevel { level in
        for offset in 0..<16 {
          func gradient(_ streaming: Bool, probabilities: Bool) throws -> [Float] {
            let options = CrossEntropyOptions(
              labelSmoothing: 0.1, zLossScale: 1e-4,
              execution: ExecutionOptions(isa: level, streamingStores: streaming))
            var buffer = [Float](repeating: -7, count: x.count + offset + 16)
            try x.withUnsafeBufferPointer { xb in
              try buffer.withUnsafeMutableBufferPointer { b in
                let g = MutableRows(UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)]), rows: rows, columns: columns)
                try w.withUnsafeBufferPointer { wb in
                  if probabilities {
                    try p.withUnsafeBufferPointer { pb in
                      _ = try CrossEntropy.lossAndGradient(
                        logits: Rows(xb, rows: rows, columns: columns), probabilities: Rows(pb, rows: rows, columns: columns),
                        classWeights: wb, gradient: g, options: options)
                    }
                  } else {
                    try targets.withUnsafeBufferPointer { tb in
                      _ = try CrossEntropy.lossAndGradient(
                        logits: Rows(xb, rows: rows, columns: columns), targets: tb, classWeights: wb, gradient: g,
                        options: options)
                    }
                  }
                }
              }
            }
            XCTAssertTrue((buffer[..<offset] + buffer[(offset + x.count)...]).allSatisfy { $0 == -7 }, "written outside")
            return Array(buffer[offset..<(offset + x.count)])
          }
          for probabilities in [false, true] {
            let a = try gradient(false, probabilities: probabilities), b = try gradient(true, probabilities: probabilities)
            XCTAssertNil(firstDifference(a, b), "columns \(columns) offset \(offset) probabilities \(probabilities)")
          }
        }
      }
    }
  }

  /// The default is by size: small outputs are written with ordinary stores (the results are
  /// the same either way; this checks the option's default and that `nil` is accepted).
  func testDefaultIsBySize() throws {
    XCTAssertNil(ExecutionOptions().streamingStores)
    let x: [Float] = [1, 2, 3]
    XCTAssertEqual(try Softmax.forward(x), try Softmax.forward(x, options: SoftmaxOptions(execution: ExecutionOptions(streamingStores: true))))
  }
}
