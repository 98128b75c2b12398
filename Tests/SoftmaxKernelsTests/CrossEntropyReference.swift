import Foundation
import SoftmaxKernels

/// Float64 reference of PyTorch's `cross_entropy` (LossNLL.cpp semantics, ../shared/SPEC.md
/// §3.1-3.4) and of its gradient, written from the formulas, not from the library.
enum CrossEntropyReference {
  static func logSoftmax(_ x: [Double]) -> [Double] {
    let m = x.max()!
    let lse = m + log(x.reduce(0) { $0 + exp($1 - m) })
    return x.map { $0 - lse }
  }

  /// (reduced loss, per-row losses, gradient of the reduced loss) for integer targets.
  static func integer(
    _ x: [Double], _ targets: [Int], _ c: Int, weights: [Double]?, eps: Double,
    ignore: Int, reduction: LossReduction, zLoss: Double
  ) -> (loss: Double, rows: [Double], gradient: [Double]) {
    let n = targets.count
    var rowLoss = [Double](repeating: 0, count: n)
    var grad = [Double](repeating: 0, count: x.count)
    let w = weights ?? [Double](repeating: 1, count: c)
    let totalW = w.reduce(0, +)
    var denom = 0.0, valid = 0
    for r in 0..<n where targets[r] != ignore { denom += w[targets[r]]; valid += 1 }
    // Log-softmax and log-sum-exp of every row that is not ignored.
    let logProbabilities = (0..<n).map { r -> (z: [Double], lse: Double)? in
      if targets[r] == ignore { return nil }
      let row = Array(x[r * c..<(r + 1) * c])
      let z = logSoftmax(row)
      return (z, row[0] - z[0])
    }
    var nllSum = 0.0, zSum = 0.0
    for r in 0..<n {
      guard let (z, lse) = logProbabilities[r] else { continue }
      let y = targets[r]
      var l = -(1 - eps) * w[y] * z[y]
      if eps > 0 { l += -eps / Double(c) * (0..<c).reduce(0) { $0 + w[$1] * z[$1] } }
      nllSum += l
      zSum += lse * lse
      rowLoss[r] = l + zLoss * lse * lse
    }
    let loss: Double
    let s: Double, zs: Double
    switch reduction {
    case .mean:
      loss = nllSum / denom + (zLoss > 0 ? zLoss * zSum / Double(valid) : 0)
      (s, zs) = (1 / denom, 1 / Double(valid))
    case .sum, .none:
      loss = nllSum + zLoss * zSum
      (s, zs) = (1, 1)
    }
    for r in 0..<n {
      guard let (z, lse) = logProbabilities[r] else { continue }
      let y = targets[r]
      for i in 0..<c {
        let p = exp(z[i])
        var g = s * ((1 - eps) * w[y] * (p - (i == y ? 1 : 0)) + eps / Double(c) * (totalW * p - w[i]))
        g += zs * 2 * zLoss * lse * p
        grad[r * c + i] = g
      }
    }
    return (loss, rowLoss, grad)
  }
}
