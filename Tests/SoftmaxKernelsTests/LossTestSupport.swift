// Shared machinery of the loss property tests (LossShiftInvarianceTests, LossDominantEntryTests,
// LossDegenerateShapeTests): calls through the public API with arrays, the documented bounds,
// and a tally of the worst errors that the tests print and assert.

import Foundation
import SoftmaxKernels
import XCTest

/// The loss bounds the doc comments state (CrossEntropy.swift, StableMaxCrossEntropy.swift,
/// SphericalZLoss.swift, README "Loss accuracy"); every one is a measured maximum (printed by the
/// tests) with headroom.
enum LossBounds {
  /// Cross-entropy loss (reduced and per row): `|l - ref| <= bound * max(1, |ref|)`.
  static func crossEntropyLoss<T>(_ t: T.Type) -> Double { Bounds.isFloat(t) ? 2e-6 : 1e-14 }
  /// Gradients of every loss: `|g - ref| <= atol + rtol |ref|`.
  static func gradient<T>(_ t: T.Type) -> (atol: Double, rtol: Double) {
    Bounds.isFloat(t) ? (1e-7, 1e-5) : (1e-16, 1e-13)
  }
  /// Cross-entropy gradients: `|g - ref| <= atol G + rtol |ref|`, `G` the row's gradient scale
  /// (`CrossEntropyWideReference.gradientScale`): the absolute part is a few ulps of the largest
  /// term (before 2026-12-01 it was `1e-7` / `1e-16` absolute, which an outside review broke
  /// where the exact gradient cancels, up to 2.4x at unit weights, and with class weights 100).
  /// With soft-capping at `c`, plus `2 c u G` (`u` = 2^-24 / 2^-53): the capped logits are
  /// rounded to the row's type (up to `u c` each), which moves every `p_i` by up to
  /// `2 u c p_i` (a second review broke the bound without it: 4.1x in Double at `c = 30`).
  static func crossEntropyGradient<T>(_ t: T.Type, scale g: Double, cap: Double? = nil) -> (atol: Double, rtol: Double) {
    let u = Bounds.isFloat(t) ? 0x1p-24 : 0x1p-53
    let capTerm = 2 * (cap ?? 0) * u
    return Bounds.isFloat(t) ? ((4e-7 + capTerm) * g, 1e-5) : ((4e-16 + capTerm) * g, 1e-13)
  }
  /// StableMax cross-entropy and spherical Z-loss loss: `|l - ref| <= bound * max(1, |ref|)`.
  static func targetLoss<T>(_ t: T.Type) -> Double { Bounds.isFloat(t) ? 2e-6 : 1e-14 }
  /// Relative error of a cross-entropy row loss whose target is the dominant entry (the loss is
  /// `log1p(rest)`, tiny; "Softmax Collapse").
  static func dominantLossRelative<T>(_ t: T.Type) -> Double { Bounds.isFloat(t) ? 1e-5 : 1e-13 }
}

/// The worst errors seen, in units of their bounds, with where they happened.
struct LossTally: CustomStringConvertible {
  var loss = 0.0, lossAt = ""
  var gradient = 0.0, gradientAt = ""
  /// `max |g - ref| / |ref|` over entries with `|ref| >= floor` (informative, not a bound).
  var gradientRelative = 0.0

  mutating func loss(_ value: Double, _ ref: Double, bound: Double, _ at: @autoclosure () -> String) {
    let e = absoluteError(value, ref) / max(1, abs(ref))
    if e / bound > loss { (loss, lossAt) = (e / bound, at()) }
  }

  mutating func gradient(
    _ g: [Double], _ ref: [Double], bound: (atol: Double, rtol: Double), floor: Double,
    _ at: @autoclosure () -> String
  ) {
    var worst = 0.0
    for i in g.indices {
      let e = absoluteError(g[i], ref[i])
      worst = max(worst, e / (bound.atol + bound.rtol * abs(ref[i])))
      if abs(ref[i]) >= floor { gradientRelative = max(gradientRelative, e / abs(ref[i])) }
    }
    if worst > gradient { (gradient, gradientAt) = (worst, at()) }
  }

  var description: String {
    String(format: "loss %.3g of bound (%@); gradient %.3g of bound (%@), max rel. %.3g",
           loss, lossAt, gradient, gradientAt, gradientRelative)
  }
}

/// The outputs of one fused cross-entropy call.
struct CrossEntropyOutput<T: KernelScalar> {
  var loss: T
  var rowLosses: [T]
  var gradient: [T]
  var rowLogSumExp: [T]

