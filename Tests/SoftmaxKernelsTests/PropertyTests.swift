// Properties that hold for any input, on seeded random rows of random lengths: shift
// invariance, sum to one, log-softmax = log(softmax), max <= lse <= max + log n, batched rows
// equal to single rows, and the rule `.automatic` follows.

import Foundation
import SoftmaxKernels
import XCTest

final class PropertyTests: SoftmaxKernelsTestCase {
  /// `count` random row lengths in 1...maxLength, from a fixed seed.
  static func lengths(_ count: Int, max maxLength: Int, seed: UInt64) -> [Int] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in 1 + Int(rng.next() % UInt64(maxLength)) }
  }

  // MARK: - Shift invariance

  /// softmax(x + c) = softmax(x), logSoftmax(x + c) = logSoftmax(x), lse(x + c) = lse(x) + c.
  /// The inputs are multiples of 1/64 in [-8, 8) so that x + c is exact in Float for every c
  /// used: the only difference between the two calls is then the kernel's own rounding.
  func testShiftInvariance() {
    forEachScalarType { shiftInvariance($0) }
  }

  func shiftInvariance<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 21)
    // Worst case per (operation, algorithm, level), as a fraction of its bound; one assertion
    // each, naming the row length, shift and element.
    var tally = BoundTally()
    for n in [1, 7, 16, 17, 100, 1000, 4097] {
      let x: [T] = (0..<n).map { _ in T((rng.uniform(-8, 8) * 64).rounded(.down) / 64) }
      for c in [-50, 0.5, 90, 1000, 1e4, 5e4] as [Double] {
        let shifted = x.map { $0 + T(c) }
        XCTAssertEqual(shifted.doubles, x.doubles.map { $0 + c }, "x + \(c) is not exact; the test is wrong")
        forEachAlgorithmAndLevel { options in
          let context = "C=\(n) shift \(c)"
          guard let (y0, z0, l0) = forward(x, options, context), let (y1, z1, l1) = forward(shifted, options, context)
          else { return }
          let key = "\(typeName(T.self)) \(describe(options))"
          // Each is within the bound of the same exact value, so they are within twice it.
          let w = softmaxErrors(y1, y0.doubles, inputs: x.doubles).raw
          tally.note("softmax(x + c) vs softmax(x), \(key)", w.error, bound: 2 * Bounds.softmax(T.self, columns: n), "\(context): \(w)")
          let wz = scaledAbsoluteError(z1, z0.doubles)
          tally.note("logSoftmax(x + c) vs logSoftmax(x), \(key)", wz.error, bound: 2 * Bounds.logSoftmax(T.self), "\(context): \(wz)")
          let lse = Double(l0) + c
          tally.note(
            "logSumExp(x + c) vs logSumExp(x) + c, \(key)", abs(Double(l1) - lse) / max(1, abs(lse)),
            bound: 2 * Bounds.logSumExp(T.self), "\(context): \(l1) vs \(lse)")
        }
      }
    }
    tally.check()
  }

  // MARK: - Sums, logs, bounds

  func testSoftmaxSumsToOne() {
    forEachScalarType { sumsToOne($0) }
  }

  func sumsToOne<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 22)
    for (k, n) in (Array(1...70) + Self.lengths(30, max: 20_000, seed: 23)).enumerated() {
      let spread = [1.0, 10, 40, 200][k % 4]
      let x: [T] = rng.row(T.self, n, -spread, spread)
      forEachAlgorithmAndLevel { options in
        guard let y = noThrow(describe(options), { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) })
        else { return }
        let e = sumError(y)
        XCTAssertLessThanOrEqual(
          e, Bounds.softmax(T.self, columns: n),
          "|sum - 1| = \(e), \(typeName(T.self)) \(describe(options)) C=\(n) U[-\(spread), \(spread))")
        XCTAssertTrue(y.allSatisfy { $0 >= 0 && $0 <= 1 }, "softmax outside [0, 1], \(describe(options)) C=\(n)")
      }
    }
  }

  /// log-softmax = log(softmax) where softmax is above 1e-30, and log-softmax <= 0.
  func testLogSoftmaxIsLogOfSoftmax() {
    forEachScalarType { logOfSoftmax($0) }
  }

  func logOfSoftmax<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 24)
    for n in Array(1...40) + Self.lengths(20, max: 5000, seed: 25) {
      let x: [T] = rng.row(T.self, n, -20, 20)
      forEachAlgorithmAndLevel { options in
        let context = "\(typeName(T.self)) \(describe(options)) C=\(n)"
        guard let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) }),
          let z = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, options: options) })
        else { return }
        var worst = Worst()
        for i in 0..<n where Double(y[i]) > 1e-30 {
          let logY = log(Double(y[i]))
          worst.update(abs(Double(z[i]) - logY) / max(1, abs(logY)), i, Double(z[i]), logY)
        }
        // Both sides carry their own error: the log-softmax bound plus softmax's relative one.
        let bound = Bounds.logSoftmax(T.self) + Bounds.softmax(T.self, columns: n)
        XCTAssertLessThanOrEqual(worst.error, bound, "log-softmax vs log(softmax), \(context): \(worst)")
        XCTAssertTrue(z.allSatisfy { $0 <= 0 }, "log-softmax above 0, \(context)")
      }
    }
  }

  /// max x <= lse <= max x + log n (up to the lse bound).
  func testLogSumExpBetweenMaxAndMaxPlusLogN() {
    forEachScalarType { lseBounds($0) }
  }

  func lseBounds<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 26)
    for (k, n) in (Array(1...40) + Self.lengths(20, max: 10_000, seed: 27)).enumerated() {
      let center = [0.0, -500, 300, 9_000][k % 4]
      let x: [T] = rng.row(T.self, n, center - 30, center + 30)
      let m = Double(x.max()!)
      forEachAlgorithmAndLevel { options in
        guard let l = noThrow(describe(options), { () throws(SoftmaxKernelsError) in try LogSumExp.forward(x, options: options) })
        else { return }
        let lse = Double(l)
        let slack = Bounds.logSumExp(T.self) * max(1, abs(lse))
        let context = "\(typeName(T.self)) \(describe(options)) C=\(n): lse \(lse), max \(m), log n \(log(Double(n)))"
        XCTAssertGreaterThanOrEqual(lse, m - slack, context)
        XCTAssertLessThanOrEqual(lse, m + log(Double(n)) + slack, context)
      }
    }
  }

  // MARK: - Batches

  /// Random shapes: every row of a batched call is bit-for-bit the single-row result.
  func testBatchedEqualsSingleRows() {
    forEachScalarType { batchedEqualsSingle($0) }
  }

  func batchedEqualsSingle<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 28)
    for _ in 0..<12 {
      let rows = 1 + Int(rng.next() % 9), columns = 1 + Int(rng.next() % 300)
      let x: [T] = rng.row(T.self, rows * columns, -15, 15)
      for algorithm in allAlgorithms {
        let options = SoftmaxOptions(algorithm: algorithm)
        let context = "\(typeName(T.self)) \(describe(options)) \(rows)x\(columns)"
        guard let (y, z, l) = forward(x, columns: columns, options, context) else { continue }
        for r in 0..<rows {
          let row = Array(x[r * columns..<(r + 1) * columns])
          let (ys, zs, ls) = forward(row, options, context) ?? ([], [], .nan)
          XCTAssertNil(firstDifference(Array(y[r * columns..<(r + 1) * columns]), ys), "softmax row \(r), \(context)")
          XCTAssertNil(firstDifference(Array(z[r * columns..<(r + 1) * columns]), zs), "logSoftmax row \(r), \(context)")
          XCTAssertTrue(identical(l[r], ls), "logSumExp row \(r), \(context): \(l[r]) vs \(ls)")
        }
      }
    }
  }

  // MARK: - The automatic rule

  /// The rule of `SoftmaxAlgorithm.resolved(columns:logarithmic:level:streaming:vendor:narrowOutput:)`,
  /// vendor by vendor and level by level (AlgorithmChoice.swift; the measurements are in
  /// <doc:Algorithms>).
  func testAutomaticResolution() {
    func auto(
      _ columns: Int, log: Bool = false, _ level: ISALevel, streaming: Bool = false, _ vendor: CPUVendor = .other,
      narrow: Bool = false
    ) -> SoftmaxAlgorithm {
      SoftmaxAlgorithm.automatic.resolved(
        columns: columns, logarithmic: log, level: level, streaming: streaming, vendor: vendor, narrowOutput: narrow)
    }
    for vendor in [CPUVendor.amd, .other] {
      for streaming in [false, true] {
        for columns in [0, 1, 1 << 18] { XCTAssertEqual(auto(columns, .baseline, streaming: streaming, vendor), .threePassReload) }
        XCTAssertEqual(auto((1 << 18) + 1, .baseline, streaming: streaming, vendor), .online)
        XCTAssertEqual(auto(100, log: true, .baseline, streaming: streaming, vendor), .online)
        for columns in [0, 1, 1 << 18, 1 << 20] {
          XCTAssertEqual(auto(columns, log: true, .x86_64_v3, streaming: streaming, vendor), .threePassRecompute)
        }
      }
      // Outputs that fit the cache: threePassReload; log-sum-exp (never streamed): recompute.
      for columns in [0, 1, 1 << 16, 1 << 18, 1 << 20] {
        for level in [ISALevel.x86_64_v3, .x86_64_v4] {
          XCTAssertEqual(auto(columns, level, vendor), .threePassReload, "\(vendor) \(level)")
          XCTAssertEqual(auto(columns, log: true, level, vendor), .threePassRecompute, "\(vendor) \(level)")
        }
      }
    }
    // Intel and others, streamed outputs.
    for columns in [0, 1, 1 << 18, 1 << 20] {
      XCTAssertEqual(auto(columns, .x86_64_v3, streaming: true), .threePassReload)
      XCTAssertEqual(auto(columns, log: true, .x86_64_v4, streaming: true), .threePassRecompute)
    }
    for columns in [0, 1, 1 << 16, (1 << 16) + 1, 1 << 18, (1 << 18) + 1, 1 << 28] {
      XCTAssertEqual(auto(columns, .x86_64_v4, streaming: true), .threePassRecompute, "\(columns)")
    }
    // AMD, streamed outputs.
    for columns in [0, 1, 1 << 16] { XCTAssertEqual(auto(columns, .x86_64_v4, streaming: true, .amd), .threePassReload) }
    for columns in [(1 << 16) + 1, 1 << 18, 1 << 28] { XCTAssertEqual(auto(columns, .x86_64_v4, streaming: true, .amd), .online) }
    for columns in [0, 1, 1 << 18] { XCTAssertEqual(auto(columns, .x86_64_v3, streaming: true, .amd), .threePassReload) }
    XCTAssertEqual(auto((1 << 18) + 1, .x86_64_v3, streaming: true, .amd), .online)
    XCTAssertEqual(auto(100, log: true, .x86_64_v4, streaming: true, .amd), .online)
    // A 16-bit softmax output at x86-64-v3 / v4 (every vendor): threePassReload (Float scratch
    // row) up to 2^22 entries, streamed or not; beyond it, for the logarithmic operations and at
    // the baseline level the rules above.
    for level in ISALevel.allCases {
      for streaming in [false, true] {
        for vendor in [CPUVendor.amd, .other] {
          for columns in [0, 1, 1 << 16, (1 << 16) + 1, 1 << 18, (1 << 18) + 1, 1 << 22, (1 << 22) + 1, 1 << 28] {
            let expected = level != .baseline && columns <= 1 << 22
              ? .threePassReload : auto(columns, level, streaming: streaming, vendor)
            XCTAssertEqual(auto(columns, level, streaming: streaming, vendor, narrow: true), expected, "\(vendor) \(level) \(columns)")
            XCTAssertEqual(
              auto(columns, log: true, level, streaming: streaming, vendor, narrow: true),
              auto(columns, log: true, level, streaming: streaming, vendor), "\(vendor) \(level) \(columns)")
          }
        }
      }
    }
    XCTAssertEqual(auto(1 << 20, .x86_64_v4, streaming: true, .amd, narrow: true), .threePassReload)
    XCTAssertEqual(auto(1 << 20, .x86_64_v4, streaming: true, .amd), .online)
    XCTAssertEqual(auto(1 << 20, .x86_64_v4, streaming: true, narrow: true), .threePassReload)
    XCTAssertEqual(auto((1 << 22) + 1, .x86_64_v4, streaming: true, narrow: true), .threePassRecompute)
    for algorithm in allAlgorithms where algorithm != .automatic {
      for columns in [0, 1, 1 << 18, 1 << 20] {
        for level in ISALevel.allCases {
          for vendor in [CPUVendor.amd, .other] {
            XCTAssertEqual(algorithm.resolved(columns: columns, level: level, streaming: true, vendor: vendor), algorithm)
          }
        }
      }
    }
    // `.automatic` computes what the algorithm it resolves to computes, bit for bit.
    var rng = SeededRandom(seed: 29)
    let x: [Float] = rng.row(Float.self, 1000, -10, 10)
    let auto = noThrow("") { () throws(SoftmaxKernelsError) in try Softmax.forward(x) }
    let reload = noThrow("") { () throws(SoftmaxKernelsError) in
      try Softmax.forward(x, options: SoftmaxOptions(algorithm: .threePassReload))
    }
    XCTAssertNil(firstDifference(auto ?? [], reload ?? [1]), "automatic vs threePassReload at C = 1000")
    // And for a 16-bit output of a row longer than 2^18 entries, where the rule for 16-bit
    // outputs differs from Float's: the algorithm it resolves to on this machine.
    let long: [BFloat16] = rng.row(Float.self, (1 << 18) + 3, -20, 20).map { BFloat16($0) }
    let resolvedLong = SoftmaxAlgorithm.automatic.resolved(columns: long.count, narrowOutput: true)
    let autoLong = noThrow("") { () throws(SoftmaxKernelsError) in try Softmax.forward(long) }
    let sameLong = noThrow("") { () throws(SoftmaxKernelsError) in
      try Softmax.forward(long, options: SoftmaxOptions(algorithm: resolvedLong))
    }
    XCTAssertNotNil(autoLong)
    XCTAssertEqual(autoLong ?? [], sameLong ?? [], "automatic vs \(resolvedLong), BFloat16, C = 2^18 + 3")
  }
}
