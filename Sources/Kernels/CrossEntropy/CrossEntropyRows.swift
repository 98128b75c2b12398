// Cross-entropy rows with PyTorch's options, forward and gradient.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Cross-entropy

func crossEntropyRows<X: KernelStorage, T: KernelFloatLog>(
  _ b: CrossEntropyBatch<X, T>, _ rows: Range<Int>
) -> LossPartial where X.Arithmetic == T {
  var partial = LossPartial()
  let n = b.columns
  // W = sum of the class weights (C when unweighted).
  let totalWeight = b.classWeights.map { sumPass($0, n) } ?? Double(n)
  // Soft-capping: each row is capped into a scratch row (one per call, i.e. per thread), the
  // loss and gradient are computed from it, and the gradient gets the chain factor at the end.
  // A 16-bit gradient is computed in a second scratch row and written once, chain factor
  // included (writing it and scaling it in place would round it twice).
  let cap = b.softcap
  let scratch: UnsafeMutablePointer<T>? = scratchRow(n, if: cap > 0)
  let gradientScratch: UnsafeMutablePointer<T>? = scratchRow(n, if: cap > 0 && b.gradient != nil && !X.isArithmetic)
  // With a gradient, the chain factors 1 - tanh(x_i / c)^2 are computed from the stored logits
  // with the capped ones (the capped value alone loses them where tanh is near +-1).
  let chain: UnsafeMutablePointer<T>? = scratchRow(n, if: cap > 0 && b.gradient != nil)
  // With a gradient, the sum pass keeps the exponentials `exp(x_i - m)` in a third scratch row
  // and the gradient pass scales them: one exponential per entry instead of
  // two. Measured on AMD EPYC Zen 4 (2026-12-01), loss + gradient of 1 GiB of Float logits,
  // GB/s at 1 / 2 threads, x86-64-v3: 4096 columns 12.1 / 23.2 -> 15.2 / 29.0, 32768 columns
  // 13.1 / 25.3 -> 16.0 / 27.9, 262144 columns 11.7 / 17.1 -> 14.6 / 23.2; x86-64-v4 level or
  // better up to 262144 columns (memory-bound at 2 threads), up to 10% slower at 2^20 columns
  // (4 MiB rows; noise of the same order): kept for every length, so that the gradient's
  // rounding never depends on the row's length or the machine.
  //
  // With streaming stores and rows that fit the level-2 cache (`prefetchNextRow`), each row's
  // gradient pass runs inside the next row's exponential pass (`PendingGradient`), so the
  // exponentials alternate between two scratch rows. Measured on W6 (8192 x 32768, loss +
  // gradient, x86-64-v4): see `PendingGradient`.
  let pipelined = b.gradient != nil && b.streamingStores && b.prefetchNextRow && cap <= 0
  let exps: UnsafeMutablePointer<T>? = scratchRow(pipelined ? 2 * n : n, if: b.gradient != nil)
  var pending: PendingGradient<X>? = nil
  defer {
    scratch?.deallocate()
    gradientScratch?.deallocate()
    chain?.deallocate()
    exps?.deallocate()
  }
  for r in rows {
    let rawRow = b.logits + r * b.logitsStride
    let dx = b.gradient.map { $0 + r * b.gradientStride }
    // The next row of the batch, also past this group: the caller runs a thread's groups in
    // row order (`ExecutionPlan.mapRowGroups`), so it is this thread's next row but at the end
    // of its last group (one wasted prefetch per thread and call).
    let next = b.prefetchNextRow && r + 1 < b.rows ? rawRow + b.logitsStride : nil
    guard let scratch else {
      let rowExps = pipelined && r & 1 == 1 ? exps.map { $0 + n } : exps
      pending = crossEntropyRow(
        b, r, x: rawRow, dx: dx, prefetching: next, exps: rowExps, totalWeight: totalWeight, &partial,
        after: pending, deferring: pipelined)
      continue
    }
    guard let dx, let chain else {
      softcapPass(rawRow, scratch, n, cap: cap)
      crossEntropyRow(b, r, x: UnsafePointer(scratch), dx: nil as UnsafeMutablePointer<X>?, prefetching: next, exps: exps, totalWeight: totalWeight, &partial)
      continue
    }
    softcapWithChainPass(rawRow, scratch, chain: chain, n, cap: cap)
    if let gradientScratch {
      crossEntropyRow(b, r, x: UnsafePointer(scratch), dx: gradientScratch, prefetching: next, exps: exps, totalWeight: totalWeight, &partial)
      softcapChainPass(chain: chain, gradient: gradientScratch, into: dx, n)
    } else {
      crossEntropyRow(b, r, x: UnsafePointer(scratch), dx: dx, prefetching: next, exps: exps, totalWeight: totalWeight, &partial)
      softcapChainPass(chain: chain, gradient: UnsafePointer(dx), into: dx, n)
    }
  }
  pending?.finish(companionRan: false)
  return partial
}