  /// Bitwise equality of the per-row outputs (row losses, gradient, log-sum-exp). The reduced
  /// loss is not compared: threads sum their rows' partials apart and then merge them
  /// (Execution.swift `mapRows`), a different association than one thread's.
  func rowsIdentical(to o: Self) -> Bool {
    func bytes(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
    return bytes(rowLosses) == bytes(o.rowLosses) && bytes(gradient) == bytes(o.gradient)
      && bytes(rowLogSumExp) == bytes(o.rowLogSumExp)
  }
}

/// `CrossEntropy.lossAndGradient` with every per-row output, integer or probability targets.
func runCrossEntropy<T: KernelScalar>(
  _ x: [T], rows: Int, columns: Int, targets: [Int]?, probabilities: [T]?, weights: [T]?,
  options: CrossEntropyOptions
) throws -> CrossEntropyOutput<T> {
  var out = CrossEntropyOutput<T>(
    loss: .nan, rowLosses: [T](repeating: .nan, count: rows),
    gradient: [T](repeating: .nan, count: x.count), rowLogSumExp: [T](repeating: .nan, count: rows))
  let w = weights ?? []
  out.loss = try x.withUnsafeBufferPointer { xb in
    try w.withUnsafeBufferPointer { wb in
      try out.rowLosses.withUnsafeMutableBufferPointer { lb in
        try out.gradient.withUnsafeMutableBufferPointer { gb in
          try out.rowLogSumExp.withUnsafeMutableBufferPointer { sb in
            let logits = Rows(xb, rows: rows, columns: columns)
            let gradient = MutableRows(gb, rows: rows, columns: columns)
            if let targets {
              return try targets.withUnsafeBufferPointer { tb in
                try CrossEntropy.lossAndGradient(
                  logits: logits, targets: tb, classWeights: weights == nil ? nil : wb, gradient: gradient,
                  rowLosses: lb, rowLogSumExp: sb, options: options)
              }.loss
            }
            return try probabilities!.withUnsafeBufferPointer { pb in
              try CrossEntropy.lossAndGradient(
                logits: logits, probabilities: Rows(pb, rows: rows, columns: columns),
                classWeights: weights == nil ? nil : wb, gradient: gradient, rowLosses: lb, rowLogSumExp: sb,
                options: options)
            }.loss
          }
        }
      }
    }
  }
  return out
}

/// `L.lossAndGradient` (the strided form) with its row losses, on NaN-filled outputs: `options`
/// with `reduction` (`.sum` by default) and `execution`.
func runClassIndexLoss<L: ClassIndexLoss, T: KernelScalar>(
  _: L.Type, _ x: [T], rows: Int, columns: Int, targets: [Int], reduction: LossReduction = .sum,
  lossGradient: T = 1, execution: ExecutionOptions, _ options: L.Options = L.Options()
) throws -> (loss: T, rowLosses: [T], gradient: [T]) {
  var (options, g, l) = (options, [T](repeating: .nan, count: x.count), [T](repeating: .nan, count: rows))
  (options.reduction, options.execution) = (reduction, execution)
  let value = try x.withUnsafeBufferPointer { xb in
    try targets.withUnsafeBufferPointer { tb in
      try g.withUnsafeMutableBufferPointer { gb in
        try l.withUnsafeMutableBufferPointer { lb in
          try L.lossAndGradient(
            logits: Rows(xb, rows: rows, columns: columns), targets: tb, lossGradient: lossGradient,
            gradient: MutableRows(gb, rows: rows, columns: columns), rowLosses: lb, options: options).loss
        }
      }
    }
  }
  return (value, l, g)
}

/// Rows of multiples of `grid` in `[-8, 8)` shifted by `offset`, checked to be exact in `T` (so
/// the shifted rows are the same rows, and only the kernels' arithmetic can differ).
func exactlyShiftedRows<T: KernelScalar>(
  _: T.Type, _ base: [Double], offset: Double, file: StaticString = #filePath, line: UInt = #line
) -> [T] {
  let shifted = base.map { T(offset + $0) }
  for (b, s) in zip(base, shifted) where Wide(Double(s)) != Wide(offset) + Wide(b) {
    XCTFail("\(b) + \(offset) is not exact in \(T.self)", file: file, line: line)
    break
  }
  return shifted
}

/// `count` multiples of `grid` uniform in `[-8, 8)`.
func gridRow(_ rng: inout SeededRandom, _ count: Int, grid: Double) -> [Double] {
  let steps = UInt64(16 / grid)
  return (0..<count).map { _ in -8 + Double(rng.next() % steps) * grid }
}
