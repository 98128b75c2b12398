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
//
// The scores (and the backward's forward output and upstream gradient) are read in their
// storage type `X`; the intermediates (`f`, `u`, `dA`) are kept in the arithmetic type `T`, in
// the output row itself when it has that type and otherwise in a scratch row, so that each
// output is rounded once.

import SoftmaxKernelsCore

/// `f_j = softplus(c s_j)` written to `f`; returns `sum f`.
func softplusSumPass<T: KernelFloatLog, X: KernelStorage>(
  _ s: UnsafePointer<X>, _ f: UnsafeMutablePointer<T>, _ count: Int, scale c: T
) -> Double where X.Arithmetic == T {
  windowSum(count, SoftplusSum(s: s, f: f, vc: T.Vector(repeating: c)), unrolled: false)
}

struct SoftplusSum<X: KernelStorage>: LaneSummedPartial where X.Arithmetic: KernelFloatLog {
  typealias T = X.Arithmetic
  let s: UnsafePointer<X>, f: UnsafeMutablePointer<T>, vc: T.Vector

  @inline(always)
  func term(_ slot: some VectorSlot<T>) -> T.Vector {
    let u = slot.read(s, pad: 0) * vc
    let v = T.vmax(u, T.Vector()) + T.log1pUnit(T.expNegativeGradual(T.negativeAbs(u)))
    slot.write(v, f)
    return v
  }
}

/// `u_j = max(f_j m - o, 0)` in place; returns `max u` (NaN lanes ignored).
func reweightMaxPass<T: KernelFloatLog>(
  _ f: UnsafeMutablePointer<T>, _ count: Int, multiplier m: T, offset o: T
) -> T {
  var body = ReweightMax(
    f: f, vm: T.Vector(repeating: m), vo: T.Vector(repeating: o),
    top: T.Vector(repeating: -.infinity))
  forEachVector(count, &body)
  return horizontalMax(body.top)
}

/// Writes `u`; carries its lane maximum `top` across the row.
struct ReweightMax<T: KernelFloatLog>: ElementwiseBody {
  let f: UnsafeMutablePointer<T>, vm: T.Vector, vo: T.Vector
  var top: T.Vector

  @inline(always)
  mutating func step(_ s: some VectorSlot<T>) {
    let zero = T.Vector()
    let u = T.vmax(T.fma(s.read(UnsafePointer(f), pad: 0), vm, zero - vo), zero)
    s.write(u, f)
    top = T.vmax(top, u)
  }
}

/// `r_j = (u_j k)^p = exp(p log(u_j k))` in place; returns `sum r`.
func powerSumPass<T: KernelFloatLog>(
  _ u: UnsafeMutablePointer<T>, _ count: Int, multiplier k: T, power p: T
) -> Double {
  let body = PowerSum(u: u, vk: T.Vector(repeating: k), vp: T.Vector(repeating: p))
  return windowSum(count, body, unrolled: false)
}

struct PowerSum<T: KernelFloatLog>: LaneSummedPartial {
  let u: UnsafeMutablePointer<T>, vk: T.Vector, vp: T.Vector

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector {
    let r = T.expNegativeGradual(vp * T.log(s.read(UnsafePointer(u), pad: 0) * vk))
    s.write(r, u)
    return r
  }
}

/// LSSAR backward, step 1: with `a_j = f_j k` (`f` in `scratch`), `u_j = max(a_j N - o, 0)`:
/// `dA_j = N p (h_j - H) out_j / u_j` (0 where `u_j = 0`) written over `scratch`; returns
/// `sum dA_j a_j`.
func reweightBackwardPass<T: KernelFloatLog, X: KernelStorage>(
  _ scratch: UnsafeMutablePointer<T>, _ h: UnsafePointer<X>, _ out: UnsafePointer<X>, _ count: Int,
  normaliser k: T, visible n: T, offset o: T, power p: T, dot: T
) -> Double where X.Arithmetic == T {
  let body = ReweightBackward(
    scratch: scratch, h: h, out: out, vk: T.Vector(repeating: k), vn: T.Vector(repeating: n),
    vo: T.Vector(repeating: o), vnp: T.Vector(repeating: n * p), vh: T.Vector(repeating: dot))
  return windowSum(count, body, unrolled: false)
}

struct ReweightBackward<X: KernelStorage>: LaneSummedPartial where X.Arithmetic: KernelFloatLog {
  typealias T = X.Arithmetic
  let scratch: UnsafeMutablePointer<T>, h: UnsafePointer<X>, out: UnsafePointer<X>
  let vk: T.Vector, vn: T.Vector, vo: T.Vector, vnp: T.Vector, vh: T.Vector

  /// Writes `dA` at `s`; returns `(dA, a)`.
  @inline(always)
  func gradient(_ s: some VectorSlot<T>) -> (dA: T.Vector, a: T.Vector) {
    let zero = T.Vector()
    let a = s.read(UnsafePointer(scratch), pad: 0) * vk
    let u = T.vmax(T.fma(a, vn, zero - vo), zero)
    let ratio = T.whereGreater(u, zero, s.read(out, pad: 0) / u, zero)
    let dA = vnp * (s.read(h, pad: 0) - vh) * ratio
    s.write(dA, scratch)
    return (dA, a)
  }

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    let (dA, a) = gradient(s)
    acc = T.fma(dA, a, acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector {
    let (dA, a) = gradient(s)
    return dA * a
  }
}

/// `dx_j = (dA_j - D) k c sigmoid(c s_j)` (`dA` is the upstream gradient, or the re-weighting's
/// scratch row).
func softplusInputGradientPass<T: KernelFloatLog, X: KernelStorage, A: KernelStorage, Y: KernelStorage>(
  _ s: UnsafePointer<X>, _ dA: UnsafePointer<A>, _ dx: UnsafeMutablePointer<Y>, _ count: Int,
  scale c: T, normaliser k: T, dot d: T
) where X.Arithmetic == T, A.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SoftplusInputGradient(
    s: s, dA: dA, dx: dx, vc: T.Vector(repeating: c), vkc: T.Vector(repeating: k * c),
    vd: T.Vector(repeating: d)))
}

struct SoftplusInputGradient<X: KernelStorage, A: KernelStorage, Y: KernelStorage>: ElementwiseBody
where X.Arithmetic: KernelFloatLog, A.Arithmetic == X.Arithmetic, Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let s: UnsafePointer<X>, dA: UnsafePointer<A>, dx: UnsafeMutablePointer<Y>
  let vc: T.Vector, vkc: T.Vector, vd: T.Vector

  @inline(always)
  func step(_ slot: some VectorSlot<T>) {
    let u = slot.read(s, pad: 0) * vc
    let (e, r) = sigmoidParts(T.self, u)
    slot.write((slot.read(dA, pad: 0) - vd) * vkc * T.whereNonNegative(u, r, e * r), dx)
  }
}
