// The passes of StableMax (Prieto et al. 2025): sums of s(x), scaled writes and gradients.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sum_i s(x_i)`.
func stableMaxSumPass<T: KernelFloatLoss>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += T.stableMaxS(load(x + i))
      a1 += T.stableMaxS(load(x + i + lanes))
      i += 2 * lanes
    }
    if i < end {
      a0 += T.stableMaxS(load(x + i))
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    total += Double(T.stableMaxS(loadPartial(x + i, count - i, pad: -.infinity)).sum())
  }
  return total
}

/// `y_i = s(x_i) * scale`.
func stableMaxScalePass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: scale)
  var i = 0
  while i < fullEnd {
    store(T.stableMaxS(load(x + i)) * vs, y + i)
    i += lanes
  }
  if i < count {
    storePartial(T.stableMaxS(loadPartial(x + i, count - i, pad: 0)) * vs, y + i, count - i)
  }
}

/// `dx_i = s'(x_i) * scale` (the StableMax cross-entropy gradient without its target term).
func stableMaxGradientPass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: scale)
  var i = 0
  while i < fullEnd {
    store(T.stableMaxDerivative(load(x + i)) * vs, dx + i)
    i += lanes
  }
  if i < count {
    let d = T.stableMaxDerivative(loadPartial(x + i, count - i, pad: 0))
    storePartial(d * vs, dx + i, count - i)
  }
}
