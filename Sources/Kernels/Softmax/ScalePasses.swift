// The write passes of the softmax family: scale, exp-and-scale, log-softmax, fill.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `y_i *= s` in place (three-pass reload, pass 3).
func scalePass<T: KernelFloat>(_ y: UnsafeMutablePointer<T>, _ count: Int, by s: T) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: s)
  var i = 0
  while i < fullEnd {
    store(load(UnsafePointer(y + i)) * vs, y + i)
    i += lanes
  }
  if i < count {
    storePartial(loadPartial(UnsafePointer(y + i), count - i, pad: 0) * vs, y + i, count - i)
  }
}

/// `y_i = exp(x_i - m) * s` (three-pass recompute pass 3, online pass 2).
func expScalePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T, scale s: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m), vs = T.Vector(repeating: s)
  var i = 0
  while i < fullEnd {
    store(T.expNonPositive(load(x + i) - vm) * vs, y + i)
    i += lanes
  }
  if i < count {
    let e = T.expNonPositive(loadPartial(x + i, count - i, pad: -.infinity) - vm)
    storePartial(e * vs, y + i, count - i)
  }
}

/// `y_i = (x_i - m) - logSum` (log-softmax; the order keeps `x_i - m` exact for close values,
/// pytorch/pytorch#11752).
func logSoftmaxPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T, logSum l: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m), vl = T.Vector(repeating: l)
  var i = 0
  while i < fullEnd {
    store((load(x + i) - vm) - vl, y + i)
    i += lanes
  }
  if i < count {
    storePartial((loadPartial(x + i, count - i, pad: 0) - vm) - vl, y + i, count - i)
  }
}

/// `y_i = value`.
func fillPass<T: KernelFloat>(_ y: UnsafeMutablePointer<T>, _ count: Int, _ value: T) {
  for i in 0..<count { y[i] = value }
}
