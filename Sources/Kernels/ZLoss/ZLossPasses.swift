// The passes of the spherical Z-loss: squared deviations and the affine gradient write. Both
// read logits of any storage type (`Float`, `Double`, or 16-bit widened exactly to `Float`);
// the gradient is written in its own storage type, each value rounded once.

import SoftmaxKernelsCore

/// `sum_i (x_i - mean)^2` (the second pass of a two-pass variance).
func squaredDeviationPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, mean: T
) -> Double where X.Arithmetic == T {
  let body = SquaredDeviation(x: x, mean: mean, vm: T.Vector(repeating: mean))
  return windowSum(count, body, unrolled: false)
}

struct SquaredDeviation<X: KernelStorage>: SumBody {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, mean: T, vm: T.Vector

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
func affinePass<T: KernelFloat, X: KernelStorage, G: KernelStorage>(
  _ x: UnsafePointer<X>, _ dx: UnsafeMutablePointer<G>, _ count: Int, center: T, alpha: T, beta: T
) where X.Arithmetic == T, G.Arithmetic == T {
  forEachVector(count, Affine(
    x: x, dx: dx, center: center, vc: T.Vector(repeating: center), va: T.Vector(repeating: alpha),
    vb: T.Vector(repeating: beta)))
}

struct Affine<X: KernelStorage, G: KernelStorage>: ElementwiseBody where G.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, dx: UnsafeMutablePointer<G>, center: T
  let vc: T.Vector, va: T.Vector, vb: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(T.fma(s.read(x, pad: center) - vc, vb, va), dx)
  }
}
