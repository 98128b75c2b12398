// The passes of the spherical Z-loss: squared deviations and the affine gradient write.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sum_i (x_i - mean)^2` (the second pass of a two-pass variance).
func squaredDeviationPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, mean: T) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: mean)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector()
    while i < end {
      let d = load(x + i) - vm
      a0 = T.fma(d, d, a0)
      i += lanes
    }
    total += Double(a0.sum())
  }
  if i < count {
    let d = loadPartial(x + i, count - i, pad: mean) - vm
    total += Double((d * d).sum())
  }
  return total
}

/// `dx_i = alpha + beta (x_i - center)` (the spherical-family gradient without its target
/// term). Centred on the row's mean so that `alpha` and `beta x_i` do not cancel for rows far
/// from 0; `x_i - center` is exact for close values (Sterbenz).
func affinePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, center: T, alpha: T, beta: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vc = T.Vector(repeating: center), va = T.Vector(repeating: alpha), vb = T.Vector(repeating: beta)
  var i = 0
  while i < fullEnd {
    store(T.fma(load(x + i) - vc, vb, va), dx + i)
    i += lanes
  }
  if i < count {
    storePartial(T.fma(loadPartial(x + i, count - i, pad: center) - vc, vb, va), dx + i, count - i)
  }
}
