// Properties of the softmax family on the rows where accuracy was lost before (issue
// "accuracy defects found from outside the suite"): all-equal rows, rows with one dominant
// entry ("Softmax Collapse": log-probabilities near 0 must keep relative accuracy) and large
// shifts, for every algorithm, every ISA level this CPU runs, Float and Double, on lengths
// around the vector width, the accumulation windows and the thread split.
//
// The reference is evaluated in `Wide` (Float80 on x86-64, where it has 11 more bits than
// Double; Double elsewhere) as `z_i = (x_i - m) - log1p(R)`, `R = sum_{i != k} e^(x_i - m)` over
// all entries but one maximal entry `k`: it never forms `1 + R` before the logarithm, so it
// does not cancel where the kernels must not.

import Foundation
import SoftmaxKernels
import XCTest

/// The exact results of a regular (finite, non-empty) row, in `Wide` (Float80 on x86-64, else
/// Double), from the losses' `WideRow` (LossReference.swift).
struct WideReference {
  /// The row in `Wide`: its maximum and `log1p(rest)`.
  let row: WideRow
  let logSoftmax: [Wide]
  let softmax: [Wide]
  var logSumExp: Wide { row.lse }

  /// The largest rounding error of the shift `x_i - m` evaluated in the row's type: what any
  /// kernel computing `exp(x_i - m)` in that type incurs (0 when every shift is exact, as in
  /// all-equal, shifted and equal-rest rows). It is a relative error of `exp`, and so of every
  /// output; the bounds apply on top of it.
  let shiftRounding: Double
  /// The row's maximum (log-sum-exp errors are scaled by `max(|lse|, |m|)`: `m + log S` cancels
  /// when they are close in size and of opposite sign).
  let max: Double

  init<T: BinaryFloatingPoint>(_ x: [T]) {
    let row = WideRow(x.map { Double($0) })
    self.row = row
    let top = x.max()!
    max = Double(top)
    shiftRounding = x.map { v -> Double in
      let rounded = v - top
      return rounded.isFinite ? Double(abs(Wide(Double(rounded)) - (Wide(Double(v)) - row.m))) : 0
    }.max()!
    logSoftmax = row.x.map { ($0 - row.m) - row.logSum }
    softmax = row.x.map { exp($0 - row.m) / (1 + row.rest) }
  }
}

/// Bounds these properties enforce (measured maxima in the comments, 2026-11-29, Intel Xeon
/// Sapphire Rapids, baseline / x86-64-v3 / x86-64-v4). They are the documented bounds of
/// `SoftmaxAlgorithm` and the README's accuracy table.
enum PropertyBounds {
  /// Softmax relative error on top of the shift rounding. Measured maxima: Float 1.29e-6
  /// (online, margin 16.7: the lane holding the maximum absorbs roundings), Double 2.9e-15
  /// (two-pass, all-equal row of 65 537). The worst case is a lane term near the maximum that
  /// absorbs up to 15 later terms of just under half its ulp (16-term lane runs).
  static func softmax<T>(_: T.Type) -> Double { T.self == Float.self ? 2e-6 : 5e-15 }
  /// `|sum_i y_i - 1|` on top of the shift rounding; same maxima as `softmax`.
  static func softmaxSum<T>(_: T.Type) -> Double { T.self == Float.self ? 2e-6 : 5e-15 }
  /// Log-softmax *relative* error (`|z - ref| / |ref|`; exact where ref = 0) on top of the shift
  /// rounding. Measured: Float 1.27e-6 (two tied maxima, each lane absorbing 15 terms just under
  /// half an ulp of 1: the outside review's row, `testAbsorbingLanes`), Double 3.1e-15 (300 001
  /// entries, threaded).
  static func logSoftmaxRelative<T>(_: T.Type) -> Double { T.self == Float.self ? 2e-6 : 5e-15 }
  /// Log-sum-exp error in units of `max(|lse|, |max x|)` (relative when the maximum is 0).
  /// Measured: Float 1.27e-6 (same row), Double 2.4e-15.
  static func logSumExp<T>(_: T.Type) -> Double { T.self == Float.self ? 2e-6 : 5e-15 }
  /// Softmax relative error and `|sum - 1|` on all-equal rows, where every output is exactly
  /// `1/n` and nothing absorbs: only the sum's rounding in equal steps (which do not cancel) and
  /// two roundings. Measured: Float 2.4e-7 (two-pass; it was 1.43e-6 with 128-term lane runs,
  /// entries 3.25), Double 7.2e-16 (2.9e-15 at 65 537 entries, outside review).
  static func allEqual<T>(_: T.Type) -> Double { T.self == Float.self ? 4e-7 : 4e-15 }
  /// Outputs below this are allowed to flush to 0 (Float `exp` flushes below 2^-126).
  static func floor<T>(_: T.Type) -> Double { T.self == Float.self ? 1e-30 : 1e-290 }
}

