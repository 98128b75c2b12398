// Logit soft-capping `c tanh(x / c)` and its chain factor.

import SoftmaxKernelsCore

/// `y_i = c tanh(x_i / c)` (a row of soft-capped logits).
func softcapPass<T: KernelFloatLog, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) where X.Arithmetic == T {
  forEachVector(count, Softcap(x: x, y: y, c: c))
}

struct Softcap<X: KernelStorage>: ElementwiseBody where X.Arithmetic: KernelFloatLog {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<T>, c: T

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.softcap(s.read(x, pad: 0), cap: c), y) }
}

/// `dx_i *= 1 - (capped_i / c)^2`, the chain factor of soft-capping.
func softcapChainPass<T: KernelFloat, G: KernelStorage>(
  _ capped: UnsafePointer<T>, _ dx: UnsafeMutablePointer<G>, _ count: Int, cap c: T
) where G.Arithmetic == T {
  softcapChainPass(capped, gradient: UnsafePointer(dx), into: dx, count, cap: c)
}

/// `dx_i = g_i (1 - (capped_i / c)^2)` from the gradient `g` with respect to the capped logits
/// (a 16-bit gradient is computed in a `Float` scratch row first, so it is rounded once).
func softcapChainPass<T: KernelFloat, S: KernelStorage, G: KernelStorage>(
  _ capped: UnsafePointer<T>, gradient g: UnsafePointer<S>, into dx: UnsafeMutablePointer<G>, _ count: Int,
  cap c: T
) where S.Arithmetic == T, G.Arithmetic == T {
  forEachVector(count, SoftcapChain(
    capped: capped, g: g, dx: dx, inverse: T.Vector(repeating: 1 / c), one: T.Vector(repeating: 1)))
}

struct SoftcapChain<S: KernelStorage, G: KernelStorage>: ElementwiseBody where G.Arithmetic == S.Arithmetic {
  typealias T = S.Arithmetic
  let capped: UnsafePointer<T>, g: UnsafePointer<S>, dx: UnsafeMutablePointer<G>, inverse: T.Vector, one: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let r = s.read(capped, pad: 0) * inverse
    s.write(s.read(g, pad: 0) * T.fma(-r, r, one), dx)
  }
}
