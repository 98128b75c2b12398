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

/// Cross-entropy gradient row: `dx_i = a e_i - u_i` with `u_i = (b1 t_i + b2) w_i` (`t`, `w`
/// taken as 1 where `nil`), `e_i = exp(x_i - m)` as the row's sum pass stored them
/// (`rowLogSumExp(storing:)`) and `a` including `1 / S`, so `a e_i = A p_i`: one exponential
/// per entry, of an argument that is exact for entries near the maximum (Sterbenz). (Before
/// 2026-12-01 this pass recomputed `exp((x_i - m) - logSum)`, whose argument rounds.)
func crossEntropyGradientPass<G: KernelStorage>(
  _ e: UnsafePointer<G.Arithmetic>, _ dx: UnsafeMutablePointer<G>, _ count: Int, a: G.Arithmetic,
  b1: G.Arithmetic, t: UnsafePointer<G.Arithmetic>?, b2: G.Arithmetic, w: UnsafePointer<G.Arithmetic>?
) {
  crossEntropyGradient(e, dx, count, a, b1, t, b2, w, streaming: false)
}

/// `crossEntropyGradientPass` writing `dx` with streaming stores (a gradient that leaves the
/// cache). A function of its own: with both loop kinds in one function, the ordinary loops
/// were compiled into xmm pieces at x86-64-v4 (hot-loops.py: ~100 instructions per vector
/// against 25-29).
func crossEntropyGradientStreamPass<G: KernelStorage>(
  _ e: UnsafePointer<G.Arithmetic>, _ dx: UnsafeMutablePointer<G>, _ count: Int, a: G.Arithmetic,
  b1: G.Arithmetic, t: UnsafePointer<G.Arithmetic>?, b2: G.Arithmetic, w: UnsafePointer<G.Arithmetic>?
) {
  crossEntropyGradient(e, dx, count, a, b1, t, b2, w, streaming: true)
}

@inline(always)
private func crossEntropyGradient<G: KernelStorage>(
  _ e: UnsafePointer<G.Arithmetic>, _ dx: UnsafeMutablePointer<G>, _ count: Int, _ a: G.Arithmetic,
  _ b1: G.Arithmetic, _ t: UnsafePointer<G.Arithmetic>?, _ b2: G.Arithmetic,
  _ w: UnsafePointer<G.Arithmetic>?, streaming: Bool
) {
  typealias T = G.Arithmetic
  let vb1 = T.Vector(repeating: b1), vb2 = T.Vector(repeating: b2)
  @inline(always)
  func run(_ u: some TargetTerm<T>) {
    let body = CrossEntropyGradient(e: e, dx: dx, va: T.Vector(repeating: a), u: u)
    forEachVector(count, body, streamingTo: dx, streaming)
  }
  switch (t, w) {
  case (nil, nil): run(ConstantTarget(vb2: vb2))
  case (nil, let w?): run(WeightedTarget(w: w, vb2: vb2))
  case (let t?, nil): run(AffineTarget(t: t, vb1: vb1, vb2: vb2))
  case (let t?, let w?): run(WeightedAffineTarget(t: t, w: w, vb1: vb1, vb2: vb2))
  }
}

struct CrossEntropyGradient<G: KernelStorage, U: TargetTerm<G.Arithmetic>>: ElementwiseBody {
  typealias T = G.Arithmetic
  let e: UnsafePointer<T>, dx: UnsafeMutablePointer<G>, va: T.Vector
  let u: U

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.fma(va, s.read(e, pad: 0), u.negated(s)), dx) }
}

/// `-u_i` of `crossEntropyGradientPass` for one combination of present inputs.
protocol TargetTerm<T> {
  associatedtype T: KernelFloat
  /// The term from the pass's arguments (a kind takes what it uses; those pointers are given).
  init(t: UnsafePointer<T>?, w: UnsafePointer<T>?, b1: T, b2: T)
  func negated(_ s: some VectorSlot<T>) -> T.Vector
}

extension ConstantTarget {
  @inline(always)
  init(t _: UnsafePointer<T>?, w _: UnsafePointer<T>?, b1 _: T, b2: T) { self.init(vb2: T.Vector(repeating: b2)) }
}

extension WeightedTarget {
  @inline(always)
  init(t _: UnsafePointer<T>?, w: UnsafePointer<T>?, b1 _: T, b2: T) { self.init(w: w!, vb2: T.Vector(repeating: b2)) }
}

extension AffineTarget {
  @inline(always)
  init(t: UnsafePointer<T>?, w _: UnsafePointer<T>?, b1: T, b2: T) {
    self.init(t: t!, vb1: T.Vector(repeating: b1), vb2: T.Vector(repeating: b2))
  }
}

extension WeightedAffineTarget {
  @inline(always)
  init(t: UnsafePointer<T>?, w: UnsafePointer<T>?, b1: T, b2: T) {
    self.init(t: t!, w: w!, vb1: T.Vector(repeating: b1), vb2: T.Vector(repeating: b2))
  }
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