final class SoftmaxFamilyPropertyTests: SoftmaxKernelsTestCase {
  static func relative(_ v: Double, _ r: Wide, floor: Double) -> Double {
    if v.isNaN || r.isNaN { return v.isNaN && r.isNaN ? 0 : .infinity }
    if Wide(v) == r { return 0 }  // also the -inf of a -inf entry
    if v.isInfinite || r.isInfinite { return .infinity }
    if r == 0 { return v == 0 ? 0 : .infinity }
    if abs(Double(r)) <= floor { return abs(v) <= floor ? 0 : .infinity }
    return Double(abs((Wide(v) - r) / r))
  }

  /// Runs softmax, log-softmax and log-sum-exp on `x` with `options` and notes every error.
  func measure<T: KernelScalar>(
    _ x: [T], _ reference: WideReference, _ options: SoftmaxOptions, _ label: String,
    _ tally: inout BoundTally
  ) {
    let key = "\(typeName(T.self)) \(options.algorithm) \(options.execution.isa.map { "\($0)" } ?? "-")"
    let floor = PropertyBounds.floor(T.self)
    do {
      let y = try Softmax.forward(x, options: options)
      var worst = 0.0, at = 0
      for i in y.indices {
        let e = Self.relative(Double(y[i]), reference.softmax[i], floor: floor) - reference.shiftRounding
        if e > worst || e.isNaN { (worst, at) = (e, i) }
      }
      let softmaxBound = label == "all-equal" ? PropertyBounds.allEqual(T.self) : PropertyBounds.softmax(T.self)
      tally.note("softmax \(label) \(key)", worst, bound: softmaxBound,
        "C=\(x.count) at \(at): \(y[at]) vs \(reference.softmax[at])")
      tally.note("softmax sum \(label) \(key)", sumError(y) - reference.shiftRounding, bound: label == "all-equal" ? PropertyBounds.allEqual(T.self) : PropertyBounds.softmaxSum(T.self),
        "C=\(x.count)")
      let z = try LogSoftmax.forward(x, options: options)
      worst = 0; at = 0
      for i in z.indices {
        let e = Self.relative(Double(z[i]), reference.logSoftmax[i], floor: floor) - reference.shiftRounding
        if e > worst || e.isNaN { (worst, at) = (e, i) }
      }
      tally.note("logSoftmax \(label) \(key)", worst, bound: PropertyBounds.logSoftmaxRelative(T.self),
        "C=\(x.count) at \(at): \(z[at]) vs \(reference.logSoftmax[at])")
      let l = try LogSumExp.forward(x, options: options)
      let scale = Swift.max(abs(reference.logSumExp), Wide(abs(reference.max)))
      let lseError = l.isNaN ? Double.infinity
        : scale == 0 ? (l == 0 ? 0 : .infinity) : Double(abs(Wide(Double(l)) - reference.logSumExp) / scale)
      tally.note("logSumExp \(label) \(key)", lseError - reference.shiftRounding,
        bound: PropertyBounds.logSumExp(T.self), "C=\(x.count): \(l) vs \(reference.logSumExp)")
    } catch {
      XCTFail("\(label) \(key): \(error)")
    }
  }

  /// `measure` of `x` against its reference with every algorithm at every level, and every
  /// thread count of `threads`.
  func measureAll<T: KernelScalar>(
    _ x: [T], _ label: String, threads: [Int?] = [nil], _ tally: inout BoundTally
  ) {
    let reference = WideReference(x)
    forEachAlgorithmAndLevel { options in
      for t in threads {
        var options = options
        options.execution.threads = t
        measure(x, reference, options, label, &tally)
      }
    }
  }

