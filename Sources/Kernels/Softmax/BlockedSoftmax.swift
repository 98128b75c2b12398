// Softmax of a row longer than one block (three-pass algorithms): each block normalised by its
// own maximum while it is still in the level-2 cache, then rescaled in the last pass.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The three-pass algorithms' softmax of a row of more than one block (`reproducibleBlock`
/// entries, `Chunker`).
///
/// Block `c` is read twice in a row, the second time from the level-2 cache: its maximum
/// `m_c`, then its exponentials `e_i = exp(x_i - m_c)` and their sum `s_c` (the exponentials
/// kept in `stored` when given: a scratch row, or the output when it is in the arithmetic
/// type and is not the input); meanwhile the block this thread computes next (or the first block of its next row,
/// `next`) is prefetched when the batch asks for it (`ForwardBatch.prefetchNextBlock`). Then
/// `M = max_c m_c`, `S = sum_c s_c e^(m_c - M)` (Double, compensated, in block order), and the
/// last pass writes `y_i = e_i RN(e^(m_c - M) / S)` block by block, `e_i` reloaded from
/// `stored` or recomputed (then prefetching the block this thread writes next, with
/// `prefetchNextBlock`: `expScalePrefetchPass`). Taking the row's maximum first instead reads a row longer than the
/// level-2 cache twice from beyond it (measured in <doc:Algorithms>).
///
/// Results: the same for every thread count (the blocks, their order and each block's
/// arithmetic depend on the row length only) and for every way of getting `e_i` (reloaded or
/// recomputed: the same function of `x_i - m_c`). A row of one block is not computed here: its
/// `m_c` is `M`, and `threePass` gives what this would.
///
/// Accuracy: the argument `x_i - m_c` rounds by at most half an ulp of `x_i - M` (`m_c <= M`
/// and `x_i <= m_c`, so `|x_i - m_c| <= |x_i - M|`); `e^(m_c - M)` is taken without rounding
/// `m_c - M` (`expOfDifference`; a Double row's `m_c - M` would round by up to another half ulp
/// of `x_i - M`: 5.7e-14 relative 700 below the maximum, found by an outside review), and
/// `e^(m_c - M) / S` is rounded once from Double, as `1 / S` is for one block. So the bound of
/// one block holds: relative error against the exact softmax within half an ulp of `x_i - M`
/// plus the bound of the Accuracy article. Outputs below the smallest normal number
/// (blocks more than ~87 (Float) / ~708 (Double) below the maximum) come out subnormal or 0.
///
/// Special values: a block whose maximum is `-inf` (all its entries `-inf`, or `-inf` and NaN:
/// the maximum ignores NaN) takes its exponentials relative to 0 (0 for `-inf`, NaN for NaN)
/// and has scale 0; a NaN reaches `S` and the row is NaN, as in `finish`; a non-finite `M` (a
/// `+inf` or an all `-inf` / NaN row) goes to `specialRow`.
///
/// Complexity: O(columns) time; two reads of each block from the cache and one from memory,
/// one write of the output; `2 x blocks` values of temporary stack memory.
func blockedSoftmax<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ r: Int, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>,
  _ chunker: Chunker, stored: UnsafeMutablePointer<X.Arithmetic>?, prefetching next: UnsafePointer<X>?
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  // The special rows are only known once every block has been read. In place, exponentials
  // stored in the output would have overwritten the input `specialRow` then scans (a `+inf`
  // becomes NaN, a `-inf` 0: found by an outside review), so such a row recomputes them:
  // bitwise the same results.
  let stored = stored.flatMap { Int(bitPattern: $0) == Int(bitPattern: x) ? nil : $0 }
  let blocks = chunker.blocks
  withUnsafeTemporaryAllocation(of: T.self, capacity: blocks) { maxima in
    withUnsafeTemporaryAllocation(of: Double.self, capacity: blocks) { sums in
      let maxima = maxima.baseAddress!, sums = sums.baseAddress!
      // The block this thread computes after block c: c + stride, else its next row's first.
      let stride = chunker.blockStride
      chunker.run { c in
        let k = c.lowerBound / reproducibleBlock
        let xc = x + c.lowerBound
        let m: T = maxPass(xc, c.count)
        let reference = m == -.infinity ? 0 : m
        (maxima + k).initialize(to: m)
        let following = c.lowerBound + stride * reproducibleBlock
        let nc: UnsafePointer<X>? =
          !b.prefetchNextBlock ? nil
          : following + c.count <= b.columns ? x + following
          : k + stride >= blocks ? next : nil
        let sc = stored.map { $0 + c.lowerBound }
        let s: Double =
          switch (sc, nc) {
          case (let sc?, let nc?): storeExpPrefetchPass(xc, sc, c.count, max: reference, prefetching: nc)
          case (let sc?, nil): storeExpPass(xc, sc, c.count, max: reference)
          case (nil, let nc?): sumExpPrefetchPass(xc, c.count, max: reference, prefetching: nc)
          case (nil, nil): sumExpPass(xc, c.count, max: reference)
          }
        (sums + k).initialize(to: s)
      }
      var top = -T.infinity
      for k in 0..<blocks { top = Swift.max(top, maxima[k]) }
      guard top.isFinite else { return specialRow(b, r, x, y) }
      let m = Double(top)
      var total = CompensatedSum()
      for k in 0..<blocks where sums[k] != 0 { total.add(sums[k] * expOfDifference(Double(maxima[k]), m)) }
      let sum = total.value
      // A NaN input: nothing else makes a sum NaN here.
      if sum.isNaN { return nanRow(b, r, y, chunker) }
      b.logSumExp?[r] = Y.narrowed(T(m + log(sum)))
      softmaxLastPass(b, x, y, chunker, stored: stored, prefetchingBlocks: b.prefetchNextBlock) { c in
        let k = c.lowerBound / reproducibleBlock
        let scale = T(expOfDifference(Double(maxima[k]), m) / sum)
        return (scale: scale, reference: maxima[k] == -.infinity ? 0 : maxima[k])
      }
    }
  }
}

/// `e^(a - b)` without the rounding of `a - b` (`b` finite): the difference is split into `d + δ` exactly
/// (Knuth's two-sum) and `e^(d + δ) = e^d (1 + δ)` to within `δ^2 / 2`. `δ` is at most half an
/// ulp of `d`: 0 when `a` and `b` are Float maxima (their difference is exact in Double), up to
/// 5.7e-14 for Double maxima 700 apart, which would otherwise be a relative error of every
/// output of that block beyond the rounding of `x_i - max` (found by an outside review,
/// 2026-12-01).
@inline(__always)
func expOfDifference(_ a: Double, _ b: Double) -> Double {
  let d = a - b
  guard d.isFinite else { return exp(d) }  // a block of -inf entries: factor 0
  let a1 = d + b  // the a that d gives back
  let b1 = a1 - d  // the b that d gives back
  let delta = (a - a1) + (b1 - b)
  let e = exp(d)
  return e + e * delta
}
