// A float64 reference for the softmax family (plain loops in Double, PyTorch's special-value
// semantics of ../shared/SPEC.md §2.7), the gradients of §2.6, and the error measures and
// bounds (§7.4) the other test files use.

import Foundation
import SoftmaxKernels

// MARK: - Reference

/// The float64 reference. Inputs are given as Double (the exact values of the Float or Double
/// inputs the library sees).
enum Reference {
  /// What a row holds, as far as the special-value rules care.
  struct Scan {
    var hasNaN = false
    var positiveInfinities = 0
    var positiveInfinityIndex = -1
    var allNegativeInfinity = true
    var count = 0

    init(_ x: [Double]) {
      count = x.count
      for (i, v) in x.enumerated() {
        if v.isNaN { hasNaN = true }
        if v == .infinity {
          positiveInfinities += 1
          positiveInfinityIndex = i
        }
        if v != -.infinity { allNegativeInfinity = false }
      }
    }

    /// Rows the finite formulas handle (no NaN, no +inf, not all -inf, not empty).
    var isRegular: Bool { !hasNaN && positiveInfinities == 0 && !allNegativeInfinity && count > 0 }
  }

  /// Neumaier's compensated sum: the reference's own rounding error stays near 1 ulp, far
  /// below the Double kernels' errors it is used to measure.
  static func sum(_ values: [Double]) -> Double {
    values.withUnsafeBufferPointer { p in
      var s = 0.0, c = 0.0
      for i in 0..<p.count {
        let v = p[i]
        let t = s + v
        c += Swift.abs(s) >= Swift.abs(v) ? (s - t) + v : (v - t) + s
        s = t
      }
      return s + c
    }
  }

  /// `x - m` as an unevaluated sum `s + e` (Knuth's TwoSum): the reference must not share the
  /// kernels' rounding of the shift, or it would hide it (Double) or blame it on them (Float).
  static func shifted(_ x: Double, _ m: Double) -> (s: Double, e: Double) {
    let s = x - m
    guard s.isFinite else { return (s, 0) }
    let bb = s - x
    return (s, (x - (s - bb)) + (-m - bb))
  }

  /// `exp(x - m)` with the shift evaluated exactly.
  static func expShifted(_ x: Double, _ m: Double) -> Double {
    let (s, e) = shifted(x, m)
    return exp(s) * (1 + e)
  }

  /// `(m, log S)` of a regular row: `m = max x`, `S = sum exp(x - m)`.
  static func shiftAndLogSum(_ x: [Double]) -> (max: Double, logSum: Double) {
    let m = x.max()!
    return (m, log(sum(x.map { expShifted($0, m) })))
  }

  /// `log sum exp x` with PyTorch's rules: empty or all `-inf` gives `-inf`, NaN gives NaN,
  /// any `+inf` gives `+inf`.
  static func logSumExp(_ x: [Double]) -> Double {
    let s = Scan(x)
    if s.hasNaN { return .nan }
    if s.positiveInfinities > 0 { return .infinity }
    if s.allNegativeInfinity { return -.infinity }  // includes C = 0
    let (m, l) = shiftAndLogSum(x)
    return m + l
  }

  /// The result of a special (non-regular) row, or nil for a regular one. `zero` and `one` are
  /// the values of a masked entry and of the one-hot entry (0 and 1 for softmax, -inf and 0 for
  /// log-softmax).
  private static func specialRow(
    _ x: [Double], zero: Double, one: Double, fullyMaskedRowIsZero: Bool,
    positiveInfinityIsLimit: Bool
  ) -> [Double]? {
    let s = Scan(x)
    if s.count == 0 { return [] }
    if s.isRegular { return nil }
    if s.hasNaN { return Array(repeating: .nan, count: x.count) }
    if s.positiveInfinities > 0 {
      guard s.positiveInfinities == 1, positiveInfinityIsLimit else {
        return Array(repeating: .nan, count: x.count)
      }
      var y = Array(repeating: zero, count: x.count)
      y[s.positiveInfinityIndex] = one
      return y
    }
    // All -inf.
    return Array(repeating: fullyMaskedRowIsZero ? zero : .nan, count: x.count)
  }

  static func softmax(
    _ x: [Double], fullyMaskedRowIsZero: Bool = false, positiveInfinityIsLimit: Bool = false
  ) -> [Double] {
    if let y = specialRow(
      x, zero: 0, one: 1, fullyMaskedRowIsZero: fullyMaskedRowIsZero,
      positiveInfinityIsLimit: positiveInfinityIsLimit)
    {
      return y
    }
    let m = x.max()!
    let e = x.map { expShifted($0, m) }
    let s = sum(e)
    return e.map { $0 / s }
  }

