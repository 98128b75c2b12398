// The sum and gradient passes of cross-entropy.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sum_i x_i`.
func sumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += load(x + i)
      a1 += load(x + i + lanes)
      i += 2 * lanes
    }
    if i < end {
      a0 += load(x + i)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count { total += Double(loadPartial(x + i, count - i, pad: 0).sum()) }
  return total
}

/// Cross-entropy gradient row: `dx_i = a exp((x_i - m) - logSum) - u_i` with
/// `u_i = (b1 t_i + b2) w_i` (`t`, `w` taken as 1 where `nil`). `m` is the row's maximum, so
/// `x_i - m` is exact for close values (Sterbenz) and the row's offset never meets the
/// rounding of `lse` (before: `x_i - T(lse)` lost 1e-3 at 1e4 in Float). `logSum` is `log S`
/// rounded to `T`; the caller folds its rounding into `a`.
func crossEntropyGradientPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, max m: T, logSum: T, a: T,
  b1: T, t: UnsafePointer<T>?, b2: T, w: UnsafePointer<T>?
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m), vl = T.Vector(repeating: logSum), va = T.Vector(repeating: a)
  let vb1 = T.Vector(repeating: b1), vb2 = T.Vector(repeating: b2)
  var i = 0
  switch (t, w) {
  case (nil, nil):
    while i < fullEnd {
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -vb2), dx + i)
      i += lanes
    }
  case (nil, let w?):
    while i < fullEnd {
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -vb2 * load(w + i)), dx + i)
      i += lanes
    }
  case (let t?, nil):
    while i < fullEnd {
      let u = T.fma(vb1, load(t + i), vb2)
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -u), dx + i)
      i += lanes
    }
  case (let t?, let w?):
    while i < fullEnd {
      let u = T.fma(vb1, load(t + i), vb2) * load(w + i)
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -u), dx + i)
      i += lanes
    }
  }
  if i < count {
    let valid = count - i
    let p = T.expNonPositive((loadPartial(x + i, valid, pad: -.infinity) - vm) - vl)
    var u = vb2
    if let t { u = T.fma(vb1, loadPartial(t + i, valid, pad: 0), vb2) }
    if let w { u = u * loadPartial(w + i, valid, pad: 0) }
    storePartial(T.fma(va, p, -u), dx + i, valid)
  }
}
