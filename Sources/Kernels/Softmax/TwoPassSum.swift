// The two-pass softmax (Dukhan & Ablavatski 2020): (mantissa, exponent) sums of `exp(x - r)`.

import SoftmaxKernelsCore

/// Vectors per accumulation window of the two-pass sum (1024 floats): each of its two lane
/// accumulators adds 16 pairs of terms before the window goes to Double. With 128 terms per
/// lane accumulator an all-equal row (where rounding errors do not cancel) summed 24 ulp low
/// (all entries 3.25: every output 1/n (1 + 1.43e-6)); with pairs in 16-pair runs a float32
/// simulation over 4000 random terms gives at most 4.5 ulp.
let extendedWindowVectors = 64

// MARK: - Two-pass (extended exponent)

/// The state of the two-pass algorithm's first pass: `sum_i e^(x_i - r) = mantissa * 2^exponent`
/// for the row's reference `r`, the row's maximum, and whether anything made the sum invalid
/// (a NaN or infinite input, or an exponent out of range), which sends the row to the
/// three-pass fallback.
///
/// The windows' sums are added with compensation (Neumaier's: the rounding error of each
/// addition kept in `low`), as the three-pass sums are: a Double row with one dominant entry
/// otherwise lost half an ulp of the total per window, 1.5e-14 relative over 128 windows
/// (`[0, -15.35 x 65535]`, found by an outside review, 2026-12-01).
struct ExtendedSum {
  /// The mantissa, compensated (`CompensatedSum`, rescaled with the exponent).
  private var total = CompensatedSum()
  var exponent = -Double.infinity
  var max = -Double.infinity
  var invalid = false

  /// The mantissa: the compensated sum (setting it drops the compensation).
  var mantissa: Double {
    get { total.value }
    set { total = CompensatedSum(newValue) }
  }

  /// Adds `v * 2^e`. Rescaling by a power of two is exact unless it underflows.
  mutating func add(mantissa v: Double, exponent e: Double) {
    if !v.isFinite || e.isNaN || e == .infinity {
      invalid = true
      return
    }
    if v == 0 { return }
    add(CompensatedSum(v), exponent: e)
  }

  /// Adds `o * 2^e`: the sum with the smaller exponent is rescaled to the other's.
  private mutating func add(_ o: CompensatedSum, exponent e: Double) {
    if e > exponent {
      total.scale(scaled(1, exponent - e))
      exponent = e
      total.add(o)
    } else {
      var o = o
      o.scale(scaled(1, e - exponent))
      total.add(o)
    }
  }

  mutating func merge(_ other: ExtendedSum) {
    invalid = invalid || other.invalid
    if !other.invalid, other.mantissa != 0 { add(other.total, exponent: other.exponent) }
    max = Swift.max(max, other.max)
  }
}

/// `v * 2^k` for integral `k <= 0` (`k = -inf` gives 0; NaN gives NaN).
@inline(always)
func scaled(_ v: Double, _ k: Double) -> Double {
  if k.isNaN || k > 1100 { return .nan }
  return k < -1100 ? 0 : v * Double(sign: .plus, exponent: Int(k), significand: 1)
}

/// One two-pass accumulation step: with `E = max(e, n)`, `v = v 2^(e - E) + p 2^(n - E)`.
@inline(always)
func extendedStep<T: KernelFloat>(_: T.Type, _ v: inout T.Vector, _ e: inout T.Vector, _ x: T.Vector) {
  let (p, n) = T.extendedExp(x)
  let newE = T.vmax(e, n)
  v = T.fma(p, T.exp2Integral(n - newE), v * T.exp2Integral(e - newE))
  e = newE
}

/// Two elements per lane into one accumulator: `E = max(e, n0, n1)`, one rescale of `v`
/// (XNNPACK folds its unrolled tiles the same way). The pair is added first and then to `v`:
/// same instruction count as adding the terms one by one, half the roundings at `v`'s size.
@inline(always)
func extendedPairStep<T: KernelFloat>(
  _: T.Type, _ v: inout T.Vector, _ e: inout T.Vector, _ x0: T.Vector, _ x1: T.Vector
) {
  let (p0, n0) = T.extendedExp(x0)
  let (p1, n1) = T.extendedExp(x1)
  let newE = T.vmax(T.vmax(e, n0), n1)
  let pair = T.fma(p0, T.exp2Integral(n0 - newE), p1 * T.exp2Integral(n1 - newE))
  v = T.fma(v, T.exp2Integral(e - newE), pair)
  e = newE
}

/// `(v0, e0) += (v1, e1)` lane-wise. An empty lane (`e = -inf`) scales by 0: `vmax` ignores
/// the NaN of `-inf - (-inf)` in `exp2Integral`'s clamp.
@inline(always)
func extendedMerge<T: KernelFloat>(
  _: T.Type, _ v0: inout T.Vector, _ e0: inout T.Vector, _ v1: T.Vector, _ e1: T.Vector
) {
  let newE = T.vmax(e0, e1)
  v0 = T.fma(v0, T.exp2Integral(e0 - newE), v1 * T.exp2Integral(e1 - newE))
  e0 = newE
}

