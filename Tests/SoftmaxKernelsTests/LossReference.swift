// A wide-precision reference for the losses (cross-entropy with every option, StableMax
// cross-entropy, spherical Z-loss) that does not cancel: every log-probability is formed as
// `(m - x_c) + log1p(rest)` from the row's maximum `m` (exact for the shifted and dominant rows
// the tests use) and `rest`, the sum of the other entries' `exp(x_i - m)`. Computed in Float80
// where Swift has it (x86-64 Linux and macOS), so that it can judge Double results; elsewhere in
// Double (good enough for Float). Formulas: CrossEntropy.swift, StableMaxCrossEntropy.swift and
// SphericalZLoss.swift doc comments (../shared/SPEC.md §3-5), written from the mathematics, not
// from the library.

import Foundation
import SoftmaxKernels

#if arch(x86_64) && !os(Windows) && !os(Android)
/// The reference's working type: 64-bit significand (11 bits beyond Double).
typealias Wide = Float80
#else
typealias Wide = Double
#endif

/// One row of logits in wide precision with its softmax statistics.
struct WideRow {
  /// The logits (soft-capped when the row was built with a cap).
  let x: [Wide]
  /// `1 - tanh^2(x / c)` per entry: the soft-capping chain factor (1 without a cap).
  let chain: [Wide]
  /// The row's maximum.
  let m: Wide
  /// `sum_{i != k} exp(x_i - m)` over every entry but the first maximal one, `k`.
  let rest: Wide
  /// `log sum_i exp(x_i - m) = log1p(rest)`.
  let logSum: Wide
  var lse: Wide { m + logSum }

  init(_ raw: [Double], softcap: Double? = nil) {
    if let c = softcap {
      let wc = Wide(c)
      let t = raw.map { tanh(Wide($0) / wc) }
      x = t.map { wc * $0 }
      // 1 - tanh^2 = 4 q / (1 + q)^2, q = e^(-2|u|): 1 - t^2 cancels in Float80 too far out.
      chain = raw.map { v in
        let q = exp(-2 * abs(Wide(v) / wc))
        return 4 * q / ((1 + q) * (1 + q))
      }
    } else {
      x = raw.map { Wide($0) }
      chain = [Wide](repeating: 1, count: raw.count)
    }
    let m = x.max()!
    let k = x.firstIndex(of: m)!
    var rest: Wide = 0
    for i in x.indices where i != k { rest += exp(x[i] - m) }
    self.m = m
    self.rest = rest
    logSum = log1p(rest)
  }

  /// `-log p_c`, without cancellation.
  func nll(_ c: Int) -> Wide { (m - x[c]) + logSum }
  /// `p_i`.
  func p(_ i: Int) -> Wide { exp((x[i] - m) - logSum) }
}

/// The cross-entropy options a reference evaluates (mirrors `CrossEntropyOptions`).
struct CrossEntropyCase: CustomStringConvertible {
  var reduction: LossReduction
  var weights: [Double]?
  var eps: Double
  var zLoss: Double
  var ignoreIndex: Int
  var softcap: Double?
  var description: String {
    "\(reduction) w=\(weights != nil) eps=\(eps) z=\(zLoss) ignore=\(ignoreIndex) cap=\(softcap.map { "\($0)" } ?? "-")"
  }
  var options: CrossEntropyOptions {
    CrossEntropyOptions(
      reduction: reduction, ignoreIndex: ignoreIndex, labelSmoothing: eps, zLossScale: zLoss,
      softcap: softcap)
  }
}

/// The wide reference of `CrossEntropy` for one batch: reduced loss, per-row losses (z-loss
/// included), and the gradient of `outputGradient = 1` times the reduced loss, row by row.
struct CrossEntropyWideReference {
  let rows: [WideRow]
  let c: CrossEntropyCase
  /// Integer targets, or nil for probability targets `t` (row-major).
  let targets: [Int]?
  let t: [Double]?
  let loss: Double
  let rowLosses: [Double]
  /// Scales of the gradient: `s` for the cross-entropy part, `zs` for the z-loss.
  let s: Wide, zs: Wide

  init(rows: [WideRow], _ c: CrossEntropyCase, targets: [Int]?, probabilities t: [Double]?) {
    self.rows = rows
    self.c = c
    self.targets = targets
    self.t = t
    let n = rows.first?.x.count ?? 0
    let w = (c.weights ?? [Double](repeating: 1, count: n)).map { Wide($0) }
    let eps = Wide(c.eps), lambda = Wide(c.zLoss)
    var rowLosses = [Double](repeating: 0, count: rows.count)
    var total: Wide = 0, zTotal: Wide = 0, denominator: Wide = 0, valid = 0
    for (r, row) in rows.enumerated() {
      var l: Wide
      if let targets {
        let y = targets[r]
        if y == c.ignoreIndex { continue }
        l = (1 - eps) * w[y] * row.nll(y)
        denominator += w[y]
        if eps > 0 {
          var smooth: Wide = 0
          for k in 0..<n { smooth += w[k] * row.nll(k) }
          l += eps / Wide(n) * smooth
        }
      } else {
        l = 0
        for k in 0..<n {
          let tk = (1 - eps) * Wide(t![r * n + k]) + eps / Wide(n)
          l += w[k] * tk * row.nll(k)
        }
        denominator += 1
      }
      valid += 1
      total += l
      zTotal += row.lse * row.lse
      rowLosses[r] = Double(l + lambda * row.lse * row.lse)
    }
    self.rowLosses = rowLosses
    switch c.reduction {
    case .mean:
      loss = Double(total / denominator + (lambda > 0 ? lambda * zTotal / Wide(valid) : 0))
      (s, zs) = (1 / denominator, 1 / Wide(valid))
    case .sum, .none:
      loss = Double(total + lambda * zTotal)
      (s, zs) = (1, 1)
    }
  }

