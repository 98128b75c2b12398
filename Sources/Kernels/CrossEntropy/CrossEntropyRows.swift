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
  let scratch: UnsafeMutablePointer<T>? = cap > 0 ? .allocate(capacity: n) : nil
  let gradientScratch: UnsafeMutablePointer<T>? =
    cap > 0 && b.gradient != nil && !X.isArithmetic ? .allocate(capacity: n) : nil
  defer {
    scratch?.deallocate()
    gradientScratch?.deallocate()
  }
  for r in rows {
    let rawRow = b.logits + r * b.logitsStride
    let dx = b.gradient.map { $0 + r * b.gradientStride }
    let next = b.prefetchNextRow && r + 1 < rows.upperBound ? rawRow + b.logitsStride : nil
    guard let scratch else {
      crossEntropyRow(b, r, x: rawRow, dx: dx, prefetching: next, totalWeight: totalWeight, &partial)
      continue
    }
    softcapPass(rawRow, scratch, n, cap: cap)
    if let dx, let gradientScratch {
      crossEntropyRow(b, r, x: UnsafePointer(scratch), dx: gradientScratch, prefetching: next, totalWeight: totalWeight, &partial)
      softcapChainPass(scratch, gradient: gradientScratch, into: dx, n, cap: cap)
    } else {
      crossEntropyRow(b, r, x: UnsafePointer(scratch), dx: dx, prefetching: next, totalWeight: totalWeight, &partial)
      if let dx { softcapChainPass(scratch, dx, n, cap: cap) }
    }
  }
  return partial
}

/// Row `r` of `b` from its logits `x` (the stored row, or its soft-capped copy in `T`), writing
/// its gradient to `dx` (the gradient row, or a scratch row in `T`) and its sums to `partial`.
@inline(__always)
private func crossEntropyRow<X: KernelStorage, T: KernelFloatLog, S: KernelStorage, G: KernelStorage>(
  _ b: CrossEntropyBatch<X, T>, _ r: Int, x: UnsafePointer<S>, dx: UnsafeMutablePointer<G>?,
  prefetching next: UnsafePointer<X>?, totalWeight: Double, _ partial: inout LossPartial
) where X.Arithmetic == T, S.Arithmetic == T, G.Arithmetic == T {
  let n = b.columns
  let eps = Double(b.labelSmoothing)
  let c = Double(n)
  let scale = Double(b.perRowGradientScale?[r] ?? b.gradientScale)
  // The z-loss is part of each row's loss, so a per-row upstream gradient scales it too.
  let zScale = b.perRowGradientScale.map { Double($0[r]) } ?? Double(b.zLossGradientScale)
  // The next row is prefetched element for element, so only when `x` is the stored row's type.
  let row = S.self == X.self ? rowLogSumExp(x, n, prefetching: next.map { UnsafeRawPointer($0).assumingMemoryBound(to: S.self) }) : rowLogSumExp(x, n)
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
      return
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
    loss = row.lse == .infinity ? .nan : row.logSum * wt + wtGaps
    // dx_i = s (p_i sum_c w_c t'_c - w_i t'_i) + zs 2 lambda lse p_i
    weightSum = wt
    probabilities = t
  }
  partial.lossSum.add(loss)
  partial.zLossSum.add(row.lse * row.lse)
  b.rowLoss?[r] = T(loss + Double(b.zLossScale) * row.lse * row.lse)
  guard let dx else { return }
  guard row.lse.isFinite else {
    fillPass(dx, n, T.nan)
    return
  }
  // dx_i = (s A + zTerm) p_i - (b1 t_i + b2) w_i, b1 = s (1 - eps) with probabilities (else
  // 0), b2 = s eps / C.
  let zTerm = 2 * Double(b.zLossScale) * row.lse * zScale
  let b2 = scale * eps / c
  let (logSum, factor) = roundedLogSum(row.logSum, T.self)
  let (a, b1) = (T((scale * weightSum + zTerm) * factor), T(probabilities == nil ? 0 : scale * (1 - eps)))
  if b.streamingStores {
    crossEntropyGradientStreamPass(x, dx, n, max: m, logSum: logSum, a: a, b1: b1, t: probabilities, b2: T(b2), w: b.classWeights)
  } else {
    crossEntropyGradientPass(x, dx, n, max: m, logSum: logSum, a: a, b1: b1, t: probabilities, b2: T(b2), w: b.classWeights)
  }
  guard let (y, wy, nll) = target else { return }
  // The target entry without cancellation: p_y - 1 = expm1(-nll), and p_y = exp(-nll) (not
  // (p_y - 1) + 1, which loses p_y's digits when it is small and the z-loss term large).
  let dominant = row.rest?.index == y
  let pyMinusOne = dominant ? -row.rest!.sum / (1 + row.rest!.sum) : expm1(-nll)
  let py = dominant ? 1 / (1 + row.rest!.sum) : exp(-nll)
  let wyGrad = b.classWeights.map { Double($0[y]) } ?? 1
  dx[y] = G.narrowed(T(scale * (1 - eps) * wy * pyMinusOne + (scale * eps / c * totalWeight + zTerm) * py
    - b2 * wyGrad))
}
