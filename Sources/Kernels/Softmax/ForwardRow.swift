// One forward row of the softmax family, by algorithm.
//
// Special values follow PyTorch's CPU results: any non-finite maximum, a NaN that reached a
// sum, or an empty online state sends the row to `specialRow`, which scans it (scalar, rare)
// and writes the exact PyTorch result or the limit/zero result the options ask for.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Forward

/// Row `r` of `b`. `next`, when given, is the row this thread computes next: the three-pass
/// algorithms prefetch it during their exponential pass (`ForwardBatch.prefetchNextRow`).
/// `scratch`, when given, holds `b.columns` elements of this thread's own: three-pass reload
/// keeps its exponentials there instead of in the output (`ForwardBatch.reloadsFromScratch`).
/// Rows stored as `X` are computed in `X.Arithmetic` and written as `Y`, each output rounded
/// once.
func forwardRow<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, row r: Int, _ chunker: Chunker, prefetching next: UnsafePointer<X>? = nil,
  scratch: UnsafeMutablePointer<X.Arithmetic>? = nil
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x = b.input + r * b.inputStride
  let y = b.output.map { $0 + r * b.outputStride }
  let n = b.columns
  if n == 0 {
    b.logSumExp?[r] = Y.narrowed(-.infinity)
    return
  }
  // One entry: the three-pass path gives exactly [1] ([0] for log-softmax).
  switch n == 1 ? .threePassRecompute : b.algorithm {
  case .twoPass:
    // Reference: 0, so that x - ref is exact, unless the row's first entry is far from 0; then
    // that entry (x - ref is then exact for the entries within a factor 2 of it, Sterbenz).
    // A NaN or infinite entry is caught by the sum.
    let first = X.widened(x[0])
    let ref = Swift.abs(first) <= T(T.twoPassUnshiftedLimit) || !first.isFinite ? 0 : first
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
    b.logSumExp?[r] = Y.narrowed(T(s.max + logSum))
    guard let y else { return }
    switch b.operation {
    case .softmax:
      let scale = T(1 / s.mantissa), e = T(s.exponent)
      chunker.run { c in
        extendedScalePass(
          x + c.lowerBound, y + c.lowerBound, c.count, scale: scale, exponent: e, reference: ref,
          streaming: b.streamingStores)
      }
    case .logSoftmax:
      finishLogSoftmax(x, y, chunker, max: T(s.max), logSum: logSum, streaming: b.streamingStores)
    case .logSumExp:
      break
    }
  case .online:
    let s = chunker.map({ $0.merge($1) }) { c in onlineSumPass(x + c.lowerBound, c.count) }
    guard s.sum.isFinite, s.sum > 0, s.max.isFinite else {
      return specialRow(b, r, x, y)
    }
    finish(b, r, x, y, chunker, max: T(s.max), sum: s.sum, stored: nil)
  case .threePassRecompute:
    threePass(b, r, x, y, chunker, reload: false, prefetching: next)
  case .threePassReload:
    threePass(b, r, x, y, chunker, reload: true, prefetching: next, scratch: scratch)
  }
}

/// The three-pass algorithms; softmax rows of more than one block go to `blockedSoftmax`, whose
/// results every way below shares too. `next`: the thread's next row, prefetched during the
/// exponential pass when the batch asks for it (`prefetchNextRow`; `prefetchNextBlock` for
/// `blockedSoftmax`). `reload` stores the exponentials and scales them in the last
/// pass: in `scratch` when given (the last pass then writes the output once, rounded once to
/// `Y`, with streaming stores when the batch asks for them), otherwise in the output itself,
/// only where it is stored in the arithmetic type (a 16-bit output would round them twice);
/// else the exponentials are recomputed. Every way gives bitwise the same results: the
/// exponential is the same function of `x_i - m` in each.
func threePass<X: KernelStorage, Y: KernelStorage>(
  _ b: ForwardBatch<X, Y>, _ r: Int, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>?,
  _ chunker: Chunker, reload: Bool, prefetching next: UnsafePointer<X>? = nil,
  scratch: UnsafeMutablePointer<X.Arithmetic>? = nil
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  // Where the exponentials are kept, if anywhere.
  var stored: UnsafeMutablePointer<T>? = nil
  if reload && b.operation == .softmax, let y {
    stored = scratch ?? (Y.isArithmetic ? UnsafeMutableRawPointer(y).assumingMemoryBound(to: T.self) : nil)
  }
  if b.operation == .softmax && chunker.blocks > 1, let y {
    return blockedSoftmax(b, r, x, y, chunker, stored: stored, prefetching: next)
  }
  let next = b.prefetchNextRow ? next : nil
  let m: T = chunker.map({ $0 = Swift.max($0, $1) }) { c in maxPass(x + c.lowerBound, c.count) }
  guard m.isFinite else { return specialRow(b, r, x, y) }
  let sums = chunker.map({ $0.merge($1) }) { c in
    let (xc, sc) = (x + c.lowerBound, stored.map { $0 + c.lowerBound })
    let nc = next.map { $0 + c.lowerBound }
    return switch (sc, nc) {
    case (let sc?, let nc?): ExpSums(sum: storeExpPrefetchPass(xc, sc, c.count, max: m, prefetching: nc))
    case (let sc?, nil): ExpSums(sum: storeExpPass(xc, sc, c.count, max: m))
    case (nil, let nc?): ExpSums(sum: sumExpPrefetchPass(xc, c.count, max: m, prefetching: nc))
    case (nil, nil): ExpSums(sum: sumExpPass(xc, c.count, max: m))
    }
  }
  finish(b, r, x, y, chunker, max: m, sum: sums.sum, stored: stored)
}

