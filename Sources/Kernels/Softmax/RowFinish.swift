// The last pass of a forward row, the log-sum near zero, and the special-value rows.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the row's results from its maximum `m` (finite) and `sum = sum_i exp(x_i - m)`.
/// `stored`, when given, holds the row's exponentials (softmax, three-pass reload): the output
/// itself or a scratch row.
func finish<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ r: Int, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>?,
  _ chunker: Chunker, max m: X.Arithmetic, sum: Double, stored: UnsafeMutablePointer<X.Arithmetic>?
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  // A NaN input: m is finite, so nothing else makes the sum NaN.
  if sum.isNaN { return nanRow(b, r, y, chunker) }
  let logSum = b.operation == .softmax ? log(sum) : logSumNearZero(x, chunker, max: m, sum: sum)
  b.logSumExp?[r] = Y.narrowed(T(Double(m) + logSum))
  guard let y else { return }
  switch b.operation {
  case .softmax:
    let s = T(1 / sum)
    softmaxLastPass(b, x, y, chunker, stored: stored) { _ in (scale: s, reference: m) }
  case .logSoftmax:
    finishLogSoftmax(x, y, chunker, max: m, logSum: logSum, streaming: b.streamingStores)
  case .logSumExp:
    break
  }
}

/// A row holding a NaN (its sum is NaN): NaN log-sum-exp and outputs.
func nanRow<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ r: Int, _ y: UnsafeMutablePointer<Y>?, _ chunker: Chunker
) where Y.Arithmetic == X.Arithmetic {
  b.logSumExp?[r] = Y.narrowed(.nan)
  if let y { chunker.run { c in fillPass(y + c.lowerBound, c.count, X.Arithmetic.nan) } }
}

/// The last pass of a softmax row, chunk by chunk: `y_i = e_i * scale`, with `e_i` reloaded
/// from `stored` (scaled in place when `stored` is the output) or recomputed as
/// `exp(x_i - reference)`; `factors` gives each chunk's `scale` and `reference` (one pair for
/// the whole row in `finish`, one per block in `blockedSoftmax`). `prefetchingBlocks`: a
/// recomputing pass prefetches the block this thread writes next (`expScalePrefetchPass`; the
/// blocks of a row longer than one block, read from beyond the cache).
func softmaxLastPass<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ chunker: Chunker,
  stored: UnsafeMutablePointer<X.Arithmetic>?, prefetchingBlocks: Bool = false,
  factors: (Range<Int>) -> (scale: X.Arithmetic, reference: X.Arithmetic)
) where Y.Arithmetic == X.Arithmetic {
  let inPlace = stored.map { Int(bitPattern: $0) == Int(bitPattern: y) } ?? false
  let stride = chunker.blockStride * reproducibleBlock
  chunker.run { c in
    let (scale, reference) = factors(c)
    let (lo, n) = (c.lowerBound, c.count)
    if let e = stored {
      if inPlace {  // the output holds the exponentials in the arithmetic type
        scalePass(e + lo, n, by: scale, streaming: b.streamingStores)
      } else {
        scaleCopyPass(e + lo, y + lo, n, by: scale, streaming: b.streamingStores)
      }
    } else if prefetchingBlocks && lo + stride < b.columns {
      expScalePrefetchPass(
        x + lo, y + lo, n, max: reference, scale: scale, streaming: b.streamingStores,
        prefetching: x + lo + stride)
    } else {
      expScalePass(x + lo, y + lo, n, max: reference, scale: scale, streaming: b.streamingStores)
    }
  }
}

/// `log S` for the logarithmic operations, `S = sum_i exp(x_i - m)` = `sum`. When `S < 2`,
/// exactly one entry is maximal (two would contribute 1 + 1) and dominates: the lane that held
/// its 1 absorbed the small terms added after it, and `log(S)` keeps none of their digits. One
/// more pass then sums the entries below the maximum apart (`rest`, see `ExpSums`) and
/// returns `log1p(rest)`, so log-probabilities near 0 keep their relative accuracy. Rows with
/// `S >= 2` (the common case) pay nothing.
func logSumNearZero<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ chunker: Chunker, max m: T, sum: Double
) -> Double where X.Arithmetic == T {
  guard sum < 2 else { return log(sum) }
  return chunker.map({ $0.merge($1) }) { c in sumExpSplitPass(x + c.lowerBound, c.count, max: m) }
    .logSum
}

func finishLogSoftmax<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ chunker: Chunker, max m: T,
  logSum: Double, streaming: Bool
) where X.Arithmetic == T, Y.Arithmetic == T {
  let l = T(logSum)
  chunker.run { c in
    logSoftmaxPass(x + c.lowerBound, y + c.lowerBound, c.count, max: m, logSum: l, streaming: streaming)
  }
}

/// A row whose maximum is not finite, or that holds a NaN: scans it and writes the result the
/// options ask for. Runs on the calling thread.
func specialRow<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ r: Int, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>?
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let n = b.columns
  var hasNaN = false
  var positiveInfinities = 0
  var infinityIndex = 0
  var allNegativeInfinity = true
  for i in 0..<n {
    let v = X.widened(x[i])
    if v.isNaN {
      hasNaN = true
      break
    }
    if v == .infinity {
      positiveInfinities += 1
      infinityIndex = i
    }
    if v != -.infinity { allNegativeInfinity = false }
  }
  let lse: T = hasNaN ? .nan : positiveInfinities > 0 ? .infinity : allNegativeInfinity ? -.infinity : .nan
  b.logSumExp?[r] = Y.narrowed(lse)
  guard let y else { return }
  let isLog = b.operation == .logSoftmax
  if !hasNaN && positiveInfinities == 1 && b.positiveInfinityIsLimit {
    fillPass(y, n, isLog ? -T.infinity : 0)
    y[infinityIndex] = Y.narrowed(isLog ? 0 : 1)
  } else if !hasNaN && positiveInfinities == 0 && allNegativeInfinity && b.fullyMaskedRowIsZero {
    fillPass(y, n, isLog ? -T.infinity : 0)
  } else {
    // NaN input, +inf without limit semantics, several +inf, or an unmasked all -inf row
    // (0/0). A row that reaches here with none of these would be a kernel bug; NaN marks it.
    fillPass(y, n, T.nan)
  }
}
