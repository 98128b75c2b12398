// The single passes over a contiguous row segment that every algorithm is assembled from.
// Each is one streaming loop of 64-byte vectors, unrolled by two with two accumulators; the
// last partial vector goes through the same code, padded with the reduction's neutral element.
//
// Accuracy of sums: lanes accumulate in the row's own precision only within a window of
// `windowVectors` vectors (4096 floats); each window's total is added in Double. A 2^28-element
// float row then sums with a relative error near 1e-7 instead of the ~1e-2 of one float
// accumulator per lane (measured on 2^28 Float entries).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

/// Vectors per accumulation window (4096 floats / 2048 doubles).
let windowVectors = 256
/// Vectors per accumulation window of the two-pass sum (1024 floats): each of its two lane
/// accumulators adds 16 pairs of terms before the window goes to Double. With 128 terms per
/// lane accumulator an all-equal row (where rounding errors do not cancel) summed 24 ulp low
/// (all entries 3.25: every output 1/n (1 + 1.43e-6)); with pairs in 16-pair runs a float32
/// simulation over 4000 random terms gives at most 4.5 ulp.
let extendedWindowVectors = 64
/// Vectors per block of the blocked online normaliser (256 floats / 128 doubles).
let onlineBlockVectors = 16

// The loops are written out in every pass: closures passed to generic helpers were seen not to
// be inlined into the loop (one call per vector, the vector split into xmm pieces), so each
// pass is one explicit loop over full vectors, unrolled by two, plus one padded partial vector.

/// An unaligned load of a full vector.
@inline(always)
func load<T: KernelFloat>(_ p: UnsafePointer<T>) -> T.Vector {
  UnsafeRawPointer(p).loadUnaligned(as: T.Vector.self)
}

/// An unaligned store of a full vector.
@inline(always)
func store<T: KernelFloat>(_ v: T.Vector, _ p: UnsafeMutablePointer<T>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: T.Vector.self)
}

/// Loads `valid < lanes` elements, the other lanes set to `pad` (a row's last partial vector).
@inline(never)
func loadPartial<T: KernelFloat>(_ p: UnsafePointer<T>, _ valid: Int, pad: T) -> T.Vector {
  var v = T.Vector(repeating: pad)
  for k in 0..<valid { v[k] = p[k] }
  return v
}

/// Stores the first `valid` lanes of `v`.
@inline(never)
func storePartial<T: KernelFloat>(_ v: T.Vector, _ p: UnsafeMutablePointer<T>, _ valid: Int) {
  for k in 0..<valid { p[k] = v[k] }
}

/// The largest lane (NaN lanes ignored).
@inline(always)
func horizontalMax<T: KernelFloat>(_ v: T.Vector) -> T {
  var top = -T.infinity
  for k in 0..<T.Vector.scalarCount where v[k] > top { top = v[k] }
  return top
}

/// End of the window that starts at `i` (windows hold `windowVectors` full vectors).
@inline(always)
func windowEnd<T: KernelFloat>(_ i: Int, _ fullEnd: Int, _: T.Type) -> Int {
  min(fullEnd, i + windowVectors * T.Vector.scalarCount)
}

// MARK: - Max

/// `max_i x_i`, ignoring NaN; `-inf` for an empty or all `-inf`/NaN segment.
func maxPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var m0 = T.Vector(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
  var i = 0
  while i + 4 * lanes <= fullEnd {
    m0 = T.vmax(m0, load(x + i))
    m1 = T.vmax(m1, load(x + i + lanes))
    m2 = T.vmax(m2, load(x + i + 2 * lanes))
    m3 = T.vmax(m3, load(x + i + 3 * lanes))
    i += 4 * lanes
  }
  while i < fullEnd {
    m0 = T.vmax(m0, load(x + i))
    i += lanes
  }
  if i < count { m1 = T.vmax(m1, loadPartial(x + i, count - i, pad: -.infinity)) }
  return horizontalMax(T.vmax(T.vmax(m0, m1), T.vmax(m2, m3)))
}

// MARK: - Exponential sums and writes

/// The sums a softmax row needs from its exponentials `e_i = exp(x_i - m)`, `m` the row's
/// maximum: `sum = sum_i e_i` and, for the logarithmic operations, `rest` = the same sum over
/// the entries strictly below `m` (nil when not accumulated).
///
/// Why `rest`: every maximal entry contributes exactly 1, so `sum = k + rest` with `k >= 1`
/// maximal entries. When the maximum is unique and dominates (`rest` far below 1, the
/// "Softmax Collapse" regime of Prieto et al. 2025), a lane that holds the 1 absorbs the small
/// terms added after it and `log(sum)` keeps none of their digits; `log1p(rest)` keeps all of
/// them, so log-probabilities near 0 keep their relative accuracy.
struct ExpSums {
  private var total = CompensatedSum()
  private var restTotal: CompensatedSum?

