// The passes of StableMax (Prieto et al. 2025): sums of s(x), scaled writes of s(x) and s'(x).
// They read rows of any storage type (`Float`, `Double`, or 16-bit widened exactly to `Float`)
// and write their own storage type, each value rounded once.

import SoftmaxKernelsCore

extension KernelFloatLog {
  /// `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for `x < 0` (Prieto et al. 2025), or with
  /// `derivative` its derivative `s'(x) = 1` for `x >= 0`, `1 / (1 - x)^2` for `x < 0`. Both are
  /// 0 at `x = -inf`. The select is the concrete `whereNonNegative` (a generic `.>=` compiles to
  /// a scalar loop; see `KernelFloat.vmax`).
  @inline(always)
  static func stableMax(_ x: Vector, derivative: Bool) -> Vector {
    let one = Vector(repeating: 1)
    let r = one / (one - x)
    return derivative ? whereNonNegative(x, one, r * r) : whereNonNegative(x, x + one, r)
  }
}

/// `sum_i s(x_i)`.
func stableMaxSumPass<X: KernelStorage>(_ x: UnsafePointer<X>, _ count: Int) -> Double
where X.Arithmetic: KernelFloatLog {
  windowSum(count, StableMaxTerms(x: x, derivative: false), unrolled: true)
}

/// `y_i = s(x_i) * scale`.
func stableMaxScalePass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, scale: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, ScaledStableMaxTerms(
    terms: StableMaxTerms(x: x, derivative: false), y: y, vs: T.Vector(repeating: scale)))
}

/// `dx_i = s'(x_i) * scale` (the StableMax cross-entropy gradient without its target term).
func stableMaxGradientPass<T: KernelFloatLog, X: KernelStorage, G: KernelStorage>(
  _ x: UnsafePointer<X>, _ dx: UnsafeMutablePointer<G>, _ count: Int, scale: T
) where X.Arithmetic == T, G.Arithmetic == T {
  forEachVector(count, ScaledStableMaxTerms(
    terms: StableMaxTerms(x: x, derivative: true), y: dx, vs: T.Vector(repeating: scale)))
}

/// The terms `s(x_i)`, or `s'(x_i)` with `derivative` (every pass names it as a constant, so
/// the choice folds away in its loop). The pad lanes of the partial vector are `-inf`, where
/// both are 0.
struct StableMaxTerms<X: KernelStorage>: SumBody where X.Arithmetic: KernelFloatLog {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, derivative: Bool

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector {
    T.stableMax(s.read(x, pad: -.infinity), derivative: derivative)
  }
}

/// `y_i = term_i * scale`.
struct ScaledStableMaxTerms<X: KernelStorage, Y: KernelStorage>: ElementwiseBody
where X.Arithmetic: KernelFloatLog, Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let terms: StableMaxTerms<X>, y: UnsafeMutablePointer<Y>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(terms.term(s) * vs, y) }
}
