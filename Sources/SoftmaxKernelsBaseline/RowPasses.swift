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
/// Vectors per block of the blocked online normaliser (256 floats / 128 doubles).
let onlineBlockVectors = 16

/// Reduces `term(i, valid)` over the vectors of `0..<count` with two interleaved accumulators;
/// `valid` is the lane count (the vector width except in the last partial vector).
@inline(__always)
func reduceVectors<T: KernelFloat>(
  _ count: Int, _: T.Type, initial: T.Vector,
  _ combine: (T.Vector, T.Vector) -> T.Vector,
  _ term: (_ index: Int, _ valid: Int) -> T.Vector
) -> T.Vector {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var a0 = initial, a1 = initial
  var i = 0
  while i + 2 * lanes <= fullEnd {
    a0 = combine(a0, term(i, lanes))
    a1 = combine(a1, term(i + lanes, lanes))
    i += 2 * lanes
  }
  if i < fullEnd {
    a0 = combine(a0, term(i, lanes))
    i += lanes
  }
  if i < count { a1 = combine(a1, term(i, count - i)) }
  return combine(a0, a1)
}

/// Sums `term(i, valid)` over the vectors of `0..<count`: in the vector type within windows of
/// `windowVectors` vectors, across windows in Double.
@inline(__always)
func windowedSum<T: KernelFloat>(
  _ count: Int, _: T.Type, _ term: (_ index: Int, _ valid: Int) -> T.Vector
) -> Double {
  let window = windowVectors * T.Vector.scalarCount
  var total = 0.0
  var start = 0
  while start < count {
    let n = min(window, count - start)
    let s = reduceVectors(n, T.self, initial: T.Vector(), { $0 + $1 }) { i, valid in
      term(start + i, valid)
    }
    total += Double(s.sum())
    start += n
  }
  return total
}

/// Applies `body(i, valid)` to every vector of `0..<count`, unrolled by two.
@inline(__always)
func forEachVector<T: KernelFloat>(
  _ count: Int, _: T.Type, _ body: (_ index: Int, _ valid: Int) -> Void
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i + 2 * lanes <= fullEnd {
    body(i, lanes)
    body(i + lanes, lanes)
    i += 2 * lanes
  }
  if i < fullEnd {
    body(i, lanes)
    i += lanes
  }
  if i < count { body(i, count - i) }
}

/// The largest lane (NaN lanes ignored).
@inline(__always)
func horizontalMax<T: KernelFloat>(_ v: T.Vector) -> T {
  var top = -T.infinity
  for k in 0..<T.Vector.scalarCount where v[k] > top { top = v[k] }
  return top
}

// MARK: - Max

/// `max_i x_i`, ignoring NaN; `-inf` for an empty or all `-inf`/NaN segment.
func maxPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var m0 = T.Vector(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
  var i = 0
  while i + 4 * lanes <= fullEnd {
    m0 = vmax(m0, load(x + i, lanes, pad: 0))
    m1 = vmax(m1, load(x + i + lanes, lanes, pad: 0))
    m2 = vmax(m2, load(x + i + 2 * lanes, lanes, pad: 0))
    m3 = vmax(m3, load(x + i + 3 * lanes, lanes, pad: 0))
    i += 4 * lanes
  }
  while i < fullEnd {
    m0 = vmax(m0, load(x + i, lanes, pad: 0))
    i += lanes
  }
  if i < count { m1 = vmax(m1, load(x + i, count - i, pad: -.infinity)) }
  return horizontalMax(vmax(vmax(m0, m1), vmax(m2, m3)))
}