  init(sum: Double = 0, rest: Double? = nil) {
    total = CompensatedSum(sum)
    restTotal = rest.map { CompensatedSum($0) }
  }

  var sum: Double { total.value }
  var rest: Double? { restTotal?.value }

  mutating func add(sum s: Double, rest r: Double) {
    total.add(s)
    restTotal?.add(r)
  }

  mutating func merge(_ other: ExpSums) {
    total.add(other.total)
    if let r = other.restTotal {
      if restTotal == nil { restTotal = CompensatedSum() }
      restTotal!.add(r)
    }
  }

  /// `log(sum)`, as `log1p(rest)` when `sum < 2`: then exactly one entry is maximal (two would
  /// contribute 1 + 1), so `sum = 1 + rest`.
  var logSum: Double {
    if let rest, sum < 2 { return log1p(rest) }
    return log(sum)
  }
}

/// A Double sum with Neumaier's compensation: the windows' and blocks' partial sums of a row
/// add with an error near one rounding in total rather than one per window (a Double row of
/// 3e5 equal terms summed 12.7 ulp low with plain additions).
struct CompensatedSum {
  private var s = 0.0
  private var c = 0.0

  init(_ v: Double = 0) { s = v }

  var value: Double { s + c }

  mutating func add(_ v: Double) {
    let t = s + v
    c += Swift.abs(s) >= Swift.abs(v) ? (s - t) + v : (v - t) + s
    s = t
  }

  mutating func add(_ o: CompensatedSum) {
    add(o.s)
    add(o.c)
  }

  /// Multiplies by `f` (a rescale by `exp(old max - new max)`).
  mutating func scale(_ f: Double) {
    s *= f
    c *= f
  }
}

/// Vectors per accumulation window of the exponential sums, and lane accumulators. Each lane
/// accumulator adds at most 16 terms in the row's precision before the window is added in
/// Double (compensated). A large term (one near the maximum) absorbs the small terms added after
/// it in its lane, losing up to half an ulp of it per term; with 16 terms per lane that loss
/// stays below 8 ulp of the sum (it reached 64 with the former 128-term lanes: a Float row
/// `[16.7, 0, ..., 0]` lost 7e-6 of its sum). x86-64-v4 has 32 zmm registers and takes four
/// accumulators per 64-vector window; the other levels hold a vector in two ymm (four xmm)
/// registers, where four accumulators spilled (disassembly: 42 stack accesses per iteration
/// against 15, 9% more instructions per vector), so they take two per 32-vector window.
#if SOFTMAXKERNELS_LEVEL_V4
let expSumAccumulators = 4
#else
let expSumAccumulators = 2
#endif
let expSumWindowVectors = 16 * expSumAccumulators

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`, and the part of it over `x_i < m` when
/// `split` (see `ExpSums`). NaN if some `x_i` is NaN. `y`, when given, receives `exp(x_i - m)`
/// (three-pass reload, pass 2). Specialised by the wrappers below for constant `split` and `y`.
@inline(__always)
func expSums<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>?, _ count: Int, max m: T, split: Bool
) -> ExpSums {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = ExpSums(sum: 0, rest: split ? 0 : nil)
  var i = 0
  /// The exponential of one vector, stored when `y` is given, added to `a` and (when `split`)
  /// to `r` where `x < m`.
  @inline(__always)
  func add(_ x0: T.Vector, at j: Int, _ a: inout T.Vector, _ r: inout T.Vector) {
    let d = x0 - vm
    let e = T.expNonPositive(d)
    if let y { store(e, y + j) }
    a += e
    if split { r = T.addBelowZero(r, e, d) }
  }
  while i < fullEnd {
    let end = min(fullEnd, i + expSumWindowVectors * lanes)
    var a0 = T.Vector(), a1 = T.Vector(), a2 = T.Vector(), a3 = T.Vector()
    var r0 = T.Vector(), r1 = T.Vector(), r2 = T.Vector(), r3 = T.Vector()
    while i + expSumAccumulators * lanes <= end {
      add(load(x + i), at: i, &a0, &r0)
      add(load(x + i + lanes), at: i + lanes, &a1, &r1)
      if expSumAccumulators == 4 {
        add(load(x + i + 2 * lanes), at: i + 2 * lanes, &a2, &r2)
        add(load(x + i + 3 * lanes), at: i + 3 * lanes, &a3, &r3)
      }
      i += expSumAccumulators * lanes
    }
    while i < end {
      add(load(x + i), at: i, &a0, &r0)
      i += lanes
    }
    total.add(
      sum: Double(T.horizontalSum((a0 + a1) + (a2 + a3))),
      rest: split ? Double(T.horizontalSum((r0 + r1) + (r2 + r3))) : 0)
  }
  if i < count {
    let valid = count - i
    let d = loadPartial(x + i, valid, pad: -.infinity) - vm
    let e = T.expNonPositive(d)
    if let y { storePartial(e, y + i, valid) }
    total.add(sum: Double(e.sum()), rest: split ? Double(T.addBelowZero(T.Vector(), e, d).sum()) : 0)
  }
  return total
}

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`. NaN if some `x_i` is NaN.
func sumExpPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, max m: T) -> Double {
  expSums(x, nil, count, max: m, split: false).sum
}

