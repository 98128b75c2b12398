// Softplus attention with L1 normalisation (LSSA) and its re-weighting (LSSAR), row by row
// (Gao & Spratling, "Softplus Attention with Re-weighting Boosts Length Extrapolation in Large
// Language Models", arXiv:2501.13428):
//
//   f_j = softplus(c s_j) for the N visible keys j, 0 for masked ones;  S = sum f
//   LSSA:  a_j = f_j / (S + eps)
//   LSSAR: u_j = max(a_j N - O, 0);  out_j = u_j^p / sum_k u_k^p   (0 for a row of zeros)
//
// The power is taken of u_j / max_k u_k (in [0, 1]) as exp(p log(.)): the quotient is scale
// invariant, and (N - 1)^15 would overflow Float for N > 370 (SPEC §6.7 hazard ii).
//
// Backward (dx_k = dL/ds_k from the upstream gradient h and the forward output):
//   LSSAR: H = sum h out;  dA_k = N p (h_k - H) out_k / u_k  (0 where u_k = 0)
//   LSSA:  dA = h
//   D = sum dA a;  dx_k = (dA_k - D) / (S + eps) * c sigmoid(c s_k)

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
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

/// Visible keys, `N` and the scale of row `r`.
@inline(always)
func softplusAttentionRowShape<T: KernelFloatLog>(
  _ batch: _SoftplusAttentionBatch<T>, _ r: Int
) -> (visible: Int, n: T, scale: T, offset: T) {
  let query = r + batch.queryOffset
  let visible = batch.causal ? min(batch.columns, query + 1) : batch.columns
  let n = T(visible)
  let scale = batch.lengthDependentScale
    ? batch.logHeadDimension * T(log(Double(max(visible, 1)))) : batch.constantScale
  let offset: T = query < batch.offsetRows ? 0 : 1
  return (visible, n, scale, offset)
}

/// LSSA / LSSAR forward over rows `rows`.
func softplusAttentionRows<T: KernelFloatLog>(_ batch: _SoftplusAttentionBatch<T>, _ rows: Range<Int>) {
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let y = batch.output + r * batch.outputStride
    fillPass(y + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, y, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    if batch.power == 0 {
      scalePass(y, visible, by: k)
      continue
    }
    let top = reweightMaxPass(y, visible, multiplier: k * n, offset: o)
    if !(top > 0) {
      // All u_j = 0 (or the row is NaN): out = 0, or NaN for a NaN row.
      fillPass(y, visible, top.isNaN || total.isNaN ? .nan : 0)
      continue
    }
    let powered = powerSumPass(y, visible, multiplier: 1 / top, power: batch.power)
    scalePass(y, visible, by: T(1 / powered))
  }
}

/// LSSA / LSSAR backward over rows `rows`; `inputGradient` must not overlap the other buffers
/// (it holds intermediate values).
func softplusAttentionBackwardRows<T: KernelFloatLog>(
  _ batch: _SoftplusAttentionBatch<T>, _ rows: Range<Int>
) {
  guard let gBase = batch.outputGradient, let dxBase = batch.inputGradient else { return }
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let out = UnsafePointer(batch.output + r * batch.outputStride)
    let h = gBase + r * batch.outputGradientStride
    let dx = dxBase + r * batch.inputGradientStride
    fillPass(dx + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, dx, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    let d: Double
    if batch.power == 0 {
      // dA = h; D = sum h a = k sum h f.
      d = Double(k) * dotPass(h, UnsafePointer(dx), visible)
      softplusInputGradientPass(s, h, dx, visible, scale: c, normaliser: k, dot: T(d))
    } else {
      let dotH = dotPass(h, out, visible)
      d = reweightBackwardPass(
        dx, h, out, visible, normaliser: k, visible: n, offset: o, power: batch.power, dot: T(dotH))
      softplusInputGradientPass(s, UnsafePointer(dx), dx, visible, scale: c, normaliser: k, dot: T(d))
    }
  }
}
