// The passes of StableMax (Prieto et al. 2025): sums of s(x), scaled writes and gradients.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sum_i s(x_i)`.
func stableMaxSumPass<T: KernelFloatLoss>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  windowSum(count, StableMaxSum(x: x), unrolled: true)
}

struct StableMaxSum<T: KernelFloatLoss>: SumBody {
  let x: UnsafePointer<T>

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { T.stableMaxS(s.read(x, pad: -.infinity)) }
}

/// `y_i = s(x_i) * scale`.
func stableMaxScalePass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  forEachVector(count, StableMaxScale(x: x, y: y, vs: T.Vector(repeating: scale)))
}

struct StableMaxScale<T: KernelFloatLoss>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.stableMaxS(s.read(x, pad: 0)) * vs, y) }
}

/// `dx_i = s'(x_i) * scale` (the StableMax cross-entropy gradient without its target term).
func stableMaxGradientPass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  forEachVector(count, StableMaxGradient(x: x, dx: dx, vs: T.Vector(repeating: scale)))
}

struct StableMaxGradient<T: KernelFloatLoss>: ElementwiseBody {
  let x: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.stableMaxDerivative(s.read(x, pad: 0)) * vs, dx) }
}
