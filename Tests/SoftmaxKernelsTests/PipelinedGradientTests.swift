// The cross-entropy gradient written during the next row's exponential pass (with streaming
// stores and rows that fit the level-2 cache, each row's gradient pass runs inside the next
// row's sum pass, the vectors before the first aligned one and the tail after it): bitwise the
// gradient of ordinary stores (where every row's pass runs on its own), for every storage
// type, level, output alignment and thread count, with rows whose pass is skipped or cut short
// next to pipelined ones (an ignored target, an all -inf row, a +inf entry, a NaN entry, a
// dominant entry whose gradient entry is written after the pass), in place too.

import SoftmaxKernels
import XCTest

final class PipelinedGradientTests: SoftmaxKernelsTestCase {
  static let columnCounts = [1, 15, 16, 17, 33, 100, 1000]
  static let rows = 7
  static let ignoredRow = 1

  /// Row r of the test matrix: random, with the special row kinds above at rows 2-5.
  static func logits(columns n: Int, seed: UInt64) -> [Double] {
    var rng = SeededRandom(seed: seed)
    var x: [Double] = rng.row(Double.self, rows * n, -10, 10)
    for i in 0..<n { x[2 * n + i] = -.infinity }
    x[3 * n + n / 2] = .infinity
    for i in 0..<n { x[4 * n + i] /= 4 }
    x[4 * n + n - 1] = 40
    x[5 * n] = .nan
    return x
  }

  static func targets(columns n: Int, ignoreIndex: Int) -> [Int] {
    (0..<rows).map { $0 == ignoredRow ? ignoreIndex : $0 == 4 ? n - 1 : ($0 * 7919) % n }
  }

  /// Random probability rows, one-hot at the dominant entry of row 4.
  static func probabilities(columns n: Int, seed: UInt64) -> [Double] {
    var rng = SeededRandom(seed: seed)
    var p: [Double] = rng.row(Double.self, rows * n, 0, 1)
    for i in 0..<n { p[4 * n + i] = i == n - 1 ? 1 : 0 }
    return p
  }

  func testFloatAndDoubleGradientsAreBitwiseTheUnpipelinedOnes() throws {
    try forEachScalarType { type in try scalar(type) }
  }

  func testHalfPrecisionGradientsAreBitwiseTheUnpipelinedOnes() throws {
    for type in halfTypes { try half(type) }
  }

