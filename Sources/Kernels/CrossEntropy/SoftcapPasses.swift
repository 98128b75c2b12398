// Logit soft-capping `c tanh(x / c)` and its chain factor.

import SoftmaxKernelsCore

/// `y_i = c tanh(x_i / c)` (a row of soft-capped logits).
func softcapPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  forEachVector(count, Softcap(x: x, y: y, c: c))
}

struct Softcap<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, c: T

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.softcap(s.read(x, pad: 0), cap: c), y) }
}

/// `dx_i *= 1 - (capped_i / c)^2`, the chain factor of soft-capping.
func softcapChainPass<T: KernelFloat>(
  _ capped: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  forEachVector(count, SoftcapChain(
    capped: capped, dx: dx, inverse: T.Vector(repeating: 1 / c), one: T.Vector(repeating: 1)))
}

struct SoftcapChain<T: KernelFloat>: ElementwiseBody {
  let capped: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, inverse: T.Vector, one: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let r = s.read(capped, pad: 0) * inverse
    s.write(s.read(UnsafePointer(dx), pad: 0) * T.fma(-r, r, one), dx)
  }
}
