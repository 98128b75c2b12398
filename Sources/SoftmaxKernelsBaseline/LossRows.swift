// Per-row cross-entropy, spherical Z-loss and StableMax, assembled from RowPasses.swift and
// LossPasses.swift. Formulas: the public doc comments of CrossEntropy (PyTorch semantics),
// SphericalZLoss and StableMax. Every row is processed while it is in cache: a max pass and a sum
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

/// `log(sum_j exp(x_j))` of a row, carried as its maximum `m` (a `T` value) and
/// `logSum = log sum_j exp(x_j - m)` (in `[0, log C]`, Double), never as one rounded `lse`:
/// every log-probability is then `(x_i - m) - logSum` and every loss term `(m - x_c) + logSum`,
/// where `x_i - m` is exact for close values (Sterbenz), so the losses are as accurate for rows
/// at `1e4 + U[-8, 8)` as at `U[-8, 8)` (before: `lse` rounded to Float has an ulp of
/// 1e-3 at 1e4). `lse = m + logSum` is NaN for a NaN entry, `+inf` with a `+inf` entry, `-inf`
/// for an empty or all `-inf` row (PyTorch's `logsumexp`); `logSum` is NaN for those rows. When
/// the row's maximum is unique and dominates (sum of the other terms `rest < 1`), `rest` is
/// summed without the maximum so that `logSum = log1p(rest)` keeps its digits ("Softmax
/// Collapse", Prieto et al. 2025); `rest` is then returned with the argmax, else nil.
struct RowLogSumExp {
  var max: Double
  var logSum: Double
  var lse: Double
  /// `(argmax, sum of exp(x_j - max) over j != argmax)` when computed.
  var rest: (index: Int, sum: Double)?
}

func rowLogSumExp<T: KernelFloat>(_ x: UnsafePointer<T>, _ n: Int) -> RowLogSumExp {
  let m = maxPass(x, n)
  guard m.isFinite else {
    if m == -.infinity {  // all -inf, or -inf and NaN
      for i in 0..<n where x[i].isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil) }
      return RowLogSumExp(max: -.infinity, logSum: .nan, lse: -.infinity, rest: nil)
    }
    for i in 0..<n where x[i].isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil) }
    return RowLogSumExp(max: .infinity, logSum: .nan, lse: .infinity, rest: nil)
  }
  let s = sumExpPass(x, n, max: m)
  if s.isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil) }
  let mm = Double(m)
  if s < 2 {
    // The maximum is unique (a tie would make s >= 2): sum the others exactly.
    var k = 0
    while x[k] != m { k += 1 }
    let rest = sumExpPass(x, k, max: m) + sumExpPass(x + k + 1, n - k - 1, max: m)
    let logSum = log1p(rest)
    return RowLogSumExp(max: mm, logSum: logSum, lse: mm + logSum, rest: (k, rest))
  }
  let logSum = log(s)
  return RowLogSumExp(max: mm, logSum: logSum, lse: mm + logSum, rest: nil)
}

