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

/// `y_i = c tanh(x_i / c)` and `f_i = 1 - tanh(x_i / c)^2` (its derivative, the chain factor
/// of the gradient; `KernelFloatLog.softcapParts`).
func softcapWithChainPass<T: KernelFloatLog, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<T>, chain f: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) where X.Arithmetic == T {
  forEachVector(count, SoftcapWithChain(x: x, y: y, f: f, c: c))
}

struct SoftcapWithChain<X: KernelStorage>: ElementwiseBody where X.Arithmetic: KernelFloatLog {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<T>, f: UnsafeMutablePointer<T>, c: T

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let (capped, chain) = T.softcapParts(s.read(x, pad: 0), cap: c)
    s.write(capped, y)
    s.write(chain, f)
  }
}

/// `dx_i = g_i f_i`: the gradient `g` with respect to the capped logits times the chain factors
/// `f` of `softcapWithChainPass` (in place when `g` is `dx`; a 16-bit gradient is computed in a
/// `Float` scratch row first, so it is rounded once).
func softcapChainPass<T: KernelFloat, S: KernelStorage, G: KernelStorage>(
  chain f: UnsafePointer<T>, gradient g: UnsafePointer<S>, into dx: UnsafeMutablePointer<G>, _ count: Int
) where S.Arithmetic == T, G.Arithmetic == T {
  forEachVector(count, SoftcapChain(f: f, g: g, dx: dx))
}

struct SoftcapChain<S: KernelStorage, G: KernelStorage>: ElementwiseBody where G.Arithmetic == S.Arithmetic {
  typealias T = S.Arithmetic
  let f: UnsafePointer<T>, g: UnsafePointer<S>, dx: UnsafeMutablePointer<G>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(s.read(g, pad: 0) * s.read(f, pad: 0), dx) }
}
