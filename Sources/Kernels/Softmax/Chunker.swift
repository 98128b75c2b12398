// One row of softmax, log-softmax or log-sum-exp, and the vector-Jacobian products, are
// processed as contiguous chunks; with one chunk everything runs on the calling thread, with
// several the chunks of each pass run through the caller's parallel-for and their partial
// states are merged (max; sums in Double; (mantissa, exponent) pairs; (max, sum) pairs), so one
// long row can use every core.

import SoftmaxKernelsCore


/// Splits a row of `count` elements into blocks of `reproducibleBlock` elements and runs them
/// on up to `threads` threads of `parallel` (block `c` on thread `c mod threads`).
struct Chunker {
  let count: Int
  let threads: Int
  let parallel: ParallelFor?

  static func single(_ count: Int) -> Chunker { Chunker(count: count, threads: 1, parallel: nil) }

  var blocks: Int { Swift.max(1, (count + reproducibleBlock - 1) / reproducibleBlock) }

  func range(_ c: Int) -> Range<Int> {
    let lo = c * reproducibleBlock
    return lo..<Swift.min(count, lo + reproducibleBlock)
  }

  /// Runs `body` on every block and merges the results in block order.
  @inline(always)
  func map<R>(_ merge: (inout R, R) -> Void, _ body: (Range<Int>) -> R) -> R {
    let n = blocks
    if n == 1 { return body(0..<count) }
    return withUnsafeTemporaryAllocation(of: R.self, capacity: n) { buffer in
      let base = buffer.baseAddress!
      forEachBlock { c in (base + c).initialize(to: body(range(c))) }
      var result = base.move()
      for c in 1..<n { merge(&result, (base + c).move()) }
      return result
    }
  }

  /// The distance from a block to the next block the same thread runs: the number of threads
  /// the blocks are spread over (1 on the calling thread).
  var blockStride: Int { parallel == nil ? 1 : Swift.max(1, Swift.min(threads, blocks)) }

  @inline(always)
  func run(_ body: (Range<Int>) -> Void) {
    if blocks == 1 { return body(0..<count) }
    forEachBlock { c in body(range(c)) }
  }

  @inline(always)
  private func forEachBlock(_ body: (Int) -> Void) {
    let n = blocks
    let t = Swift.min(threads, n)
    guard t > 1, let parallel else {
      for c in 0..<n { body(c) }
      return
    }
    parallel(t) { i in
      var c = i
      while c < n {
        body(c)
        c += t
      }
    }
  }
}