// MARK: - Exponential sums and writes

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`. NaN if some `x_i` is NaN.
func sumExpPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, max m: T) -> Double {
  let vm = T.Vector(repeating: m)
  return windowedSum(count, T.self) { i, valid in
    T.expNonPositive(load(x + i, valid, pad: -.infinity) - vm)
  }
}

/// Writes `y_i = exp(x_i - m)` and returns their sum (three-pass reload, pass 2).
func storeExpPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T
) -> Double {
  let vm = T.Vector(repeating: m)
  return windowedSum(count, T.self) { i, valid in
    let e = T.expNonPositive(load(x + i, valid, pad: -.infinity) - vm)
    store(e, y + i, valid)
    return e
  }
}

/// `y_i *= s` in place (three-pass reload, pass 3).
func scalePass<T: KernelFloat>(_ y: UnsafeMutablePointer<T>, _ count: Int, by s: T) {
  let vs = T.Vector(repeating: s)
  forEachVector(count, T.self) { i, valid in
    store(load(UnsafePointer(y + i), valid, pad: 0) * vs, y + i, valid)
  }
}

/// `y_i = exp(x_i - m) * s` (three-pass recompute pass 3, online pass 2).
func expScalePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T, scale s: T
) {
  let vm = T.Vector(repeating: m), vs = T.Vector(repeating: s)
  forEachVector(count, T.self) { i, valid in
    store(T.expNonPositive(load(x + i, valid, pad: 0) - vm) * vs, y + i, valid)
  }
}

/// `y_i = (x_i - m) - logSum` (log-softmax; the order keeps `x_i - m` exact for close values,
/// pytorch/pytorch#11752).
func logSoftmaxPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T, logSum l: T
) {
  let vm = T.Vector(repeating: m), vl = T.Vector(repeating: l)
  forEachVector(count, T.self) { i, valid in
    store((load(x + i, valid, pad: 0) - vm) - vl, y + i, valid)
  }
}

/// `y_i = value`.
func fillPass<T: KernelFloat>(_ y: UnsafeMutablePointer<T>, _ count: Int, _ value: T) {
  let v = T.Vector(repeating: value)
  forEachVector(count, T.self) { i, valid in store(v, y + i, valid) }
}

// MARK: - Two-pass (extended exponent)

/// The state of the two-pass algorithm's first pass: `sum_i e^x_i = mantissa * 2^exponent`
/// and the range of the inputs (for the fallback test).
struct ExtendedSum {
  var mantissa = 0.0
  var exponent = -Double.infinity
  var max = -Double.infinity
  var min = Double.infinity

  /// Adds `v * 2^e`. Rescaling by a power of two is exact unless it underflows.
  mutating func add(mantissa v: Double, exponent e: Double) {
    if v == 0 { return }
    if !v.isFinite || !e.isFinite {
      mantissa = .nan
      return
    }
    if e > exponent {
      mantissa = scaled(mantissa, exponent - e) + v
      exponent = e
    } else {
      mantissa += scaled(v, e - exponent)
    }
  }

  mutating func merge(_ other: ExtendedSum) {
    add(mantissa: other.mantissa, exponent: other.exponent)
    if other.mantissa.isNaN { mantissa = .nan }
    max = Swift.max(max, other.max)
    min = Swift.min(min, other.min)
  }
}

/// `v * 2^k` for integral `k <= 0` (`k = -inf` gives 0).
@inline(__always)
func scaled(_ v: Double, _ k: Double) -> Double {
  k < -1100 ? 0 : v * Double(sign: .plus, exponent: Int(k), significand: 1)
}

/// Two-pass, pass 1: accumulates `e^x_i` as per-lane (mantissa, exponent) pairs (Dukhan &
/// Ablavatski, XNNPACK `f32-raddextexp`): with `E = max(acc_e, n)`,
/// `acc_v = acc_v 2^(acc_e - E) + p 2^(n - E)`. Also reduces max and min of x so the caller can
/// detect inputs the extended exponential does not handle.
func extendedSumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> ExtendedSum {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var state = ExtendedSum()
  var hi = T.Vector(repeating: -.infinity), lo = T.Vector(repeating: .infinity)

  @inline(__always)
  func step(_ v: inout T.Vector, _ e: inout T.Vector, _ x: T.Vector) {
    let (p, n) = T.extendedExp(x)
    let newE = vmax(e, n)
    v = fma(p, T.exp2Integral(n - newE), v * T.exp2Integral(e - newE))
    e = newE
  }
  @inline(__always)
  func fold(_ v: T.Vector, _ e: T.Vector) {
    var top = -T.infinity
    for k in 0..<lanes where e[k] > top { top = e[k] }
    if top == -.infinity { return }
    let lanesum = (v * T.exp2Integral(e - T.Vector(repeating: top))).sum()
    state.add(mantissa: Double(lanesum), exponent: Double(top))
  }

  var i = 0
  while i < fullEnd {
    let windowEnd = min(fullEnd, i + windowVectors * lanes)
    var v0 = T.Vector(), e0 = T.Vector(repeating: -.infinity), v1 = v0, e1 = e0
    while i + 2 * lanes <= windowEnd {
      let x0 = load(x + i, lanes, pad: 0), x1 = load(x + i + lanes, lanes, pad: 0)
      hi = vmax(vmax(hi, x0), x1)
      lo = vmin(vmin(lo, x0), x1)
      step(&v0, &e0, x0)
      step(&v1, &e1, x1)
      i += 2 * lanes
    }
    if i < windowEnd {
      let x0 = load(x + i, lanes, pad: 0)
      hi = vmax(hi, x0)
      lo = vmin(lo, x0)
      step(&v0, &e0, x0)
      i += lanes
    }
    fold(v0, e0)
    fold(v1, e1)
  }
  if i < count {
    let valid = count - i
    // Padding with 0 keeps max, min and the NaN test meaningful; the padded lanes' terms are
    // then removed by selecting the untouched accumulator there.
    let x0 = load(x + i, valid, pad: 0)
    var mask = SIMDMask<T.Vector.MaskStorage>()
    for k in 0..<valid { mask[k] = true }
    hi = vmax(hi, x0)
    lo = vmin(lo, x0)
    var v = T.Vector(), e = T.Vector(repeating: -.infinity)
    step(&v, &e, x0)
    v = T.Vector().replacing(with: v, where: mask)
    e = T.Vector(repeating: -.infinity).replacing(with: e, where: mask)
    fold(v, e)
  }
  var top = -T.infinity, bottom = T.infinity
  for k in 0..<lanes {
    if hi[k] > top { top = hi[k] }
    if lo[k] < bottom { bottom = lo[k] }
  }
  state.max = Double(top)
  state.min = Double(bottom)
  return state
}

/// Two-pass, pass 2: `y_i = (p_i s) 2^(n_i - E)` with `s = 1 / mantissa`, `E = exponent` of the
/// normalised sum (XNNPACK `f32-vscaleextexp`). Outputs below 2^-126 (float) become 0.
func extendedScalePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int,
  scale s: T, exponent e: T
) {
  let vs = T.Vector(repeating: s), ve = T.Vector(repeating: e)
  forEachVector(count, T.self) { i, valid in
    let (p, n) = T.extendedExp(load(x + i, valid, pad: 0))
    store((p * vs) * T.exp2Integral(n - ve), y + i, valid)
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
  var state = OnlineSum()
  var i = 0
  while i < count {
    let windowEnd = min(count, i + windowVectors * lanes)
    var m = T.Vector(repeating: -T.greatestFiniteMagnitude), d = T.Vector()
    while i < windowEnd {
      let blockEnd = min(windowEnd, i + onlineBlockVectors * lanes)
      let n = blockEnd - i
      let xb = x + i
      let blockMax = reduceVectors(n, T.self, initial: T.Vector(repeating: -.infinity), { vmax($0, $1) }) {
        j, valid in load(xb + j, valid, pad: -.infinity)
      }
      let newM = vmax(m, blockMax)
      d = d * T.expNonPositive(m - newM)
      d += reduceVectors(n, T.self, initial: T.Vector(), { $0 + $1 }) { j, valid in
        T.expNonPositive(load(xb + j, valid, pad: -.infinity) - newM)
      }
      m = newM
      i = blockEnd
    }
    let top: T = horizontalMax(m)
    let folded = (d * T.expNonPositive(m - T.Vector(repeating: top))).sum()
    state.merge(max: Double(top), sum: Double(folded))
  }
  return state
}

// MARK: - Backward

/// `sum_i g_i y_i`.
func dotPass<T: KernelFloat>(_ g: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> Double {
  windowedSum(count, T.self) { i, valid in
    load(g + i, valid, pad: 0) * load(y + i, valid, pad: 0)
  }
}

/// `(sum_i g_i, max_i z_i)`.
func sumAndMaxPass<T: KernelFloat>(
  _ g: UnsafePointer<T>, _ z: UnsafePointer<T>, _ count: Int
) -> (sum: Double, max: T) {
  var m = T.Vector(repeating: -.infinity)
  let s = windowedSum(count, T.self) { i, valid in
    m = vmax(m, load(z + i, valid, pad: -.infinity))
    return load(g + i, valid, pad: 0)
  }
  return (s, horizontalMax(m))
}

/// Softmax VJP: `dx_i = y_i (g_i - dot)`.
func softmaxBackwardPass<T: KernelFloat>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  dot: T
) {
  let vd = T.Vector(repeating: dot)
  forEachVector(count, T.self) { i, valid in
    store(load(y + i, valid, pad: 0) * (load(g + i, valid, pad: 0) - vd), dx + i, valid)
  }
}

/// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum`.
func logSoftmaxBackwardPass<T: KernelFloat>(
  _ z: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  sum: T
) {
  let vs = T.Vector(repeating: sum)
  forEachVector(count, T.self) { i, valid in
    let e = T.expNonPositive(load(z + i, valid, pad: 0))
    store(fma(-e, vs, load(g + i, valid, pad: 0)), dx + i, valid)
  }
}
