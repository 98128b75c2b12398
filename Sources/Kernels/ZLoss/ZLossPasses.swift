// The passes of the spherical Z-loss: squared deviations and the affine gradient write.

import SoftmaxKernelsCore

/// `sum_i (x_i - mean)^2` (the second pass of a two-pass variance).
func squaredDeviationPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, mean: T) -> Double {
  let body = SquaredDeviation(x: x, mean: mean, vm: T.Vector(repeating: mean))
  return windowSum(count, body, unrolled: false)
}

struct SquaredDeviation<T: KernelFloat>: SumBody {
  let x: UnsafePointer<T>, mean: T, vm: T.Vector

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    let d = s.read(x, pad: mean) - vm
    acc = T.fma(d, d, acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector {
    let d = s.read(x, pad: mean) - vm
    return d * d
  }
}

/// `dx_i = alpha + beta (x_i - center)` (the spherical-family gradient without its target
/// term). Centred on the row's mean so that `alpha` and `beta x_i` do not cancel for rows far
/// from 0; `x_i - center` is exact for close values (Sterbenz).
func affinePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, center: T, alpha: T, beta: T
) {
  forEachVector(count, Affine(
    x: x, dx: dx, center: center, vc: T.Vector(repeating: center), va: T.Vector(repeating: alpha),
    vb: T.Vector(repeating: beta)))
}

struct Affine<T: KernelFloat>: ElementwiseBody {
  let x: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, center: T
  let vc: T.Vector, va: T.Vector, vb: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(T.fma(s.read(x, pad: center) - vc, vb, va), dx)
  }
}