/// Row `r` of `b` from its logits `x` (the stored row, or its soft-capped copy in `T`), writing
/// its gradient to `dx` (the gradient row, or a scratch row in `T`) and its sums to `partial`.
/// `exps` (`n` entries, given with `dx`): the sum pass keeps `exp(x_i - m)` there and the
/// gradient pass scales them. `previous`: the pending gradient of the row before, written
/// during this row's exponential pass (`PendingGradient`; `exps` then is not its scratch row).
/// `deferring`: this row's gradient pass is returned instead of run (the fixed entries computed).
@inline(__always) @discardableResult
private func crossEntropyRow<X: KernelStorage, T: KernelFloatLog, S: KernelStorage, G: KernelStorage>(
  _ b: CrossEntropyBatch<X, T>, _ r: Int, x: UnsafePointer<S>, dx: UnsafeMutablePointer<G>?,
  prefetching next: UnsafePointer<X>?, exps: UnsafeMutablePointer<T>?, totalWeight: Double,
  _ partial: inout LossPartial, after previous: PendingGradient<G>? = nil, deferring: Bool = false
) -> PendingGradient<G>? where X.Arithmetic == T, S.Arithmetic == T, G.Arithmetic == T {
  let n = b.columns
  let eps = Double(b.labelSmoothing)
  let c = Double(n)
  let scale = Double(b.perRowGradientScale?[r] ?? b.gradientScale)
  // The z-loss is part of each row's loss, so a per-row upstream gradient scales it too.
  let zScale = b.perRowGradientScale.map { Double($0[r]) } ?? Double(b.zLossGradientScale)
  // The next row is prefetched element for element, so only when `x` is the stored row's type.
  let nextRow = S.self == X.self ? next.map { UnsafeRawPointer($0).assumingMemoryBound(to: S.self) } : nil
  let row: RowLogSumExp
  if let previous {
    row = previous.rowLogSumExpWritingGradient(x, storing: exps!, prefetching: nextRow ?? x)
    previous.finish(companionRan: row.summed)
  } else {
    row = rowLogSumExp(x, n, prefetching: nextRow, storing: exps)
  }
  b.rowLogSumExp?[r] = T(row.lse)
  if let argmax = b.rowArgmax {
    var k = -1
    if row.max.isFinite { k = row.rest?.index ?? { var i = 0; while Double(S.widened(x[i])) != row.max { i += 1 }; return i }() }
    argmax[r] = k
  }
  let m = T(row.max)
  // The row's loss, `A = sum_c w_c t'_c` (the weight of p_i in the gradient), and what is
  // particular to the target's kind: the probabilities t of the gradient's term
  // `b1 t_i w_i`, or the class y whose entry is finished after the gradient pass.
  let loss: Double, weightSum: Double
  var probabilities: UnsafePointer<T>? = nil
  var target: (y: Int, wy: Double, nll: Double)? = nil
  if let targets = b.targets {
    let y = targets[r]
    if y == b.ignoreIndex {
      b.rowLoss?[r] = 0
      if let dx { fillPass(dx, n, 0) }
      return nil
    }
    let wy = Double(b.classWeights?[y] ?? 1)
    let xy = Double(S.widened(x[y]))
    // -log p_y = (m - x_y) + logSum: log1p(rest) alone when y is the dominant maximum. NaN for
    // a +inf logit (every log-probability is inf - inf, PyTorch) and an all -inf row.
    let nll = row.lse == .infinity ? .nan : (row.max - xy) + row.logSum
    var classLoss = (1 - eps) * wy * nll
    if eps > 0 {
      // sum_i w_i (lse - x_i) = W logSum + sum_i w_i (m - x_i), without cancellation.
      let gaps = b.classWeights.map { gapDotPass($0, x, n, from: m) } ?? gapSumPass(x, n, from: m)
      classLoss += eps / c * (totalWeight * row.logSum + gaps)
    }
    loss = classLoss
    // dx_i = s ((1 - eps) w_y (p_i - [i = y]) + (eps / C)(W p_i - w_i)) + zs 2 lambda lse p_i
    weightSum = (1 - eps) * wy + eps / c * totalWeight
    target = (y, wy, nll)
    if b.rowArgmax != nil, b.rowArgmax![r] == y { partial.correct += 1 }
  } else {
    // Probability targets t: loss = sum_c w_c t'_c (lse - x_c), t' = (1 - eps) t + eps / C.
    let t = b.probabilities! + r * b.probabilitiesStride
    // sum_c w_c t'_c (lse - x_c) = logSum sum_c w_c t'_c + sum_c w_c t'_c (m - x_c): the gaps
    // m - x_c are exact for close values, so rows far from 0 do not cancel.
    let p1 = b.classWeights.map { dotPass($0, t, n) } ?? sumPass(t, n)  // sum w t
    let p2 = b.classWeights.map { gapTripleDotPass($0, t, x, n, from: m) } ?? gapDotPass(t, x, n, from: m)
    var wt = (1 - eps) * p1
    var wtGaps = (1 - eps) * p2
    if eps > 0 {
      wt += eps / c * totalWeight
      wtGaps += eps / c * (b.classWeights.map { gapDotPass($0, x, n, from: m) } ?? gapSumPass(x, n, from: m))
    }
    var rowLoss = row.lse == .infinity ? .nan : row.logSum * wt + wtGaps
    if rowLoss.isNaN && row.lse.isFinite {
      // Only from 0 x inf in a split sum: a -inf logit whose t_c is 0 (or a NaN target). The
      // terms as PyTorch forms them, w_c t'_c (lse - x_c): +inf where w_c t'_c > 0, NaN where it
      // is 0 (with smoothing, t'_c >= eps / C > 0: the row's loss is +inf, as for class
      // targets; an outside review found NaN here). Rare: a scalar loop.
      var terms = 0.0
      for i in 0..<n {
        let ti = (1 - eps) * Double(t[i]) + eps / c, wi = Double(b.classWeights?[i] ?? 1)
        terms += wi * ti * ((row.max - Double(S.widened(x[i]))) + row.logSum)
      }
      rowLoss = terms
    }
    loss = rowLoss
    // dx_i = s (p_i sum_c w_c t'_c - w_i t'_i) + zs 2 lambda lse p_i
    weightSum = wt
    probabilities = t
  }
  partial.lossSum.add(loss)
  partial.zLossSum.add(row.lse * row.lse)
  b.rowLoss?[r] = T(loss + Double(b.zLossScale) * row.lse * row.lse)
  guard let dx else { return nil }
  guard row.lse.isFinite else {
    fillPass(dx, n, T.nan)
    return nil
  }
  // dx_i = (s A + zTerm) p_i - (b1 t_i + b2) w_i, b1 = s (1 - eps) with probabilities (else
  // 0), b2 = s eps / C.
  let zTerm = 2 * Double(b.zLossScale) * row.lse * zScale
  let b2 = scale * eps / c
  let b1 = T(probabilities == nil ? 0 : scale * (1 - eps))
  // p_i = e_i / S: 1 / S goes into the scale, rounded once with it.
  let a = T((scale * weightSum + zTerm) / row.sum)
  var job = PendingGradient(
    e: exps!,  // given with every gradient (crossEntropyRows)
    dx: dx, count: n, a: a, b1: b1, t: probabilities, b2: T(b2), w: b.classWeights, streaming: b.streamingStores)
  // The fixed entries below are computed from the row's sums only (never from `dx`, which may
  // be the logits), so they can be computed before the pass and written after it.
  if let t = probabilities, let (k, rest) = row.rest {
    // The dominant entry k of a row with probability targets: A p_k - u_k cancels when the
    // target puts (nearly) all its mass on k (a one-hot soft label at the argmax: both terms
    // are ~w_k, the difference ~w_k rest). Written as -A rest / (1 + rest) + (A - u_k), with
    // A - u_k = s sum_{c != k} w_c t'_c + zTerm summed without entry k, neither part cancels
    // (before: an absolute error of ~1 ulp of w_k, 2e-12 relative in Double at rest = 4.5e-5).
    func others(_ f: (Int, Int) -> Double) -> Double { f(0, k) + f(k + 1, n - k - 1) }
    let wt = b.classWeights.map { w in others { dotPass(w + $0, t + $0, $1) } } ?? others { sumPass(t + $0, $1) }
    var rowOthers = (1 - eps) * wt
    if eps > 0 { rowOthers += eps / c * (b.classWeights.map { w in others { sumPass(w + $0, $1) } } ?? c - 1) }
    job.dominant = (k, G.narrowed(T(-(scale * weightSum + zTerm) * (rest / (1 + rest)) + (scale * rowOthers + zTerm))))
  }
  if let (y, wy, nll) = target {
    // The target entry without cancellation: p_y - 1 = expm1(-nll), and p_y = exp(-nll) (not
    // (p_y - 1) + 1, which loses p_y's digits when it is small and the z-loss term large).
    let dominant = row.rest?.index == y
    let pyMinusOne = dominant ? -row.rest!.sum / (1 + row.rest!.sum) : expm1(-nll)
    let py = dominant ? 1 / (1 + row.rest!.sum) : exp(-nll)
    let wyGrad = b.classWeights.map { Double($0[y]) } ?? 1
    job.target = (y, G.narrowed(T(scale * (1 - eps) * wy * pyMinusOne + (scale * eps / c * totalWeight + zTerm) * py
      - b2 * wyGrad)))
  }
  if deferring { return job }
  job.finish(companionRan: false)
  return nil
}
