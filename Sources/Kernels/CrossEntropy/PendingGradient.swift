// A cross-entropy gradient row written during the next row's exponential pass.

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

/// The gradient pass of one cross-entropy row, `dx_i = a e_i - u_i`
/// (`crossEntropyGradientPass`), and the two entries written after it (the dominant entry of
/// a row with probability targets, then the target's entry), ready to run.
///
/// Why: with streaming stores the gradient pass is bound by the stores (a 128 KiB row of Float
/// written at the machine's streaming-store rate) and the next row's exponential pass by
/// arithmetic, and one after the other they overlap nothing. `crossEntropyRows` therefore runs
/// this row's pass inside the next row's exponential pass (`rowLogSumExpWritingGradient`): one
/// vector of the gradient per vector of exponentials, then `finish` writes the vectors that
/// pass did not (the elements before the first aligned vector of `dx`, and the tail).
///
/// Measured (softmax-bench W6, 8192 x 32768, loss + gradient, x86-64-v4, medians of 5, two
/// rounds interleaved with the build before; Intel Xeon family 6 model 207, 2 vCPUs,
/// 2026-12-01), Gelem/s at 1 / 2 threads, before -> after: Float 1.38 / 2.65 -> 1.70 / 2.87 and
/// 1.41 / 2.75 -> 1.62 / 3.12; BFloat16 1.77 / 3.49 -> 1.90 / 3.59 and 2.01 / 3.43 -> 2.10 /
/// 3.26; Float16 1.84 / 3.14 -> 1.96 / 2.89 and 1.84 / 3.53 -> 2.10 / 3.76 (the 16-bit
/// gradients are half the bytes: their pass weighed less).
///
/// Results: every entry is the same function of the same values as in the pass run on its own
/// (the pass is elementwise), and the fixed entries are computed before either, so the
/// gradient is bitwise the same pipelined or not, for every thread count.
struct PendingGradient<G: KernelStorage> {
  typealias T = G.Arithmetic
  /// The row's exponentials `e_i = exp(x_i - m)`; `count` entries.
  let e: UnsafePointer<T>
  let dx: UnsafeMutablePointer<G>
  let count: Int
  let a: T, b1: T, t: UnsafePointer<T>?, b2: T, w: UnsafePointer<T>?
  /// Streaming stores (required to run the pass inside the next row's: its vectors are written
  /// with them).
  let streaming: Bool
  /// Entries written after the pass, dominant first.
  var dominant: (index: Int, value: G)? = nil
  var target: (index: Int, value: G)? = nil

  /// The first element of `dx` on a boundary aligned to a vector (what a streaming store
  /// needs), as `forEachVectorStreaming` finds it (`streamingHead`).
  private var head: Int { streamingHead(count, to: dx, lanes: T.Vector.scalarCount) }

  /// The elements from `head` on that the companion writes: the full vectors of
  /// `head..<count` (all visited by the next row's pass, whose full vectors cover
  /// `count - count % lanes >= count - head` rounded down elements).
  private var companionCount: Int {
    let lanes = T.Vector.scalarCount
    return (count - head) / lanes * lanes
  }

  /// `rowLogSumExp(x, count, storing: nextExps)` of the next row `x` (`count` entries), writing
  /// this row's gradient vectors `head + j` during its exponential pass and prefetching
  /// `next` (the row after it, or `x` itself) as that pass otherwise does. Then `finish`
  /// (`companionRan: summed`) completes this row.
  func rowLogSumExpWritingGradient<X: KernelStorage>(
    _ x: UnsafePointer<X>, storing nextExps: UnsafeMutablePointer<T>, prefetching next: UnsafePointer<X>
  ) -> RowLogSumExp where X.Arithmetic == T {
    precondition(streaming)
    let head = head, limit = companionCount
    func run<U: TargetTerm<T>>(_ kind: U.Type) -> RowLogSumExp {
      rowLogSumExp(x, count) { m in
        storeExpGradientPass(
          x, nextExps, count, max: m, prefetching: next, gradient: e, dx, a: a, t: t, w: w, b1: b1, b2: b2,
          head: head, limit: limit, kind)
      }
    }
    switch (t, w) {
    case (nil, nil): return run(ConstantTarget<T>.self)
    case (nil, _?): return run(WeightedTarget<T>.self)
    case (_?, nil): return run(AffineTarget<T>.self)
    case (_?, _?): return run(WeightedAffineTarget<T>.self)
    }
  }

