// The blocked online normaliser (Milakov & Gimelshein 2018): a running (max, sum) per row.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Vectors per block of the blocked online normaliser (256 floats / 128 doubles).
let onlineBlockVectors = 16

/// Vectors per window of the online normaliser: 8 blocks (2048 floats / 1024 doubles). The
/// lane holding the maximum then takes at most 15 roundings in `T` before the window goes to
/// Double: 7 in its block accumulator (8 terms), 1 adding the block's two accumulators, 7
/// adding the window's later blocks to its state. (With 16 blocks a Float row built for it came
/// within 6% of the 2e-6 log-sum-exp bound.)
let onlineWindowVectors = 8 * onlineBlockVectors

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
/// `onlineWindowVectors` vectors is folded into a Double `OnlineSum`.
func onlineSumPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int
) -> OnlineSum where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var state = OnlineSum()
  var i = 0
  while i < fullEnd {
    let end = min(fullEnd, i + onlineWindowVectors * lanes)
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
        s0 += T.expShifted(load(x + j), minus: newM)
        s1 += T.expShifted(load(x + j + lanes), minus: newM)
        j += 2 * lanes
      }
      if j < blockEnd { s0 += T.expShifted(load(x + j), minus: newM) }
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

/// Adds the lanes `(m, d)` of a window to `state`. The rescaled lanes are added in Double with
/// compensation: summed in `T` one after the other, the lane holding the maximum absorbed up to
/// 15 more roundings (a Float row built for it, 38 roundings in all, was 2.27e-6 off; an
/// outside review, 2026-12-01).
@inline(never)
func foldOnline<T: KernelFloat>(_: T.Type, _ state: inout OnlineSum, _ m: T.Vector, _ d: T.Vector) {
  let top: T = horizontalMax(m)
  let scaled = d * T.expNonPositive(m - T.Vector(repeating: top))
  var folded = CompensatedSum()
  for k in 0..<T.Vector.scalarCount { folded.add(Double(scaled[k])) }
  state.merge(max: Double(top), sum: folded.value)
}
