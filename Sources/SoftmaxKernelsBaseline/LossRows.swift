// Per-row cross-entropy, spherical Z-loss and StableMax, assembled from RowPasses.swift and
// LossPasses.swift. Formulas: ../shared/SPEC.md §3 (cross-entropy, PyTorch semantics), §4
// (Z-loss), §5 (StableMax). Every row is processed while it is in cache: a max pass and a sum
// pass, the few extra sums the options need, then (for gradients) one write pass.

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

/// `log(sum_j exp(x_j))` of a row, and its max; NaN for a NaN entry, `+inf` with a `+inf` entry,
/// `-inf` for an empty or all `-inf` row (PyTorch's `logsumexp`). When the row's maximum is
/// unique and dominates (sum of the other terms `rest < 1`), `rest` is summed without the
/// maximum so that `lse - max = log1p(rest)` keeps its digits ("Softmax Collapse",
/// ../shared/SPEC.md §3.2, §5.3); `rest` is then returned with the argmax, else `rest` is nil.
struct RowLogSumExp {
  var max: Double
  var lse: Double
  /// `(argmax, sum of exp(x_j - max) over j != argmax)` when computed.
  var rest: (index: Int, sum: Double)?
}

func rowLogSumExp<T: KernelFloat>(_ x: UnsafePointer<T>, _ n: Int) -> RowLogSumExp {
  let m = maxPass(x, n)
  guard m.isFinite else {
    if m == -.infinity {  // all -inf, or -inf and NaN
      for i in 0..<n where x[i].isNaN { return RowLogSumExp(max: .nan, lse: .nan, rest: nil) }
      return RowLogSumExp(max: -.infinity, lse: -.infinity, rest: nil)
    }
    for i in 0..<n where x[i].isNaN { return RowLogSumExp(max: .nan, lse: .nan, rest: nil) }
    return RowLogSumExp(max: .infinity, lse: .infinity, rest: nil)
  }
  let s = sumExpPass(x, n, max: m)
  if s.isNaN { return RowLogSumExp(max: .nan, lse: .nan, rest: nil) }
  let mm = Double(m)
  if s < 2 {
    // The maximum is unique (a tie would make s >= 2): sum the others exactly.
    var k = 0
    while x[k] != m { k += 1 }
    let rest = sumExpPass(x, k, max: m) + sumExpPass(x + k + 1, n - k - 1, max: m)
    return RowLogSumExp(max: mm, lse: mm + log1p(rest), rest: (k, rest))
  }
  return RowLogSumExp(max: mm, lse: mm + log(s), rest: nil)
}

// MARK: - Cross-entropy

