// Logit soft-capping `c tanh(x / c)` and its chain factor.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `y_i = c tanh(x_i / c)` (a row of soft-capped logits).
func softcapPass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(T.softcap(load(x + i), cap: c), y + i)
    i += lanes
  }
  if i < count {
    storePartial(T.softcap(loadPartial(x + i, count - i, pad: 0), cap: c), y + i, count - i)
  }
}

/// `dx_i *= 1 - (capped_i / c)^2`, the chain factor of soft-capping.
func softcapChainPass<T: KernelFloat>(
  _ capped: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let inverse = T.Vector(repeating: 1 / c), one = T.Vector(repeating: 1)
  var i = 0
  while i < fullEnd {
    let r = load(capped + i) * inverse
    store(load(UnsafePointer(dx + i)) * T.fma(-r, r, one), dx + i)
    i += lanes
  }
  if i < count {
    let r = loadPartial(capped + i, count - i, pad: 0) * inverse
    let d = loadPartial(UnsafePointer(dx + i), count - i, pad: 0)
    storePartial(d * T.fma(-r, r, one), dx + i, count - i)
  }
}