/// Adds the lanes `(v, e)` of a window to `state`: each lane is scaled to the window's top
/// exponent in the vector (exact while the result is normal; lanes more than 2^126 below the
/// top are far below rounding) and the lanes are added in Double.
@inline(never)
func foldExtended<T: KernelFloat>(_: T.Type, _ state: inout ExtendedSum, _ v: T.Vector, _ e: T.Vector) {
  let top: T = horizontalMax(e)
  // A NaN or infinite input leaves a NaN mantissa (t = inf - inf) or an infinite exponent.
  if !v.sum().isFinite || top == .infinity {
    state.invalid = true
    return
  }
  if top == -.infinity { return }
  let scaledLanes = v * T.exp2Integral(e - T.Vector(repeating: top))
  var lanesum = 0.0
  for k in 0..<T.Vector.scalarCount { lanesum += Double(scaledLanes[k]) }
  state.add(mantissa: lanesum, exponent: Double(top))
}

/// Two-pass, pass 1: accumulates `e^(x_i - r)` as per-lane (mantissa, exponent) pairs (Dukhan &
/// Ablavatski, XNNPACK `f32-raddextexp`), folded into a Double `ExtendedSum` per window, and the
/// row's maximum. The reference `r` (the row's first entry) keeps the arguments of the
/// extended exponential small for rows far from 0, where its range reduction is exact.
///
/// Accuracy of the sum: two accumulators take a pair of terms per lane each step, so a lane
/// accumulator adds at most `extendedWindowVectors / 4` pairs before its window goes to Double.
func extendedSumPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, reference r: T
) -> ExtendedSum where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vr = T.Vector(repeating: r)
  var state = ExtendedSum()
  var hi = T.Vector(repeating: -.infinity)
  var i = 0
  while i < fullEnd {
    let end = min(fullEnd, i + extendedWindowVectors * lanes)
    var v0 = T.Vector(), e0 = T.Vector(repeating: -.infinity), v1 = v0, e1 = e0
    while i + 4 * lanes <= end {
      let x0 = load(x + i), x1 = load(x + i + lanes)
      let x2 = load(x + i + 2 * lanes), x3 = load(x + i + 3 * lanes)
      hi = T.vmax(hi, T.vmax(T.vmax(x0, x1), T.vmax(x2, x3)))
      extendedPairStep(T.self, &v0, &e0, x0 - vr, x1 - vr)
      extendedPairStep(T.self, &v1, &e1, x2 - vr, x3 - vr)
      i += 4 * lanes
    }
    if i + 2 * lanes <= end {
      let x0 = load(x + i), x1 = load(x + i + lanes)
      hi = T.vmax(hi, T.vmax(x0, x1))
      extendedPairStep(T.self, &v0, &e0, x0 - vr, x1 - vr)
      i += 2 * lanes
    }
    if i < end {
      let x0 = load(x + i)
      hi = T.vmax(hi, x0)
      extendedStep(T.self, &v1, &e1, x0 - vr)
      i += lanes
    }
    extendedMerge(T.self, &v0, &e0, v1, e1)
    foldExtended(T.self, &state, v0, e0)
  }
  if i < count {
    // Padded with r (argument 0); the padded lanes are then reset to the empty state.
    let valid = count - i
    let x0 = loadPartial(x + i, valid, pad: r)
    var v = T.Vector(), e = T.Vector(repeating: -.infinity)
    extendedStep(T.self, &v, &e, x0 - vr)
    for k in valid..<lanes {
      v[k] = 0
      e[k] = -.infinity
    }
    hi = T.vmax(hi, loadPartial(x + i, valid, pad: -.infinity))
    foldExtended(T.self, &state, v, e)
  }
  state.max = Double(horizontalMax(hi) as T)
  return state
}

/// Two-pass, pass 2: `y_i = (p_i s) 2^(n_i - E)` with `(p_i, n_i)` the extended exponential of
/// `x_i - r`, `s = 1 / mantissa`, `E = exponent` of the normalised sum (XNNPACK
/// `f32-vscaleextexp`). Outputs below 2^-126 (float) become 0.
func extendedScalePass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int,
  scale s: T, exponent e: T, reference r: T, streaming: Bool = false
) where X.Arithmetic == T, Y.Arithmetic == T {
  let body = ExtendedScale(
    x: x, y: y, vs: T.Vector(repeating: s), ve: T.Vector(repeating: e), vr: T.Vector(repeating: r), r: r)
  forEachVector(count, body, streamingTo: y, streaming)
}

struct ExtendedScale<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<Y>, vs: T.Vector, ve: T.Vector, vr: T.Vector, r: T

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let (p, n) = T.extendedExp(s.read(x, pad: r) - vr)
    s.write((p * vs) * T.exp2Integral(n - ve), y)
  }
}