func crossEntropyRows<T: KernelFloatLoss>(_ b: _CrossEntropyBatch<T>, _ rows: Range<Int>) -> _LossPartial {
  var partial = _LossPartial()
  let n = b.columns
  let eps = Double(b.labelSmoothing)
  let c = Double(n)
  // W = sum of the class weights (C when unweighted).
  let totalWeight = b.classWeights.map { sumPass($0, n) } ?? c
  // Soft-capping: each row is capped into a scratch row (one per call, i.e. per thread), the
  // loss and gradient are computed from it, and the gradient gets the chain factor at the end.
  let cap = b.softcap
  let scratch: UnsafeMutablePointer<T>? = cap > 0 ? .allocate(capacity: n) : nil
  defer { scratch?.deallocate() }
  for r in rows {
    let rawRow = b.logits + r * b.logitsStride
    if let scratch { softcapPass(rawRow, scratch, n, cap: cap) }
    let x = scratch.map { UnsafePointer($0) } ?? rawRow
    let dx = b.gradient.map { $0 + r * b.gradientStride }
    defer { if let scratch, let dx, cap > 0 { softcapChainPass(scratch, dx, n, cap: cap) } }
    let scale = Double(b.perRowGradientScale?[r] ?? b.gradientScale)
    if let targets = b.targets {
      let y = targets[r]
      let row = rowLogSumExp(x, n)
      b.rowLogSumExp?[r] = T(row.lse)
      if let argmax = b.rowArgmax {
        var k = -1
        if row.max.isFinite { k = row.rest?.index ?? { var i = 0; while Double(x[i]) != row.max { i += 1 }; return i }() }
        argmax[r] = k
      }
      if y == b.ignoreIndex {
        b.rowLoss?[r] = 0
        if let dx { fillPass(dx, n, 0) }
        continue
      }
      let wy = Double(b.classWeights?[y] ?? 1)
      let xy = Double(x[y])
      // -log p_y = lse - x_y; from log1p(rest) when y is the dominant maximum.
      // A +inf logit makes every log-probability inf - inf = NaN (PyTorch), not +inf.
      let nll = row.lse == .infinity ? .nan
        : (row.rest?.index == y) ? log1p(row.rest!.sum) : row.lse - xy
      var loss = (1 - eps) * wy * nll
      if eps > 0 {
        let weightedSum = b.classWeights.map { dotPass($0, x, n) } ?? sumPass(x, n)
        loss += eps / c * (totalWeight * row.lse - weightedSum)
      }
      partial.loss += loss
      partial.zLoss += row.lse * row.lse
      if b.rowArgmax != nil, b.rowArgmax![r] == y { partial.correct += 1 }
      b.rowLoss?[r] = T(loss + Double(b.zLossScale) * row.lse * row.lse)
      guard let dx else { continue }
      guard row.lse.isFinite else {
        fillPass(dx, n, T.nan)
        continue
      }
      // dx_i = s ((1 - eps) w_y (p_i - [i = y]) + (eps / C)(W p_i - w_i)) + zs 2 lambda lse p_i
      let zTerm = 2 * Double(b.zLossScale) * row.lse * Double(b.zLossGradientScale)
      let a = scale * ((1 - eps) * wy + eps / c * totalWeight) + zTerm
      let b2 = scale * eps / c
      crossEntropyGradientPass(
        x, dx, n, lse: T(row.lse), a: T(a), b1: 0, t: nil, b2: T(b2), w: b.classWeights)
      // The target entry without cancellation: p_y - 1 = expm1(x_y - lse).
      let pyMinusOne = (row.rest?.index == y) ? -row.rest!.sum / (1 + row.rest!.sum) : expm1(xy - row.lse)
      let py = pyMinusOne + 1
      let wyGrad = b.classWeights.map { Double($0[y]) } ?? 1
      dx[y] = T(scale * (1 - eps) * wy * pyMinusOne + (scale * eps / c * totalWeight + zTerm) * py
        - b2 * wyGrad)
    } else {
      // Probability targets t: loss = sum_c w_c t'_c (lse - x_c), t' = (1 - eps) t + eps / C.
      let t = b.probabilities! + r * b.probabilitiesStride
      let row = rowLogSumExp(x, n)
      b.rowLogSumExp?[r] = T(row.lse)
      if let argmax = b.rowArgmax {
        var k = -1
        if row.max.isFinite { var i = 0; while Double(x[i]) != row.max { i += 1 }; k = i }
        argmax[r] = k
      }
      let p1 = b.classWeights.map { dotPass($0, t, n) } ?? sumPass(t, n)  // sum w t
      let p2 = b.classWeights.map { tripleDotPass($0, t, x, n) } ?? dotPass(t, x, n)  // sum w t x
      var wt = (1 - eps) * p1
      var wtx = (1 - eps) * p2
      if eps > 0 {
        wt += eps / c * totalWeight
        wtx += eps / c * (b.classWeights.map { dotPass($0, x, n) } ?? sumPass(x, n))
      }
      let loss = row.lse == .infinity ? .nan : row.lse * wt - wtx
      partial.loss += loss
      partial.zLoss += row.lse * row.lse
      b.rowLoss?[r] = T(loss + Double(b.zLossScale) * row.lse * row.lse)
      guard let dx else { continue }
      guard row.lse.isFinite else {
        fillPass(dx, n, T.nan)
        continue
      }
      // dx_i = s (p_i sum_c w_c t'_c - w_i t'_i) + zs 2 lambda lse p_i
      let zTerm = 2 * Double(b.zLossScale) * row.lse * Double(b.zLossGradientScale)
      crossEntropyGradientPass(
        x, dx, n, lse: T(row.lse), a: T(scale * wt + zTerm), b1: T(scale * (1 - eps)), t: t,
        b2: T(scale * eps / c), w: b.classWeights)
    }
  }
  return partial
}