  /// Writes what is left of the row: every vector when `companionRan` is false (the next row's
  /// exponential pass did not run, or there is no next row), else those before `head` and
  /// after the companion's (and a store fence for the companion's streaming stores); then the
  /// fixed entries.
  func finish(companionRan: Bool) {
    if companionRan {
      let head = head, end = head + companionCount
      pass(0..<head)
      pass(end..<count)
      softmaxkernels_store_fence()
    } else {
      pass(0..<count)
    }
    if let (k, value) = dominant { dx[k] = value }
    if let (k, value) = target { dx[k] = value }
  }

  /// The gradient pass over `range` (the same entries as the whole row's pass gives there).
  private func pass(_ range: Range<Int>) {
    guard !range.isEmpty else { return }
    let lo = range.lowerBound, t = t.map { $0 + lo }, w = w.map { $0 + lo }
    if streaming {
      crossEntropyGradientStreamPass(e + lo, dx + lo, range.count, a: a, b1: b1, t: t, b2: b2, w: w)
    } else {
      crossEntropyGradientPass(e + lo, dx + lo, range.count, a: a, b1: b1, t: t, b2: b2, w: w)
    }
  }
}

/// What the next row's exponential pass does per full vector at element offset `j`: the
/// prefetch it does anyway, and the gradient vector of the pending row at `head + j` (a
/// streaming store; `j < limit`).
struct GradientCompanion<B: ElementwiseBody, P: LinePrefetch>: LinePrefetch {
  let body: B, prefetch: P, head: Int, limit: Int

  @inline(always)
  func line(_ j: Int) {
    prefetch.line(j)
    if j < limit {
      var body = body
      body.step(StreamSlot<B.T>(index: head &+ j))
    }
  }
}

/// `storeExpPass` of the row `x` (`exp(x_i - m)` into `y`, their sum returned; the same loop,
/// so the same sum) that also prefetches the row `next` and, once per full vector of
/// exponentials at element offset `j < limit`, writes the pending row's gradient vector
/// `dx_k = a e_k - u_k`, `k = head + j`, with a streaming store (`PendingGradient`). The term
/// `u` of kind `U` is built here from scalars, so that its constants stay in registers: a
/// companion built by the caller and passed by reference had its fields loaded again for
/// every vector (the loop's stores may alias it; 6 loads per vector in the disassembly).
func storeExpGradientPass<X: KernelStorage, G: KernelStorage, U: TargetTerm<X.Arithmetic>>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<X.Arithmetic>, _ count: Int, max m: X.Arithmetic,
  prefetching next: UnsafePointer<X>, gradient e: UnsafePointer<X.Arithmetic>, _ dx: UnsafeMutablePointer<G>,
  a: X.Arithmetic, t: UnsafePointer<X.Arithmetic>?, w: UnsafePointer<X.Arithmetic>?, b1: X.Arithmetic,
  b2: X.Arithmetic, head: Int, limit: Int, _: U.Type
) -> Double where G.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let body = CrossEntropyGradient(e: e, dx: dx, va: T.Vector(repeating: a), u: U(t: t, w: w, b1: b1, b2: b2))
  let companion = GradientCompanion(body: body, prefetch: NextRowPrefetch(next: next), head: head, limit: limit)
  return expSums(x, y, count, max: m, split: false, companion).sum
}
