// One row of softmax, log-softmax or log-sum-exp, and the vector-Jacobian products, assembled
// from the passes in RowPasses.swift. A row is processed as `chunks` contiguous chunks; with one
// chunk everything runs on the calling thread, with several the chunks of each pass run through
// the caller's parallel-for and their partial states are merged (max; sums in Double;
// (mantissa, exponent) pairs; (max, sum) pairs), so one long row can use every core.
//
// Special values follow PyTorch's CPU results: any non-finite maximum, a NaN that reached a
// sum, or an empty online state sends the row to `specialRow`, which scans it (scalar, rare)
// and writes the exact PyTorch result or the limit/zero result the options ask for.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif


/// Elements per block of a row. Every row longer than this is processed as fixed blocks whose
/// partial states (max; sums; (mantissa, exponent) pairs; (max, sum) pairs) are merged in block
/// order, on one thread or many: the blocks, the accumulation windows inside them (a block is a
/// whole number of windows) and the merge order depend on the row length only, so the results
/// are bitwise the same for every thread count.
let reproducibleBlock = 1 << 16

/// Splits a row of `count` elements into blocks of `reproducibleBlock` elements and runs them
/// on up to `threads` threads of `parallel` (block `c` on thread `c mod threads`).
struct Chunker {
  let count: Int
  let threads: Int
  let parallel: _ParallelFor?

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

// MARK: - Forward

func forwardRow<T: KernelFloat>(_ b: _ForwardBatch<T>, row r: Int, _ chunker: Chunker) {
  let x = b.input + r * b.inputStride
  let y = b.output.map { $0 + r * b.outputStride }
  let n = b.columns
  if n == 0 {
    b.logSumExp?[r] = -.infinity
    return
  }
  // One entry: the three-pass path gives exactly [1] ([0] for log-softmax).
  switch n == 1 ? .threePassRecompute : b.algorithm {
  case .twoPass:
    // Reference: 0, so that x - ref is exact, unless the row's first entry is far from 0; then
    // that entry (x - ref is then exact for the entries within a factor 2 of it, Sterbenz).
    // A NaN or infinite entry is caught by the sum.
    let ref = Swift.abs(x[0]) <= T(T.twoPassUnshiftedLimit) || !x[0].isFinite ? 0 : x[0]
    var s = chunker.map({ $0.merge($1) }) { c in
      extendedSumPass(x + c.lowerBound, c.count, reference: ref)
    }
    // Fall back where the extended exponential is not exact: any non-finite input, or a
    // maximum too far above ref (see `twoPassRange`); and, with ref = x_0 != 0, unless every
    // entry that is not negligible (within `negligibleBelowMax` of the maximum) lies within a
    // factor 2 of ref, where x - ref is exact (Sterbenz). Otherwise x - ref rounds, by up to
    // 1.5e-5 relative for x_0 = -300 and entries near 7 (found by an outside review).
    let d = Double(ref), low = s.max - T.negligibleBelowMax
    let shiftsExact = d == 0 || (d > 0 ? s.max <= 2 * d && low >= d / 2 : s.max <= d / 2 && low >= 2 * d)
    guard !s.invalid, s.mantissa > 0, s.max - d <= T.twoPassRange, shiftsExact else {
      return threePass(b, r, x, y, chunker, reload: true)
    }
    // Normalise the sum to mantissa in [1, 2) so that 1/mantissa is in (0.5, 1].
    let k = s.mantissa.exponent
    s.mantissa = s.mantissa.significand
    s.exponent += Double(k)
    // lse - max = log(mantissa) + exponent ln 2 + (ref - max), without cancelling against max.
    // ln 2 split (fdlibm's ln2HI / ln2LO) so that exponent * ln2Hi is exact.
    var logSum = (s.exponent * 0x1.62E42FEE00000p-1 + (Double(ref) - s.max))
      + s.exponent * 0x1.A39EF35793C76p-33 + log(s.mantissa)
    if b.operation != .softmax && logSum < 0x1.62E42FEFA39EFp-1 {
      // The sum relative to the maximum is below 2 (ln 2 above): see `logSumNearZero`.
      logSum = logSumNearZero(x, chunker, max: T(s.max), sum: 1)
    }
    b.logSumExp?[r] = T(s.max + logSum)
    guard let y else { return }
    switch b.operation {
    case .softmax:
      let scale = T(1 / s.mantissa), e = T(s.exponent)
      chunker.run { c in
        extendedScalePass(
          x + c.lowerBound, y + c.lowerBound, c.count, scale: scale, exponent: e, reference: ref)
      }
    case .logSoftmax:
      finishLogSoftmax(x, y, chunker, max: T(s.max), logSum: logSum)
    case .logSumExp:
      break
    }
  case .online:
    let s = chunker.map({ $0.merge($1) }) { c in onlineSumPass(x + c.lowerBound, c.count) }
    guard s.sum.isFinite, s.sum > 0, s.max.isFinite else {
      return specialRow(b, r, x, y)
    }
    finish(b, r, x, y, chunker, max: T(s.max), sum: s.sum, reloaded: false)
  case .threePassRecompute, .automatic:
    threePass(b, r, x, y, chunker, reload: false)
  case .threePassReload:
    threePass(b, r, x, y, chunker, reload: true)
  }
}

func threePass<T: KernelFloat>(
  _ b: _ForwardBatch<T>, _ r: Int, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>?,
  _ chunker: Chunker, reload: Bool
) {
  let m = chunker.map({ $0 = Swift.max($0, $1) }) { c in maxPass(x + c.lowerBound, c.count) }
  guard m.isFinite else { return specialRow(b, r, x, y) }
  let reloaded = reload && b.operation == .softmax && y != nil
  let sums = chunker.map({ $0.merge($1) }) { c in
    ExpSums(
      sum: reloaded
        ? storeExpPass(x + c.lowerBound, y! + c.lowerBound, c.count, max: m)
        : sumExpPass(x + c.lowerBound, c.count, max: m))
  }
  finish(b, r, x, y, chunker, max: m, sum: sums.sum, reloaded: reloaded)
}

/// Writes the row's results from its maximum `m` (finite) and `sum = sum_i exp(x_i - m)`.
func finish<T: KernelFloat>(
  _ b: _ForwardBatch<T>, _ r: Int, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>?,
  _ chunker: Chunker, max m: T, sum: Double, reloaded: Bool
) {
  if sum.isNaN {  // a NaN input: m is finite, so nothing else makes the sum NaN
    b.logSumExp?[r] = .nan
    if let y { chunker.run { c in fillPass(y + c.lowerBound, c.count, T.nan) } }
    return
  }
  let logSum = b.operation == .softmax ? log(sum) : logSumNearZero(x, chunker, max: m, sum: sum)
  b.logSumExp?[r] = T(Double(m) + logSum)
  guard let y else { return }
  switch b.operation {
  case .softmax:
    let s = T(1 / sum)
    if reloaded {
      chunker.run { c in scalePass(y + c.lowerBound, c.count, by: s) }
    } else {
      chunker.run { c in
        expScalePass(x + c.lowerBound, y + c.lowerBound, c.count, max: m, scale: s)
      }
    }
  case .logSoftmax:
    finishLogSoftmax(x, y, chunker, max: m, logSum: logSum)
  case .logSumExp:
    break
  }
}

/// `log S` for the logarithmic operations, `S = sum_i exp(x_i - m)` = `sum`. When `S < 2`,
/// exactly one entry is maximal (two would contribute 1 + 1) and dominates: the lane that held
/// its 1 absorbed the small terms added after it, and `log(S)` keeps none of their digits. One
/// more pass then sums the entries below the maximum apart (`rest`, see `ExpSums`) and
/// returns `log1p(rest)`, so log-probabilities near 0 keep their relative accuracy. Rows with
/// `S >= 2` (the common case) pay nothing.
func logSumNearZero<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ chunker: Chunker, max m: T, sum: Double
) -> Double {
  guard sum < 2 else { return log(sum) }
  return chunker.map({ $0.merge($1) }) { c in sumExpSplitPass(x + c.lowerBound, c.count, max: m) }
    .logSum
}