// MARK: - Spherical Z-loss (de Brebisson & Vincent 2016)

/// The Z-loss of one row from its statistics: `z = (o_c - mean) / sigma`,
/// `L = softplus(a (b - z)) / a`, and `g = dL/dz = -logistic(a (b - z))`.
@inline(always)
func zLossValue(z: Double, a: Double, b: Double) -> (loss: Double, dLdz: Double) {
  let u = a * (b - z)
  // softplus(u) = max(u, 0) + log1p(exp(-|u|)); logistic(u) without overflow.
  let softplus = Swift.max(u, 0) + log1p(exp(-Swift.abs(u)))
  let logistic = u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u))
  return (softplus / a, -logistic)
}

func zLossRows<T: KernelFloatLoss>(_ b: _ZLossBatch<T>, _ rows: Range<Int>) -> _LossPartial {
  var partial = _LossPartial()
  let n = b.columns
  let d = Double(n)
  let a = Double(b.a), bb = Double(b.b)
  for r in rows {
    let x = b.logits + r * b.logitsStride
    let c = b.targets[r]
    // Two-pass mean and variance (not sum of squares minus squared mean: cancellation).
    let mean = sumPass(x, n) / d
    let variance = squaredDeviationPass(x, n, mean: T(mean)) / d
    let sigma = (variance + Double(b.varianceEpsilon)).squareRoot()
    let z = (Double(x[c]) - mean) / sigma
    let (loss, g) = zLossValue(z: z, a: a, b: bb)
    partial.loss += loss
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // dL/do_k = (g / sigma)(delta_kc - 1/D - z z_k / D), z_k = (o_k - mean) / sigma
    //         = alpha + beta o_k + gamma delta_kc.
    let s = Double(b.gradientScale)
    let gamma = s * g / sigma
    let beta = -s * g * z / (d * sigma * sigma)
    let alpha = -s * g / (d * sigma) - beta * mean
    affinePass(x, dx, n, alpha: T(alpha), beta: T(beta))
    dx[c] = T(alpha + beta * Double(x[c]) + gamma)
  }
  return partial
}

// MARK: - StableMax (Prieto et al. 2025)

@inline(always)
func stableMaxS(_ x: Double) -> Double { x >= 0 ? x + 1 : 1 / (1 - x) }

func stableMaxRows<T: KernelFloatLoss>(_ b: _StableMaxBatch<T>, _ rows: Range<Int>) -> _LossPartial {
  var partial = _LossPartial()
  let n = b.columns
  for r in rows {
    let x = b.input + r * b.inputStride
    let total = stableMaxSumPass(x, n)
    if let y = b.output.map({ $0 + r * b.outputStride }) {
      if b.logarithm {
        let logTotal = log(total)
        for i in 0..<n { y[i] = T(log(stableMaxS(Double(x[i]))) - logTotal) }
      } else {
        stableMaxScalePass(x, y, n, scale: T(1 / total))
      }
    }
    guard let targets = b.targets else { continue }
    let c = targets[r]
    let sy = stableMaxS(Double(x[c]))
    let loss = log(total) - log(sy)
    partial.loss += loss
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // d/dx_i = s'(x_i) / total - [i = c] s'(x_c) / s(x_c)
    let s = Double(b.gradientScale)
    let xc = Double(x[c])
    stableMaxGradientPass(x, dx, n, scale: T(s / total))
    let derivative = xc >= 0 ? 1 : 1 / ((1 - xc) * (1 - xc))
    dx[c] = T(s * (derivative / total - derivative / sy))
  }
  return partial
}