  /// Lengths around the vector widths (16 floats, 8 doubles), the exponential-sum windows
  /// (1024 floats / 512 doubles), the two-pass windows (1024 floats), the online blocks (256)
  /// and windows (4096), and odd tails.
  static let lengths = [1, 2, 7, 8, 15, 16, 17, 255, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 4097, 8193]

  // MARK: - All-equal rows

  /// Every entry equal: softmax is exactly `1/n`, log-softmax `-log n`, log-sum-exp `v + log n`.
  /// The two-pass sum of such a row was 24 ulp off (value 3.25: every output `(1 + 1.43e-6)/n`).
  func testAllEqualRows() {
    forEachScalarType { allEqualRows($0) }
  }

  func allEqualRows<T: KernelScalar>(_: T.Type) {
    var tally = BoundTally()
    for value in [3.25, -7.0, 1.0, 0.0, 0.1, 87.5, -1000.25, 1e4 + 0.5] {
      for n in Self.lengths {
        measureAll([T](repeating: T(value), count: n), "all-equal", &tally)
      }
    }
    tally.check(printing: true)
  }

  // MARK: - Dominant entries

  /// One entry `margin` above all others (equal, or spread over [-1, 0) below `max - margin`):
  /// log-softmax of the dominant entry is `-log1p(R)`, `R ~ (n - 1) e^-margin`, and must keep
  /// its relative accuracy (it was exactly 0 in Float, and 3.7e-5 off in Double, at margin 30).
  func testDominantEntryRows() {
    dominantEntryRows(Float.self, margins: [10, 16.7, 20, 30, 50, 80])
    dominantEntryRows(Double.self, margins: [10, 20, 30, 36.7, 80, 300, 700])
  }

  func dominantEntryRows<T: KernelScalar>(_: T.Type, margins: [Double]) {
    var tally = BoundTally()
    var rng = SeededRandom(seed: 8)
    for margin in margins {
      for n in [2, 17, 1025, 4097] {
        for position in Set([0, n / 2, n - 1]).sorted() {  // sorted: a Set's order (and so the inputs) would vary by run
          for spread in [false, true] {
            var x = [T](repeating: 0, count: n)
            if spread { for i in 0..<n { x[i] = T(rng.uniform(-1, 0)) } }
            x[position] = T(margin)
            measureAll(x, "dominant", &tally)
          }
        }
      }
    }
    tally.check(printing: true)
  }

  /// The same on rows long enough to be split over threads (every split path: chunks merged
  /// as sums, online states and two-pass states), the dominant entry in different chunks.
  /// Margins near 15-16 (one entry e^15 above 65 535 others, `R ~ 0.014`): the sum of the other
  /// terms is not negligible, and a sum that adds each window's part to the total without
  /// compensation loses half an ulp per window: the two-pass Double sum was 1.5e-14 off
  /// (`[0, -15.35 x 65535]`, an outside review, 2026-12-01).
  func testDominantEntryThreadedRows() {
    dominantEntryThreaded(Float.self, margin: 30, n: 300_001)
    dominantEntryThreaded(Float.self, margin: 16.7, n: 65_536)
    dominantEntryThreaded(Double.self, margin: 300, n: 300_001)
    for margin in [15.35, 16.272] {
      dominantEntryThreaded(Double.self, margin: margin, n: 65_536)
      dominantEntryThreaded(Double.self, margin: margin, n: 300_001)
    }
  }

  func dominantEntryThreaded<T: KernelScalar>(_: T.Type, margin: Double, n: Int) {
    var tally = BoundTally()
    for position in [0, n / 2, n - 1] {
      var x = [T](repeating: T(-margin), count: n)
      x[position] = 0
      measureAll(x, "dominant threaded, margin \(margin), n = \(n)", threads: [1, 2, 3], &tally)
    }
    tally.check(printing: true)
  }

  // MARK: - Rows from the outside review

