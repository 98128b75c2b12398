// Prefetches, reductions of vectors, and the accumulation window (loads and stores:
// KernelStorage.swift).
//
// Every pass is one streaming loop of 64-byte vectors, unrolled by two with two accumulators;
// the last partial vector goes through the same code, padded with the reduction's neutral element.
//
// Accuracy of sums: lanes accumulate in the row's own precision only within a window of
// `windowVectors` vectors (4096 floats); each window's total is added in Double. A 2^28-element
// float row then sums with a relative error near 1e-7 instead of the ~1e-2 of one float
// accumulator per lane (measured on 2^28 Float entries).
//
// The loop skeleton (full vectors, windows, the padded partial vector) is written once, in the
// drivers of StreamingDrivers.swift, run on small struct bodies (not closures: closures passed
// to generic helpers were seen not to be inlined into the loop). The exponential sums
// (ExpSums.swift, TwoPassSum.swift, OnlineSum.swift) and a few passes of their own shape keep
// their loops written out.

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

/// Vectors per accumulation window (4096 floats / 2048 doubles).
let windowVectors = 256

/// What a pass prefetches per vector at element offset `j` of its row: nothing, or the line at
/// the same offset of the next row (`ForwardBatch.prefetchNextRow`). A type, not an optional
/// pointer, so that each pass compiles to one loop with or without the prefetch.
protocol LinePrefetch {
  func line(_ j: Int)
}

struct NoPrefetch: LinePrefetch {
  @inline(always)
  func line(_ j: Int) {}
}

struct NextRowPrefetch<T>: LinePrefetch {
  let next: UnsafePointer<T>

  /// Asks for the cache line holding `next + j` in the level-2 cache, without waiting (a hint:
  /// it never faults and never changes a value).
  @inline(always)
  func line(_ j: Int) { softmaxkernels_prefetch_l2(next + j) }
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