/// `sum_i exp(x_i - m)` and its part over `x_i < m` (log-softmax, log-sum-exp; see `ExpSums`).
func sumExpSplitPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, max m: T) -> ExpSums {
  expSums(x, nil, count, max: m, split: true)
}

/// Writes `y_i = exp(x_i - m)` and returns their sum (three-pass reload, pass 2).
func storeExpPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T
) -> Double {
  expSums(x, y, count, max: m, split: false).sum
}

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

// MARK: - Two-pass (extended exponent)

/// The state of the two-pass algorithm's first pass: `sum_i e^(x_i - r) = mantissa * 2^exponent`
/// for the row's reference `r`, the row's maximum, and whether anything made the sum invalid
/// (a NaN or infinite input, or an exponent out of range), which sends the row to the
/// three-pass fallback.
struct ExtendedSum {
  var mantissa = 0.0
  var exponent = -Double.infinity
  var max = -Double.infinity
  var invalid = false

  /// Adds `v * 2^e`. Rescaling by a power of two is exact unless it underflows.
  mutating func add(mantissa v: Double, exponent e: Double) {
    if !v.isFinite || e.isNaN || e == .infinity {
      invalid = true
      return
    }
    if v == 0 { return }
    if e > exponent {
      mantissa = scaled(mantissa, exponent - e) + v
      exponent = e
    } else {
      mantissa += scaled(v, e - exponent)
    }
  }

  mutating func merge(_ other: ExtendedSum) {
    invalid = invalid || other.invalid
    add(mantissa: other.mantissa, exponent: other.exponent)
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
func extendedSumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, reference r: T) -> ExtendedSum {
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
func extendedScalePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int,
  scale s: T, exponent e: T, reference r: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: s), ve = T.Vector(repeating: e), vr = T.Vector(repeating: r)
  var i = 0
  while i < fullEnd {
    let (p, n) = T.extendedExp(load(x + i) - vr)
    store((p * vs) * T.exp2Integral(n - ve), y + i)
    i += lanes
  }
  if i < count {
    let (p, n) = T.extendedExp(loadPartial(x + i, count - i, pad: r) - vr)
    storePartial((p * vs) * T.exp2Integral(n - ve), y + i, count - i)
  }
}

// MARK: - Online normaliser (blocked)

/// The online normaliser's state: `sum = sum_i exp(x_i - max)` (compensated) and `max`, merged
/// with the (max, sum) monoid of Milakov & Gimelshein. The rescale factor is evaluated only for
/// the smaller maximum, never as `-inf - (-inf)`.
struct OnlineSum {
  var max = -Double.infinity
  private var total = CompensatedSum()

  var sum: Double { total.value }

  mutating func merge(max m: Double, sum d: Double) {
    if d.isNaN { total = CompensatedSum(.nan); return }
    if d == 0 { return }
    if m > max {
      total.scale(exp(max - m))
      total.add(d)
      max = m
    } else if m < max {
      total.add(d * exp(m - max))
    } else {
      total.add(d)
    }
  }

  mutating func merge(_ o: OnlineSum) { merge(max: o.max, sum: o.sum) }
}