  /// Rows built to make a lane absorb: a large term followed in the same lane (every 64th or
  /// 256th entry: the lanes of the three-pass / two-pass and of the online passes) by 15 terms
  /// just under half its ulp; two tied maxima with the same; a two-entry row; and a two-pass row
  /// whose first entry is far from the others (x - x_0 rounded before it fell back).
  func testAbsorbingLanes() {
    var tally = BoundTally()
    let ln2 = 0.6931471805599453
    let big = Float(-20 * ln2).nextUp
    let small = Float(log(0.99 * exp(Double(big)) * 0x1p-24))
    let tie = Float(log(0.49 * 0x1p-24))
    var rows: [[Float]] = []
    for stride in [16, 64, 256] {
      var x = [Float](repeating: -.infinity, count: 4096)
      x[0] = 0
      x[1] = big
      for k in 1...15 { x[1 + stride * k] = small }
      rows.append(x)
      var t = [Float](repeating: -200, count: 4096)
      t[0] = 0
      t[1] = 0
      for k in 1...15 { t[stride * k] = tie; t[1 + stride * k] = tie }
      rows.append(t)
    }
    rows.append([0, -13.552525])
    rows.append([0, -7.2406044])
    // The online normaliser's lane holding the maximum (an outside review, 2026-12-01): terms
    // just under half its ulp in its block (indices 1-16), in the next blocks of its window
    // (every 32nd) and in the lanes the window's fold adds after it (every 256th): 38 roundings
    // in one direction, 2.27e-6 off while the fold summed the lanes in Float.
    let a = Float(bitPattern: 0xC185_1593), b = Float(bitPattern: 0xC17F_1404)
    var online = [Float](repeating: -60, count: 4096)
    online[0] = 0
    for k in Array(1...16) + Array(stride(from: 32, through: 224, by: 32)) + Array(stride(from: 256, through: 3840, by: 256)) {
      online[k] = a
    }
    rows.append(online)
    // The same with two maxima (sum near 2: log-sum-exp through log, not log1p).
    online = [Float](repeating: -60, count: 4096)
    online[0] = 0
    online[16] = 0
    for k in stride(from: 32, through: 240, by: 16) { online[k] = a }
    for k in Array(1...15) + Array(stride(from: 256, through: 3840, by: 256)) { online[k] = b }
    rows.append(online)
    rows.append([-300.0, 7.290552616119385, 6.505213260650635, -3.6360557079315186, -3.737928628921509,
      -5.785261154174805, -1.5538331270217896, -2.8470609188079834, 7.70114278793335,
      3.3538331985473633, -1.2712898254394531, 0.9463075399398804, -4.896880626678467,
      2.1681299209594727, -4.370480060577393, -6.988293170928955, 6.278541564941406])
    var rng = SeededRandom(seed: 5)
    for first in [-260.0, 300, 1000] {
      rows.append([Float(first)] + (0..<1024).map { _ in Float(rng.uniform(-8, 8)) })
    }
    for x in rows { measureAll(x, "review", &tally) }
    var doubles: [[Double]] = []
    let d = log(0.99 * 0x1p-53)
    for stride in [8, 32, 128] {
      var t = [Double](repeating: -800, count: 2048)
      t[0] = 0
      t[1] = 0
      for k in 1...15 { t[stride * k] = d; t[1 + stride * k] = d }
      doubles.append(t)
    }
    doubles.append([-50010] + (0..<1024).map { _ in rng.uniform(-8, 8) })
    for x in doubles { measureAll(x, "review", &tally) }
    tally.check(printing: true)
  }

  // MARK: - Large shifts

  /// `x + c` for offsets far from 0 gives the same probabilities and log-probabilities (the
  /// shift by the maximum is exact for close values) and `lse(x) + c`. Inputs are multiples of
  /// 1/16 in [-8, 8), so `x + c` is exact in Float up to |c| = 2^20 and in Double up to 2^48.
  func testLargeShifts() {
    largeShifts(Float.self, offsets: [1e4, -1e4, 1e6, -1e6])
    largeShifts(Double.self, offsets: [1e4, -1e6, 1e12, -1e12])
  }

  func largeShifts<T: KernelScalar>(_: T.Type, offsets: [Double]) {
    var tally = BoundTally()
    var rng = SeededRandom(seed: 31)
    for n in [17, 1025, 4097] {
      let base = (0..<n).map { _ in (rng.uniform(-8, 8) * 16).rounded(.down) / 16 }
      for c in offsets {
        let x = base.map { T($0 + c) }
        XCTAssertEqual(x.map { Double($0) }, base.map { $0 + c }, "x + \(c) is not exact; the test is wrong")
        measureAll(x, "shift \(c)", &tally)
      }
    }
    tally.check(printing: true)
  }
}