  static func logSoftmax(
    _ x: [Double], fullyMaskedRowIsZero: Bool = false, positiveInfinityIsLimit: Bool = false
  ) -> [Double] {
    if let y = specialRow(
      x, zero: -.infinity, one: 0, fullyMaskedRowIsZero: fullyMaskedRowIsZero,
      positiveInfinityIsLimit: positiveInfinityIsLimit)
    {
      return y
    }
    let (m, l) = shiftAndLogSum(x)
    return x.map {
      let (s, e) = shifted($0, m)
      return (s - l) + e
    }
  }

  /// Softmax VJP: `dx_i = y_i (g_i - sum_j g_j y_j)`.
  static func softmaxBackward(output y: [Double], gradient g: [Double]) -> [Double] {
    let dot = sum(zip(g, y).map { $0 * $1 })
    return zip(y, g).map { $0 * ($1 - dot) }
  }

  /// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum_j g_j`; 0 for an all `-inf` row when
  /// `fullyMaskedRowIsZero`.
  static func logSoftmaxBackward(
    output z: [Double], gradient g: [Double], fullyMaskedRowIsZero: Bool = false
  ) -> [Double] {
    if fullyMaskedRowIsZero && !z.isEmpty && z.allSatisfy({ $0 == -.infinity }) {
      return Array(repeating: 0, count: z.count)
    }
    let s = sum(g)
    return zip(z, g).map { $1 - exp($0) * s }
  }
}

// MARK: - Error measures of the softmax family

/// Mismatch in kind (NaN where finite is expected, a different infinity, ...) counts as
/// an infinite error.
private func kindError(_ v: Double, _ r: Double) -> Double? {
  if v.isNaN || r.isNaN { return v.isNaN && r.isNaN ? 0 : .infinity }
  if v.isInfinite || r.isInfinite { return v == r ? 0 : .infinity }
  return nil
}

/// Half an ulp of `x - m` in `T`: the rounding of the shift that every kernel computing
/// `exp(x_i - m)` in the row's own type incurs (PyTorch's, XNNPACK's), and hence the relative
/// error of `exp` it causes. For Float rows with `|x_i - m|` in [32, 64) it alone is 1.9e-6, so
/// the §7.4 bound (measured on U(±10) rows, where it is below 5e-7) is applied on top of it.
func shiftRounding<T: BinaryFloatingPoint>(_: T.Type, _ x: Double, _ m: Double) -> Double {
  let d = x - m
  return d.isFinite ? Double(T(d).ulp) / 2 : 0
}

/// Softmax errors over elements with `ref > floor` (1e-30 in ../shared/SPEC.md §7.4):
/// `raw` is the relative error `|y - ref| / ref`; `excess` is the same minus the element's
/// `shiftRounding` (what a bound applies to). Elements at or below the floor must be within
/// `floor` absolutely (flushing to zero is allowed, garbage is not).
func softmaxErrors<T: BinaryFloatingPoint>(
  _ y: [T], _ ref: [Double], inputs x: [Double], floor: Double = 1e-30
) -> (raw: Worst, excess: Worst) {
  var raw = Worst(), excess = Worst()
  let m = x.filter { $0.isFinite }.max() ?? 0
  for i in ref.indices {
    let v = Double(y[i]), r = ref[i]
    if let k = kindError(v, r) {
      raw.update(k, i, v, r)
      excess.update(k, i, v, r)
    } else if r > floor {
      let e = abs(v - r) / r
      raw.update(e, i, v, r)
      excess.update(Swift.max(0, e - shiftRounding(T.self, x[i], m)), i, v, r)
    } else {
      let e = abs(v - r) <= floor ? 0 : Double.infinity
      raw.update(e, i, v, r)
      excess.update(e, i, v, r)
    }
  }
  return (raw, excess)
}

/// `|z - ref| / max(1, |ref|)`: the scaled absolute error used for log-softmax and
/// log-sum-exp.
func scaledAbsoluteError<T: BinaryFloatingPoint>(_ z: [T], _ ref: [Double]) -> Worst {
  var w = Worst()
  for i in ref.indices {
    let v = Double(z[i]), r = ref[i]
    w.update(kindError(v, r) ?? abs(v - r) / Swift.max(1, abs(r)), i, v, r)
  }
  return w
}

/// `|sum y - 1|`, summed in Double.
func sumError<T: BinaryFloatingPoint>(_ y: [T]) -> Double {
  let s = Reference.sum(y.doubles)
  return s.isFinite ? abs(s - 1) : .infinity
}

// MARK: - Bounds (../shared/SPEC.md §7.4; the Double bounds are set from measurements)

enum Bounds {
  static func isFloat<T>(_: T.Type) -> Bool { T.self == Float.self }