  /// The scale of row `r`'s gradient terms, `G = |s| max(1, A, max_c w_c) + |zs 2 lambda lse|`
  /// with `A = sum_c w_c t'_c`: every term `s A p_i`, `s w_i t'_i`, z-loss `p_i` is at most
  /// `G`, so the rounding of a few of them is at most a few ulps of `G` (the absolute part of
  /// the documented gradient bound, `LossBounds.crossEntropyGradient`).
  func gradientScale(row r: Int) -> Double {
    let row = rows[r]
    let n = row.x.count
    let w = (c.weights ?? [Double](repeating: 1, count: n)).map { Wide($0) }
    let eps = Wide(c.eps), cn = Wide(n)
    var a: Wide = 0
    if let targets {
      let y = targets[r]
      if y == c.ignoreIndex { return 1 }
      a = (1 - eps) * w[y] + eps / cn * w.reduce(0, +)
    } else {
      for k in 0..<n { a += w[k] * ((1 - eps) * Wide(t![r * n + k]) + eps / cn) }
    }
    let z = row.lse.isFinite ? abs(zs * 2 * Wide(c.zLoss) * row.lse) : 0
    return Double(abs(s) * max(1, a, w.max() ?? 1) + z)
  }

  /// The gradient of row `r`.
  func gradient(row r: Int) -> [Double] {
    let row = rows[r]
    let n = row.x.count
    let w = (c.weights ?? [Double](repeating: 1, count: n)).map { Wide($0) }
    let eps = Wide(c.eps), lambda = Wide(c.zLoss), cn = Wide(n)
    let totalW = w.reduce(0, +)
    var g = [Double](repeating: 0, count: n)
    if let targets {
      let y = targets[r]
      if y == c.ignoreIndex { return g }
      for i in 0..<n {
        let p = row.p(i)
        // p_y - 1 = expm1(-nll_y) without cancellation.
        let ce = (1 - eps) * w[y] * (i == y ? expm1(-row.nll(y)) : p) + eps / cn * (totalW * p - w[i])
        g[i] = Double((s * ce + zs * 2 * lambda * row.lse * p) * row.chain[i])
      }
    } else {
      var wt: Wide = 0
      for k in 0..<n { wt += w[k] * ((1 - eps) * Wide(t![r * n + k]) + eps / cn) }
      for i in 0..<n {
        let p = row.p(i)
        let ti = (1 - eps) * Wide(t![r * n + i]) + eps / cn
        var ce = p * wt - w[i] * ti
        if p > 0.5 {
          // The dominant entry: p wt - w_i t'_i = -wt sum_{j != i} p_j + sum_{k != i} w_k t'_k,
          // without the 1 - p_i that cancels in Float80 (2^-64 absolute) when the others are tiny.
          var others: Wide = 0, otherP: Wide = 0
          for k in 0..<n where k != i {
            others += w[k] * ((1 - eps) * Wide(t![r * n + k]) + eps / cn)
            otherP += row.p(k)
          }
          ce = -wt * otherP + others
        }
        g[i] = Double((s * ce + zs * 2 * lambda * row.lse * p) * row.chain[i])
      }
    }
    return g
  }
}

/// StableMax cross-entropy of one row in wide precision: `loss = log1p(rest / s_c)` with `rest`
/// the sum of the other entries' `s`, and the gradient of `scale * loss`.
func stableMaxWide(_ x: [Double], target c: Int, scale: Double) -> (loss: Double, gradient: [Double]) {
  func s(_ v: Wide) -> Wide { v >= 0 ? v + 1 : 1 / (1 - v) }
  func ds(_ v: Wide) -> Wide { v >= 0 ? 1 : 1 / ((1 - v) * (1 - v)) }
  let w = x.map { Wide($0) }
  var rest: Wide = 0
  for i in w.indices where i != c { rest += s(w[i]) }
  let sc = s(w[c]), total = sc + rest
  let sw = Wide(scale)
  var g = w.map { Double(sw * ds($0) / total) }
  g[c] = Double(-sw * ds(w[c]) * rest / (total * sc))
  return (Double(log1p(rest / sc)), g)
}

/// Spherical Z-loss of one row in wide precision (two-pass mean and variance) and the gradient
/// of `scale * loss`.
func sphericalZLossWide(
  _ x: [Double], target c: Int, a: Double, b: Double, epsilon: Double, scale: Double
) -> (loss: Double, gradient: [Double]) {
  let o = x.map { Wide($0) }
  let d = Wide(o.count)
  let mean = o.reduce(0, +) / d
  let variance = o.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / d
  let sigma = (variance + Wide(epsilon)).squareRoot()
  let z = (o[c] - mean) / sigma
  let u = Wide(a) * (Wide(b) - z)
  let loss = (Swift.max(u, 0) + log1p(exp(-Swift.abs(u)))) / Wide(a)
  let g = -(u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u)))
  let sw = Wide(scale)
  let gradient = o.indices.map { k -> Double in
    let zk = (o[k] - mean) / sigma
    return Double(sw * g / sigma * ((k == c ? 1 : 0) - 1 / d - z * zk / d))
  }
  return (Double(loss), gradient)
}
