// Softplus attention with L1 normalisation (LSSA) and its re-weighting (LSSAR), row by row
// (Gao & Spratling, "Softplus Attention with Re-weighting Boosts Length Extrapolation in Large
// Language Models", arXiv:2501.13428):
//
//   f_j = softplus(c s_j) for the N visible keys j, 0 for masked ones;  S = sum f
//   LSSA:  a_j = f_j / (S + eps)
//   LSSAR: u_j = max(a_j N - O, 0);  out_j = u_j^p / sum_k u_k^p   (0 for a row of zeros)
//
// The power is taken of u_j / max_k u_k (in [0, 1]) as exp(p log(.)): the quotient is scale
// invariant, and (N - 1)^15 would overflow Float for N > 370 .
//
// Backward (dx_k = dL/ds_k from the upstream gradient h and the forward output):
//   LSSAR: H = sum h out;  dA_k = N p (h_k - H) out_k / u_k  (0 where u_k = 0)
//   LSSA:  dA = h
//   D = sum dA a;  dx_k = (dA_k - D) / (S + eps) * c sigmoid(c s_k)

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `f_j = softplus(c s_j)` written to `f`; returns `sum f`.
func softplusSumPass<T: KernelFloatLog>(
  _ s: UnsafePointer<T>, _ f: UnsafeMutablePointer<T>, _ count: Int, scale c: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vc = T.Vector(repeating: c), zero = T.Vector()
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var acc = T.Vector()
    while i < end {
      let u = load(s + i) * vc
      let v = T.vmax(u, zero) + T.log1pUnit(T.expNegativeGradual(T.negativeAbs(u)))
      store(v, f + i)
      acc += v
      i += lanes
    }
    total += Double(acc.sum())
  }
  if i < count {
    let u = loadPartial(s + i, count - i, pad: 0) * vc
    let v = T.vmax(u, zero) + T.log1pUnit(T.expNegativeGradual(T.negativeAbs(u)))
    storePartial(v, f + i, count - i)
    for k in 0..<(count - i) { total += Double(v[k]) }
  }
  return total
}

/// `u_j = max(f_j m - o, 0)` in place; returns `max u` (NaN lanes ignored).
func reweightMaxPass<T: KernelFloatLog>(
  _ f: UnsafeMutablePointer<T>, _ count: Int, multiplier m: T, offset o: T
) -> T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m), vo = T.Vector(repeating: o), zero = T.Vector()
  var top = T.Vector(repeating: -.infinity)
  var i = 0
  while i < fullEnd {
    let u = T.vmax(T.fma(load(f + i), vm, zero - vo), zero)
    store(u, f + i)
    top = T.vmax(top, u)
    i += lanes
  }
  if i < count {
    let u = T.vmax(T.fma(loadPartial(f + i, count - i, pad: 0), vm, zero - vo), zero)
    storePartial(u, f + i, count - i)
    top = T.vmax(top, u)
  }
  return horizontalMax(top)
}

/// `r_j = (u_j k)^p = exp(p log(u_j k))` in place; returns `sum r`.
func powerSumPass<T: KernelFloatLog>(
  _ u: UnsafeMutablePointer<T>, _ count: Int, multiplier k: T, power p: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vk = T.Vector(repeating: k), vp = T.Vector(repeating: p)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var acc = T.Vector()
    while i < end {
      let r = T.expNegativeGradual(vp * T.log(load(u + i) * vk))
      store(r, u + i)
      acc += r
      i += lanes
    }
    total += Double(acc.sum())
  }
  if i < count {
    let r = T.expNegativeGradual(vp * T.log(loadPartial(u + i, count - i, pad: 0) * vk))
    storePartial(r, u + i, count - i)
    for k in 0..<(count - i) { total += Double(r[k]) }
  }
  return total
}

/// LSSAR backward, step 1: with `a_j = f_j k` (`f` in `scratch`), `u_j = max(a_j N - o, 0)`:
/// `dA_j = N p (h_j - H) out_j / u_j` (0 where `u_j = 0`) written over `scratch`; returns
/// `sum dA_j a_j`.
func reweightBackwardPass<T: KernelFloatLog>(
  _ scratch: UnsafeMutablePointer<T>, _ h: UnsafePointer<T>, _ out: UnsafePointer<T>, _ count: Int,
  normaliser k: T, visible n: T, offset o: T, power p: T, dot: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vk = T.Vector(repeating: k), vn = T.Vector(repeating: n), vo = T.Vector(repeating: o)
  let vnp = T.Vector(repeating: n * p), vh = T.Vector(repeating: dot), zero = T.Vector()
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var acc = T.Vector()
    while i < end {
      let a = load(scratch + i) * vk
      let u = T.vmax(T.fma(a, vn, zero - vo), zero)
      let ratio = T.whereGreater(u, zero, load(out + i) / u, zero)
      let dA = vnp * (load(h + i) - vh) * ratio
      store(dA, scratch + i)
      acc = T.fma(dA, a, acc)
      i += lanes
    }
    total += Double(acc.sum())
  }
  if i < count {
    let valid = count - i
    let a = loadPartial(scratch + i, valid, pad: 0) * vk
    let u = T.vmax(T.fma(a, vn, zero - vo), zero)
    let ratio = T.whereGreater(u, zero, loadPartial(out + i, valid, pad: 0) / u, zero)
    let dA = vnp * (loadPartial(h + i, valid, pad: 0) - vh) * ratio
    storePartial(dA, scratch + i, valid)
    let prod = dA * a
    for j in 0..<valid { total += Double(prod[j]) }
  }
  return total
}

/// `dx_j = (dA_j - D) k c sigmoid(c s_j)`.
func softplusInputGradientPass<T: KernelFloatLog>(
  _ s: UnsafePointer<T>, _ dA: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  scale c: T, normaliser k: T, dot d: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vc = T.Vector(repeating: c), vkc = T.Vector(repeating: k * c), vd = T.Vector(repeating: d)
  var i = 0
  while i < fullEnd {
    let u = load(s + i) * vc
    let (e, r) = sigmoidParts(T.self, u)
    store((load(dA + i) - vd) * vkc * T.whereNonNegative(u, r, e * r), dx + i)
    i += lanes
  }
  if i < count {
    let u = loadPartial(s + i, count - i, pad: 0) * vc
    let (e, r) = sigmoidParts(T.self, u)
    let v = (loadPartial(dA + i, count - i, pad: 0) - vd) * vkc * T.whereNonNegative(u, r, e * r)
    storePartial(v, dx + i, count - i)
  }
}