  /// Softmax relative error (elements above 1e-30) and `|sum - 1|`.
  static func softmax<T>(_ t: T.Type, columns: Int) -> Double {
    if isFloat(t) { return columns <= 10_000 ? 2e-6 : columns <= 100_000 ? 1e-5 : 4e-5 }
    return columns <= 10_000 ? 1e-14 : columns <= 100_000 ? 2e-14 : 5e-14
  }

  /// Log-softmax error, in units of `max(1, |ref|)`.
  static func logSoftmax<T>(_ t: T.Type) -> Double { isFloat(t) ? 1e-5 : 1e-14 }

  /// Log-sum-exp error, in units of `max(1, |lse|)`.
  static func logSumExp<T>(_ t: T.Type) -> Double { isFloat(t) ? 2e-6 : 1e-14 }

  /// Gradients: `|dx - ref| <= atol + rtol |ref|`.
  static func gradient<T>(_ t: T.Type) -> (atol: Double, rtol: Double) {
    isFloat(t) ? (1e-7, 1e-5) : (1e-15, 1e-12)
  }
}

// MARK: - Element-wise expectations (special values)

/// Which function's output an expectation describes.
enum Operation: String {
  case softmax, logSoftmax, logSumExp
}

/// Compares an output with its reference: a NaN reference needs NaN, an infinite one the same
/// infinity, a softmax reference of exactly 0 or 1 (masked entries, one-hot rows) the exact
/// value; everything else must be within the operation's bound (softmax: relative, beyond the
/// rounding of `x - max`; log-softmax and log-sum-exp: scaled absolute). Returns a description
/// of the first mismatch, or nil.
func mismatch<T: KernelScalar>(
  _ actual: [T], _ expected: [Double], _ operation: Operation, inputs: [Double], columns: Int
) -> String? {
  let bound: Double
  switch operation {
  case .softmax: bound = Bounds.softmax(T.self, columns: columns)
  case .logSoftmax: bound = Bounds.logSoftmax(T.self)
  case .logSumExp: bound = Bounds.logSumExp(T.self)
  }
  return mismatch(
    actual.doubles, expected, operation, inputs: inputs, bound: bound, isFloat: Bounds.isFloat(T.self))
}

/// `mismatch` on Double values (not generic, so that it is fast in a debug build).
func mismatch(
  _ actual: [Double], _ expected: [Double], _ operation: Operation, inputs: [Double],
  bound: Double, isFloat: Bool
) -> String? {
  guard actual.count == expected.count else {
    return "\(actual.count) outputs, expected \(expected.count)"
  }
  return actual.withUnsafeBufferPointer { actual in
    expected.withUnsafeBufferPointer { expected in
      inputs.withUnsafeBufferPointer { inputs in
        mismatch(actual, expected, operation, inputs: inputs, bound: bound, isFloat: isFloat)
      }
    }
  }
}

/// `mismatch` on buffers (array subscripts are slow in a debug build).
func mismatch(
  _ actual: UnsafeBufferPointer<Double>, _ expected: UnsafeBufferPointer<Double>,
  _ operation: Operation, inputs: UnsafeBufferPointer<Double>, bound: Double, isFloat: Bool
) -> String? {
  var m = -Double.infinity
  for i in 0..<inputs.count where inputs[i].isFinite && inputs[i] > m { m = inputs[i] }
  if m == -.infinity { m = 0 }
  for i in 0..<expected.count {
    let v = actual[i], r = expected[i]
    let ok: Bool
    if r.isNaN {
      ok = v.isNaN
    } else if r.isInfinite {
      ok = v == r
    } else if !v.isFinite {
      ok = false
    } else {
      switch operation {
      case .softmax:
        if r == 0 || r == 1 {
          ok = v == r
        } else if r > 1e-30 {
          let d = (inputs.count == expected.count ? inputs[i] : m) - m
          let rounding = !d.isFinite ? 0 : isFloat ? Double(Float(d).ulp) / 2 : d.ulp / 2
          ok = abs(v - r) / r - rounding <= bound
        } else {
          ok = abs(v - r) <= 1e-30
        }
      case .logSoftmax, .logSumExp:
        ok = abs(v - r) / Swift.max(1, abs(r)) <= bound
      }
    }
    if !ok {
      return "\(operation)[\(i)] = \(isFloat ? "\(Float(v))" : "\(v)"), expected \(r)"
        + (expected.count > 1 ? " (input[\(i)] = \(inputs.count > i ? inputs[i] : .nan))" : "")
    }
  }
  return nil
}

/// A short description of a row for failure messages: the row itself when short, otherwise its
/// length and its non-finite or large entries.
func describeRow(_ x: [Double]) -> String {
  if x.count <= 8 { return "\(x)" }
  let marks = x.indices.filter { !x[$0].isFinite || abs(x[$0]) > 1e5 }.prefix(6).map { "[\($0)]=\(x[$0])" }
  return "C=\(x.count) with " + (marks.isEmpty ? "no special entries" : marks.joined(separator: " "))
}