func finishLogSoftmax<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ chunker: Chunker, max m: T,
  logSum: Double
) {
  let l = T(logSum)
  chunker.run { c in
    logSoftmaxPass(x + c.lowerBound, y + c.lowerBound, c.count, max: m, logSum: l)
  }
}

/// A row whose maximum is not finite, or that holds a NaN: scans it and writes the result the
/// options ask for. Runs on the calling thread.
func specialRow<T: KernelFloat>(
  _ b: _ForwardBatch<T>, _ r: Int, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>?
) {
  let n = b.columns
  var hasNaN = false
  var positiveInfinities = 0
  var infinityIndex = 0
  var allNegativeInfinity = true
  for i in 0..<n {
    let v = x[i]
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
  b.logSumExp?[r] = lse
  guard let y else { return }
  let isLog = b.operation == .logSoftmax
  if !hasNaN && positiveInfinities == 1 && b.positiveInfinityIsLimit {
    fillPass(y, n, isLog ? -T.infinity : 0)
    y[infinityIndex] = isLog ? 0 : 1
  } else if !hasNaN && positiveInfinities == 0 && allNegativeInfinity && b.fullyMaskedRowIsZero {
    fillPass(y, n, isLog ? -T.infinity : 0)
  } else {
    // NaN input, +inf without limit semantics, several +inf, or an unmasked all -inf row
    // (0/0). A row that reaches here with none of these would be a kernel bug; NaN marks it.
    fillPass(y, n, T.nan)
  }
}

// MARK: - Backward

func backwardRow<T: KernelFloat>(_ b: _BackwardBatch<T>, row r: Int, _ chunker: Chunker) {
  let y = b.output + r * b.outputStride
  let g = b.gradient + r * b.gradientStride
  let dx = b.inputGradient + r * b.inputGradientStride
  switch b.operation {
  case .softmax:
    let dot = T(chunker.map({ $0 += $1 }) { c in dotPass(g + c.lowerBound, y + c.lowerBound, c.count) })
    chunker.run { c in
      softmaxBackwardPass(y + c.lowerBound, g + c.lowerBound, dx + c.lowerBound, c.count, dot: dot)
    }
  case .logSoftmax:
    let (sum, top) = chunker.map({ $0 = ($0.sum + $1.sum, Swift.max($0.max, $1.max)) }) { c in
      sumAndMaxPass(g + c.lowerBound, y + c.lowerBound, c.count)
    }
    if b.fullyMaskedRowIsZero && top == -.infinity && b.columns > 0
      && !(0..<b.columns).contains(where: { y[$0].isNaN })
    {
      // A fully masked row under the zero policy: the forward output did not depend on x.
      chunker.run { c in fillPass(dx + c.lowerBound, c.count, 0) }
      return
    }
    let s = T(sum)
    chunker.run { c in
      logSoftmaxBackwardPass(y + c.lowerBound, g + c.lowerBound, dx + c.lowerBound, c.count, sum: s)
    }
  }
}