/// Online, pass 1, blocked: per lane a running `(m, d)`; per block of `onlineBlockVectors`
/// vectors the block max `b`, `M = max(m, b)`, `d = d e^(m - M) + sum e^(x - M)`. Lanes start at
/// `m = -greatestFiniteMagnitude` so no `-inf - (-inf)` arises. Each window of
/// `windowVectors` vectors is folded into a Double `OnlineSum`.
func onlineSumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> OnlineSum {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var state = OnlineSum()
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var m = T.Vector(repeating: -T.greatestFiniteMagnitude), d = T.Vector()
    while i < end {
      let blockEnd = min(end, i + onlineBlockVectors * lanes)
      var b0 = T.Vector(repeating: -.infinity), b1 = b0
      var j = i
      while j + 2 * lanes <= blockEnd {
        b0 = T.vmax(b0, load(x + j))
        b1 = T.vmax(b1, load(x + j + lanes))
        j += 2 * lanes
      }
      if j < blockEnd { b0 = T.vmax(b0, load(x + j)) }
      let newM = T.vmax(m, T.vmax(b0, b1))
      // The block's terms are summed apart and added to the rescaled state once per block, so
      // a lane's large state absorbs one rounding per block rather than one per term.
      var s0 = T.Vector(), s1 = T.Vector()
      j = i
      while j + 2 * lanes <= blockEnd {
        s0 += T.expNonPositive(load(x + j) - newM)
        s1 += T.expNonPositive(load(x + j + lanes) - newM)
        j += 2 * lanes
      }
      if j < blockEnd { s0 += T.expNonPositive(load(x + j) - newM) }
      d = T.fma(d, T.expNonPositive(m - newM), s0 + s1)
      m = newM
      i = blockEnd
    }
    foldOnline(T.self, &state, m, d)
  }
  if i < count {
    let x0 = loadPartial(x + i, count - i, pad: -.infinity)
    let m = T.vmax(T.Vector(repeating: -T.greatestFiniteMagnitude), x0)
    foldOnline(T.self, &state, m, T.expNonPositive(x0 - m))
  }
  return state
}

/// Adds the lanes `(m, d)` of a window to `state`.
@inline(never)
func foldOnline<T: KernelFloat>(_: T.Type, _ state: inout OnlineSum, _ m: T.Vector, _ d: T.Vector) {
  let top: T = horizontalMax(m)
  let folded = (d * T.expNonPositive(m - T.Vector(repeating: top))).sum()
  state.merge(max: Double(top), sum: Double(folded))
}

// MARK: - Backward

/// `sum_i g_i y_i`.
func dotPass<T: KernelFloat>(_ g: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 = T.fma(load(g + i), load(y + i), a0)
      a1 = T.fma(load(g + i + lanes), load(y + i + lanes), a1)
      i += 2 * lanes
    }
    if i < end {
      a0 = T.fma(load(g + i), load(y + i), a0)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    let v = loadPartial(g + i, count - i, pad: 0) * loadPartial(y + i, count - i, pad: 0)
    total += Double(v.sum())
  }
  return total
}

/// `(sum_i g_i, max_i z_i)`.
func sumAndMaxPass<T: KernelFloat>(
  _ g: UnsafePointer<T>, _ z: UnsafePointer<T>, _ count: Int
) -> (sum: Double, max: T) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var m = T.Vector(repeating: -.infinity)
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += load(g + i)
      a1 += load(g + i + lanes)
      m = T.vmax(T.vmax(m, load(z + i)), load(z + i + lanes))
      i += 2 * lanes
    }
    if i < end {
      a0 += load(g + i)
      m = T.vmax(m, load(z + i))
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    total += Double(loadPartial(g + i, count - i, pad: 0).sum())
    m = T.vmax(m, loadPartial(z + i, count - i, pad: -.infinity))
  }
  return (total, horizontalMax(m))
}

/// Softmax VJP: `dx_i = y_i (g_i - dot)`.
func softmaxBackwardPass<T: KernelFloat>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  dot: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vd = T.Vector(repeating: dot)
  var i = 0
  while i < fullEnd {
    store(load(y + i) * (load(g + i) - vd), dx + i)
    i += lanes
  }
  if i < count {
    let v = loadPartial(y + i, count - i, pad: 0) * (loadPartial(g + i, count - i, pad: 0) - vd)
    storePartial(v, dx + i, count - i)
  }
}

/// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum`.
func logSoftmaxBackwardPass<T: KernelFloat>(
  _ z: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  sum: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: -sum)
  var i = 0
  while i < fullEnd {
    store(T.fma(T.expNonPositive(load(z + i)), vs, load(g + i)), dx + i)
    i += lanes
  }
  if i < count {
    let e = T.expNonPositive(loadPartial(z + i, count - i, pad: -.infinity))
    storePartial(T.fma(e, vs, loadPartial(g + i, count - i, pad: 0)), dx + i, count - i)
  }
}
