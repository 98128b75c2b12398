// The sum and gradient passes of cross-entropy.

import SoftmaxKernelsCore

/// `sum_i x_i`.
func sumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  windowSum(count, Sum(x: x), unrolled: true)
}

struct Sum<T: KernelFloat>: SumBody {
  let x: UnsafePointer<T>

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { s.read(x, pad: 0) }
}

/// Cross-entropy gradient row: `dx_i = a exp((x_i - m) - logSum) - u_i` with
/// `u_i = (b1 t_i + b2) w_i` (`t`, `w` taken as 1 where `nil`). `m` is the row's maximum, so
/// `x_i - m` is exact for close values (Sterbenz) and the row's offset never meets the
/// rounding of `lse` (before: `x_i - T(lse)` lost 1e-3 at 1e4 in Float). `logSum` is `log S`
/// rounded to `T`; the caller folds its rounding into `a`.
func crossEntropyGradientPass<T: KernelFloat, X: KernelStorage, G: KernelStorage>(
  _ x: UnsafePointer<X>, _ dx: UnsafeMutablePointer<G>, _ count: Int, max m: T, logSum: T, a: T,
  b1: T, t: UnsafePointer<T>?, b2: T, w: UnsafePointer<T>?
) where X.Arithmetic == T, G.Arithmetic == T {
  crossEntropyGradient(x, dx, count, m, logSum, a, b1, t, b2, w, streaming: false)
}

/// `crossEntropyGradientPass` writing `dx` with streaming stores (a gradient that leaves the
/// cache). A function of its own: with both loop kinds in one function, the ordinary loops
/// were compiled into xmm pieces at x86-64-v4 (hot-loops.py: ~100 instructions per vector
/// against 25-29).
func crossEntropyGradientStreamPass<T: KernelFloat, X: KernelStorage, G: KernelStorage>(
  _ x: UnsafePointer<X>, _ dx: UnsafeMutablePointer<G>, _ count: Int, max m: T, logSum: T, a: T,
  b1: T, t: UnsafePointer<T>?, b2: T, w: UnsafePointer<T>?
) where X.Arithmetic == T, G.Arithmetic == T {
  crossEntropyGradient(x, dx, count, m, logSum, a, b1, t, b2, w, streaming: true)
}

@inline(always)
private func crossEntropyGradient<T: KernelFloat, X: KernelStorage, G: KernelStorage>(
  _ x: UnsafePointer<X>, _ dx: UnsafeMutablePointer<G>, _ count: Int, _ m: T, _ logSum: T, _ a: T,
  _ b1: T, _ t: UnsafePointer<T>?, _ b2: T, _ w: UnsafePointer<T>?, streaming: Bool
) where X.Arithmetic == T, G.Arithmetic == T {
  let vb1 = T.Vector(repeating: b1), vb2 = T.Vector(repeating: b2)
  @inline(always)
  func run(_ u: some TargetTerm<T>) {
    let body = CrossEntropyGradient(
      x: x, dx: dx, vm: T.Vector(repeating: m), vl: T.Vector(repeating: logSum),
      va: T.Vector(repeating: a), u: u)
    forEachVector(count, body, streamingTo: dx, streaming)
  }
  switch (t, w) {
  case (nil, nil): run(ConstantTarget(vb2: vb2))
  case (nil, let w?): run(WeightedTarget(w: w, vb2: vb2))
  case (let t?, nil): run(AffineTarget(t: t, vb1: vb1, vb2: vb2))
  case (let t?, let w?): run(WeightedAffineTarget(t: t, w: w, vb1: vb1, vb2: vb2))
  }
}

struct CrossEntropyGradient<X: KernelStorage, G: KernelStorage, U: TargetTerm<X.Arithmetic>>: ElementwiseBody
where G.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, dx: UnsafeMutablePointer<G>, vm: T.Vector, vl: T.Vector, va: T.Vector
  let u: U

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(T.fma(va, T.expShifted(s.read(x, pad: -.infinity), minus: vm, minus: vl), u.negated(s)), dx)
  }
}

/// `-u_i` of `crossEntropyGradientPass` for one combination of present inputs.
protocol TargetTerm<T> {
  associatedtype T: KernelFloat
  func negated(_ s: some VectorSlot<T>) -> T.Vector
}

/// `u = b2`.
struct ConstantTarget<T: KernelFloat>: TargetTerm {
  let vb2: T.Vector

  @inline(always)
  func negated(_ s: some VectorSlot<T>) -> T.Vector { -vb2 }
}

/// `u = b2 w`.
struct WeightedTarget<T: KernelFloat>: TargetTerm {
  let w: UnsafePointer<T>, vb2: T.Vector

  @inline(always)
  func negated(_ s: some VectorSlot<T>) -> T.Vector { -vb2 * s.read(w, pad: 0) }
}

/// `u = b1 t + b2`.
struct AffineTarget<T: KernelFloat>: TargetTerm {
  let t: UnsafePointer<T>, vb1: T.Vector, vb2: T.Vector

  @inline(always)
  func negated(_ s: some VectorSlot<T>) -> T.Vector { -T.fma(vb1, s.read(t, pad: 0), vb2) }
}

/// `u = (b1 t + b2) w`.
struct WeightedAffineTarget<T: KernelFloat>: TargetTerm {
  let t: UnsafePointer<T>, w: UnsafePointer<T>, vb1: T.Vector, vb2: T.Vector

  @inline(always)
  func negated(_ s: some VectorSlot<T>) -> T.Vector {
    -(T.fma(vb1, s.read(t, pad: 0), vb2) * s.read(w, pad: 0))
  }
}