/// The gradient pass's `(logSum rounded to T, factor)`: `exp(u - T(logSum)) * factor =
/// exp(u - logSum)`, so the rounding of `logSum` to `T` (up to 2.4e-7 relative in `p_i` for
/// Float at 1000 classes) costs nothing: the factor goes into the pass's scale `a`.
@inline(always)
func roundedLogSum<T: KernelFloat>(_ logSum: Double, _: T.Type) -> (T, Double) {
  let rounded = T(logSum)
  return (rounded, exp(Double(rounded) - logSum))
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
      let m = T(row.max)
      // -log p_y = (m - x_y) + logSum: log1p(rest) alone when y is the dominant maximum. NaN for
      // a +inf logit (every log-probability is inf - inf, PyTorch) and an all -inf row.
      let nll = row.lse == .infinity ? .nan : (row.max - xy) + row.logSum
      var loss = (1 - eps) * wy * nll
      if eps > 0 {
        // sum_i w_i (lse - x_i) = W logSum + sum_i w_i (m - x_i), without cancellation.
        let gaps = b.classWeights.map { gapDotPass($0, x, n, from: m) } ?? gapSumPass(x, n, from: m)
        loss += eps / c * (totalWeight * row.logSum + gaps)
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
      let (logSum, factor) = roundedLogSum(row.logSum, T.self)
      crossEntropyGradientPass(
        x, dx, n, max: m, logSum: logSum, a: T(a * factor), b1: 0, t: nil, b2: T(b2), w: b.classWeights)
      // The target entry without cancellation: p_y - 1 = expm1(-nll), and p_y = exp(-nll) (not
      // (p_y - 1) + 1, which loses p_y's digits when it is small and the z-loss term large).
      let dominant = row.rest?.index == y
      let pyMinusOne = dominant ? -row.rest!.sum / (1 + row.rest!.sum) : expm1(-nll)
      let py = dominant ? 1 / (1 + row.rest!.sum) : exp(-nll)
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
      // sum_c w_c t'_c (lse - x_c) = logSum sum_c w_c t'_c + sum_c w_c t'_c (m - x_c): the gaps
      // m - x_c are exact for close values, so rows far from 0 do not cancel.
      let m = T(row.max)
      let p1 = b.classWeights.map { dotPass($0, t, n) } ?? sumPass(t, n)  // sum w t
      let p2 = b.classWeights.map { gapTripleDotPass($0, t, x, n, from: m) } ?? gapDotPass(t, x, n, from: m)
      var wt = (1 - eps) * p1
      var wtGaps = (1 - eps) * p2
      if eps > 0 {
        wt += eps / c * totalWeight
        wtGaps += eps / c * (b.classWeights.map { gapDotPass($0, x, n, from: m) } ?? gapSumPass(x, n, from: m))
      }
      let loss = row.lse == .infinity ? .nan : row.logSum * wt + wtGaps
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
      let (logSum, factor) = roundedLogSum(row.logSum, T.self)
      crossEntropyGradientPass(
        x, dx, n, max: m, logSum: logSum, a: T((scale * wt + zTerm) * factor),
        b1: T(scale * (1 - eps)), t: t, b2: T(scale * eps / c), w: b.classWeights)
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
    // Two-pass mean and variance (not sum of squares minus squared mean: cancellation), the
    // mean as `center + delta` (`center` in T, `delta` small, Double) from the gaps to the first
    // entry, so that a row far from 0 (1e4 + U[-8, 8) in Float, 1e12 + ... in Double) keeps
    // every digit of `o_k - mean = (o_k - center) - delta` (the loss is shift-invariant).
    let first = x[0]
    let meanGap = -gapSumPass(x, n, from: first) / d  // mean - first
    let center = T(Double(first) + meanGap)
    let delta = (Double(first) - Double(center)) + meanGap  // mean - center
    // sum (o - center)^2 / D = variance + delta^2 exactly (the cross term sums to 0).
    let variance = Swift.max(squaredDeviationPass(x, n, mean: center) / d - delta * delta, 0)
    let sigma = (variance + Double(b.varianceEpsilon)).squareRoot()
    let z = ((Double(x[c]) - Double(center)) - delta) / sigma
    let (loss, g) = zLossValue(z: z, a: a, b: bb)
    partial.loss += loss
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // dL/do_k = (g / sigma)(delta_kc - 1/D - z z_k / D), z_k = (o_k - mean) / sigma
    //         = alpha + beta (o_k - center) + gamma delta_kc.
    let s = Double(b.gradientScale)
    let gamma = s * g / sigma
    let beta = -s * g * z / (d * sigma * sigma)
    let alpha = -s * g / (d * sigma) - beta * delta
    affinePass(x, dx, n, center: center, alpha: T(alpha), beta: T(beta))
    dx[c] = T(alpha + beta * (Double(x[c]) - Double(center)) + gamma)
  }
  return partial
}

// MARK: - StableMax (Prieto et al. 2025)

/// `s(x)` in `T` arithmetic: bitwise the value `KernelFloatLoss.stableMaxS` gives in a vector
/// lane (the same IEEE operations), so a row's `s(x_y)` and its share of `sum_j s(x_j)` agree.
@inline(always)
func stableMaxS<T: KernelFloat>(_ x: T) -> T { x >= 0 ? x + 1 : 1 / (1 - x) }

func stableMaxRows<T: KernelFloatLoss>(_ b: _StableMaxBatch<T>, _ rows: Range<Int>) -> _LossPartial {
  var partial = _LossPartial()
  let n = b.columns
  for r in rows {
    let x = b.input + r * b.inputStride
    let total = stableMaxSumPass(x, n)
    if let y = b.output.map({ $0 + r * b.outputStride }) {
      if b.logarithm {
        let logTotal = log(total)
        for i in 0..<n { y[i] = T(log(Double(stableMaxS(x[i]))) - logTotal) }
      } else {
        stableMaxScalePass(x, y, n, scale: T(1 / total))
      }
    }
    guard let targets = b.targets else { continue }
    let c = targets[r]
    // -log(s_y / total) = log1p(rest / s_y), rest = total - s_y >= 0 (the sum holds s_y as
    // computed here, bitwise): exactly 0 when the other entries contribute 0 (one class, or
    // -inf elsewhere; before: s_y in Double against a Float sum gave 1.5e-10).
    let sy = Double(stableMaxS(x[c]))
    let rest = total - sy
    let loss = log1p(rest / sy)
    partial.loss += loss
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // d/dx_i = s'(x_i) / total - [i = c] s'(x_c) / s(x_c)
    let s = Double(b.gradientScale)
    let xc = Double(x[c])
    stableMaxGradientPass(x, dx, n, scale: T(s / total))
    let derivative = xc >= 0 ? 1 : 1 / ((1 - xc) * (1 - xc))
    // s'(x_y) (1 / total - 1 / s_y) = -s'(x_y) rest / (total s_y): no cancellation as p_y -> 1.
    dx[c] = T(-s * derivative * rest / (total * sy))
  }
  return partial
}
