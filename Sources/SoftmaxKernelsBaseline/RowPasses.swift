// The single passes over a contiguous row segment that every algorithm is assembled from.
// Each is one streaming loop of 64-byte vectors, unrolled by two with two accumulators; the
// last partial vector goes through the same code, padded with the reduction's neutral element.
//
// Accuracy of sums: lanes accumulate in the row's own precision only within a window of
// `windowVectors` vectors (4096 floats); each window's total is added in Double. A 2^28-element
// float row then sums with a relative error near 1e-7 instead of the ~1e-2 of one float
// accumulator per lane (measured, ../shared/SWIFT-SIMD.md §4).

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
/// Vectors per accumulation window of the two-pass sum (2048 floats): its per-lane mantissas
/// add 128 terms each, so even an all-equal row (where rounding errors do not cancel) sums
/// within about 1.5e-6 (measured on 4097 entries).
let extendedWindowVectors = 128
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

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`. NaN if some `x_i` is NaN.
func sumExpPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, max m: T) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += T.expNonPositive(load(x + i) - vm)
      a1 += T.expNonPositive(load(x + i + lanes) - vm)
      i += 2 * lanes
    }
    if i < end {
      a0 += T.expNonPositive(load(x + i) - vm)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    let e = T.expNonPositive(loadPartial(x + i, count - i, pad: -.infinity) - vm)
    total += Double(e.sum())
  }
  return total
}

/// Writes `y_i = exp(x_i - m)` and returns their sum (three-pass reload, pass 2).
func storeExpPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      let e0 = T.expNonPositive(load(x + i) - vm)
      let e1 = T.expNonPositive(load(x + i + lanes) - vm)
      store(e0, y + i)
      store(e1, y + i + lanes)
      a0 += e0
      a1 += e1
      i += 2 * lanes
    }
    if i < end {
      let e0 = T.expNonPositive(load(x + i) - vm)
      store(e0, y + i)
      a0 += e0
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    let e = T.expNonPositive(loadPartial(x + i, count - i, pad: -.infinity) - vm)
    storePartial(e, y + i, count - i)
    total += Double(e.sum())
  }
  return total
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
/// (XNNPACK folds its unrolled tiles the same way), saving a rescale per pair.
@inline(always)
func extendedStep2<T: KernelFloat>(
  _: T.Type, _ v: inout T.Vector, _ e: inout T.Vector, _ x0: T.Vector, _ x1: T.Vector
) {
  let (p0, n0) = T.extendedExp(x0)
  let (p1, n1) = T.extendedExp(x1)
  let newE = T.vmax(T.vmax(e, n0), n1)
  let rescaled = v * T.exp2Integral(e - newE)
  v = T.fma(p1, T.exp2Integral(n1 - newE), T.fma(p0, T.exp2Integral(n0 - newE), rescaled))
  e = newE
}

/// Adds the lanes `(v, e)` of a window to `state`.
@inline(never)
func foldExtended<T: KernelFloat>(_: T.Type, _ state: inout ExtendedSum, _ v: T.Vector, _ e: T.Vector) {
  let top: T = horizontalMax(e)
  // A NaN or infinite input leaves a NaN mantissa (t = inf - inf) or an infinite exponent.
  if !v.sum().isFinite || top == .infinity {
    state.invalid = true
    return
  }
  if top == -.infinity { return }
  var lanesum = 0.0
  for k in 0..<T.Vector.scalarCount {
    lanesum += scaled(Double(v[k]), Double(e[k]) - Double(top))
  }
  state.add(mantissa: lanesum, exponent: Double(top))
}

/// Two-pass, pass 1: accumulates `e^(x_i - r)` as per-lane (mantissa, exponent) pairs (Dukhan &
/// Ablavatski, XNNPACK `f32-raddextexp`), folded into a Double `ExtendedSum` per window, and the
/// row's maximum. The reference `r` (the row's first entry) keeps the arguments of the
/// extended exponential small for rows far from 0, where its range reduction is exact.
func extendedSumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, reference r: T) -> ExtendedSum {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vr = T.Vector(repeating: r)
  var state = ExtendedSum()
  var hi = T.Vector(repeating: -.infinity)
  var i = 0
  while i < fullEnd {
    let end = min(fullEnd, i + extendedWindowVectors * lanes)
    var v0 = T.Vector(), e0 = T.Vector(repeating: -.infinity)
    while i + 2 * lanes <= end {
      let x0 = load(x + i), x1 = load(x + i + lanes)
      hi = T.vmax(T.vmax(hi, x0), x1)
      extendedStep2(T.self, &v0, &e0, x0 - vr, x1 - vr)
      i += 2 * lanes
    }
    if i < end {
      let x0 = load(x + i)
      hi = T.vmax(hi, x0)
      extendedStep(T.self, &v0, &e0, x0 - vr)
      i += lanes
    }
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

/// The online normaliser's state: `sum_i exp(x_i - max)` and `max`, merged with the
/// (max, sum) monoid of Milakov & Gimelshein. The rescale factor is evaluated only for the
/// smaller maximum, never as `-inf - (-inf)`.
struct OnlineSum {
  var max = -Double.infinity
  var sum = 0.0

  mutating func merge(max m: Double, sum d: Double) {
    if d.isNaN { sum = .nan; return }
    if d == 0 { return }
    if m > max {
      sum = sum * exp(max - m) + d
      max = m
    } else {
      sum += d * exp(m - max)
    }
  }
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
      var s0 = d * T.expNonPositive(m - newM), s1 = T.Vector()
      j = i
      while j + 2 * lanes <= blockEnd {
        s0 += T.expNonPositive(load(x + j) - newM)
        s1 += T.expNonPositive(load(x + j + lanes) - newM)
        j += 2 * lanes
      }
      if j < blockEnd { s0 += T.expNonPositive(load(x + j) - newM) }
      d = s0 + s1
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