  private func scalar<T: KernelScalar>(_: T.Type) throws {
    for n in Self.columnCounts {
      let x = Self.logits(columns: n, seed: 11).map { T($0) }
      let p = Self.probabilities(columns: n, seed: 12).map { T($0) }
      let w = (0..<n).map { T(0.5 + Double($0 % 7) / 4) }
      let ignoreIndex = -100
      let y = Self.targets(columns: n, ignoreIndex: ignoreIndex)
      try forEachLevel { level in
        for (smoothing, zLoss, weighted) in [(0.0, 0.0, false), (0.1, 1e-4, true)] {
          for threads in [1, 2] {
            for offset in [0, 1, 3] {
              for probabilities in [false, true] {
                for inPlace in [false, true] {
                  func run(_ streaming: Bool, inPlace: Bool) throws -> ([T], [T]) {
                    var options = CrossEntropyOptions(
                      reduction: .none, ignoreIndex: ignoreIndex, labelSmoothing: smoothing, zLossScale: zLoss,
                      execution: ExecutionOptions(isa: level, streamingStores: streaming))
                    options.execution.threads = threads
                    var buffer = [T](repeating: -7, count: x.count + offset + 16)
                    var logits = x
                    var losses = [T](repeating: 0, count: Self.rows)
                    if inPlace { buffer.replaceSubrange(offset..<(offset + x.count), with: x) }
                    try logits.withUnsafeMutableBufferPointer { xb in
                      try buffer.withUnsafeMutableBufferPointer { b in
                        let g = UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)])
                        let source = inPlace ? UnsafeBufferPointer(g) : UnsafeBufferPointer(xb)
                        let rows = Rows(source, rows: Self.rows, columns: n)
                        let gradient = MutableRows(g, rows: Self.rows, columns: n)
                        try w.withUnsafeBufferPointer { wb in
                          try losses.withUnsafeMutableBufferPointer { lb in
                            let weights = weighted ? wb : nil
                            if probabilities {
                              try p.withUnsafeBufferPointer { pb in
                                _ = try CrossEntropy.lossAndGradient(
                                  logits: rows, probabilities: Rows(pb, rows: Self.rows, columns: n), classWeights: weights,
                                  gradient: gradient, rowLosses: lb, options: options)
                              }
                            } else {
                              try y.withUnsafeBufferPointer { tb in
                                _ = try CrossEntropy.lossAndGradient(
                                  logits: rows, targets: tb, classWeights: weights, gradient: gradient, rowLosses: lb,
                                  options: options)
                              }
                            }
                          }
                        }
                      }
                    }
                    XCTAssertTrue((buffer[..<offset] + buffer[(offset + x.count)...]).allSatisfy { $0 == -7 }, "written outside")
                    return (Array(buffer[offset..<(offset + x.count)]), losses)
                  }
                  let (pipelined, pipelinedLosses) = try run(true, inPlace: inPlace)
                  let (plain, plainLosses) = try run(false, inPlace: false)
                  let what = "\(T.self) columns \(n) \(level) threads \(threads) offset \(offset) smoothing \(smoothing) "
                    + "probabilities \(probabilities) in place \(inPlace)"
                  if let i = firstDifference(pipelined, plain) {
                    XCTFail("\(what): gradient index \(i) (row \(i / n)): \(pipelined[i]) vs \(plain[i])")
                    return
                  }
                  XCTAssertNil(firstDifference(pipelinedLosses, plainLosses), what)
                  // The test can fail: the special rows are what they should be.
                  if !probabilities {
                    XCTAssertTrue(plain[(Self.ignoredRow * n)..<((Self.ignoredRow + 1) * n)].allSatisfy { $0 == 0 }, what)
                  }
                  XCTAssertTrue(plain[(2 * n)..<(3 * n)].allSatisfy { $0.isNaN }, what)
                  XCTAssertTrue(plain[(6 * n)..<(7 * n)].allSatisfy { $0.isFinite }, what)
                }
              }
            }
          }
        }
      }
    }
  }

  private func half<H: HalfType>(_: H.Type) throws {
    for n in Self.columnCounts {
      let x = Self.logits(columns: n, seed: 21).map { H(Float($0)) }
      let p = Self.probabilities(columns: n, seed: 22).map { Float($0) }
      let ignoreIndex = -100
      let y = Self.targets(columns: n, ignoreIndex: ignoreIndex)
      try forEachLevel { level in
        for threads in [1, 2] {
          for offset in [0, 1, 5] {
            for probabilities in [false, true] {
              func run(_ streaming: Bool) throws -> [UInt16] {
                var options = CrossEntropyOptions(
                  reduction: .none, ignoreIndex: ignoreIndex, labelSmoothing: 0.1, zLossScale: 1e-4,
                  execution: ExecutionOptions(isa: level, streamingStores: streaming))
                options.execution.threads = threads
                var buffer = [H](repeating: H(-7), count: x.count + offset + 16)
                try x.withUnsafeBufferPointer { xb in
                  try buffer.withUnsafeMutableBufferPointer { b in
                    let g = MutableRows(UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)]), rows: Self.rows, columns: n)
                    let rows = Rows(xb, rows: Self.rows, columns: n)
                    if probabilities {
                      try p.withUnsafeBufferPointer { pb in
                        _ = try CrossEntropy.lossAndGradient(
                          logits: rows, probabilities: Rows(pb, rows: Self.rows, columns: n), gradient: g, options: options)
                      }
                    } else {
                      try y.withUnsafeBufferPointer { tb in
                        _ = try CrossEntropy.lossAndGradient(logits: rows, targets: tb, gradient: g, options: options)
                      }
                    }
                  }
                }
                XCTAssertTrue((buffer[..<offset] + buffer[(offset + x.count)...]).allSatisfy { $0.float == -7 }, "written outside")
                return buffer[offset..<(offset + x.count)].map(\.bits)
              }
              let pipelined = try run(true), plain = try run(false)
              if let i = (0..<pipelined.count).first(where: { pipelined[$0] != plain[$0] }) {
                XCTFail("\(H.name) columns \(n) \(level) threads \(threads) offset \(offset) probabilities \(probabilities): "
                  + "gradient index \(i) (row \(i / n)): \(H(bits: pipelined[i]).float) vs \(H(bits: plain[i]).float)")
                return
              }
              XCTAssertTrue(plain[(6 * n)..<(7 * n)].allSatisfy { H(bits: $0).float.isFinite })
            }
          }
        }
      }
    }
  }
}
