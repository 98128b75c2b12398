// The Z-loss of de Brebisson & Vincent (2016), a member of the spherical loss family.

import Foundation
import SoftmaxKernelsCore

/// The Z-loss of de Brébisson & Vincent, "The Z-loss: a shift and scale invariant
/// classification loss belonging to the Spherical Family" (arXiv:1604.08859). Not PaLM's
/// z-loss (that one is `CrossEntropyOptions.zLossScale`).
///
/// For a row of `D` outputs `o` and target `c`: `mu = mean(o)`, `sigma^2 = var(o) + epsilon`
/// (population variance, two-pass), `z_c = (o_c - mu) / sigma`, and
/// `L = softplus(a (b - z_c)) / a`. With `g = dL/dz_c = -logistic(a (b - z_c))` the gradient is
/// `dL/do_k = (g / sigma)([k = c] - 1/D - z_c z_k / D)`, i.e. `alpha + beta o_k + gamma [k = c]`.
/// `L` depends on `o` only through `(sum o, sum o^2, o_c)` and is invariant to `o -> s o + t`,
/// `s > 0` (up to `epsilon`): that is what lets a layer train it without forming the `D` outputs
/// (`fromStatistics`). `a` sets the sharpness and `b` the target's standardised score; the paper
/// tunes both as hyper-parameters, so they are required arguments here
/// (no published defaults could be confirmed).
///
/// Edge cases: all-equal outputs give `sigma = sqrt(epsilon)` (default 1e-12; must be > 0 for
/// `D = 1`); NaN or infinite outputs give NaN. The mean is carried as a `T` centre plus a small
/// Double correction, from the gaps to the row's first entry, and the gradient pass is centred
/// on it, so rows far from 0 lose nothing (the loss is shift-invariant, and so is its accuracy).
/// Accuracy (tests against Float80, rows `U[-8, 8)` and the same rows shifted by `+-1e4`, `1e6`
/// in Float and `+-1e12` in Double; measured maxima in parentheses): loss within
/// `2e-6 max(1, |loss|)` (Float; 7e-8) / `1e-14 max(1, |loss|)` (Double; 3.5e-16), gradient
/// within `1e-7 + 1e-5 |ref|` (Float; 0.084 of it) / `1e-16 + 1e-13 |ref|` (Double; 0.25 of it).
/// Complexity: three passes over the row (gaps, squared deviations, gradient), rows spread
/// over threads.
public enum SphericalZLoss {
  /// The mean (or sum, or per-row with `.none`) Z-loss of rows of `columns` outputs, and
  /// optionally its gradient (which may overwrite `logits`).
  public static func loss<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int? = nil,
    targets: UnsafeBufferPointer<Int>, a: T, b: T, varianceEpsilon: T = 1e-12,
    reduction: LossReduction = .mean,
    gradient: UnsafeMutableBufferPointer<T>? = nil, gradientRowStride: Int? = nil,
    outputGradient: T = 1, rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    let checked = try TargetLossLayout.validated(
      logits: logits, rows: rows, columns: columns, logitsRowStride: logitsRowStride,
      targets: targets, reduction: reduction, gradient: gradient,
      gradientRowStride: gradientRowStride, rowLosses: rowLosses)
    let layout = checked.logits, gradientStride = checked.gradientStride
    guard a > 0 && a.isFinite else { throw .invalidArgument(argument: "a", reason: "\(a) is not a positive finite value") }
    guard b.isFinite else { throw .invalidArgument(argument: "b", reason: "\(b) is not finite") }
    guard varianceEpsilon >= 0 && varianceEpsilon.isFinite else {
      throw .invalidArgument(argument: "varianceEpsilon", reason: "\(varianceEpsilon) is not a finite value >= 0")
    }
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, let x = logits.baseAddress else { return reduction == .mean ? .nan : 0 }
    let scale = reduction == .mean ? Double(outputGradient) / Double(rows) : Double(outputGradient)
    let batch = ZLossBatch<T>(
      logits: x, logitsStride: layout.stride, columns: columns, targets: targets.baseAddress!,
      a: a, b: b, varianceEpsilon: varianceEpsilon, gradient: gradient?.baseAddress,
      gradientStride: gradientStride, gradientScale: T(scale), rowLoss: rowLosses?.baseAddress)
    let table = T.kernels(plan.level).losses
    let total = plan.mapRows(rows, columns: columns) { table.zLossRows(batch, $0) }.loss
    return T(reduction == .mean ? total / Double(rows) : total)
  }

  /// The Z-loss and its spherical-family gradient coefficients from a row's statistics
  /// `sum = sum_k o_k`, `sumOfSquares = sum_k o_k^2`, the target's output `targetOutput`, and the
  /// row length `count`: `dL/do = alpha 1 + beta o + gamma e_c`. This is the O(1) hook for
  /// training with the outputs never formed (Vincent, de Brébisson & Bouthillier, NIPS 2015):
  /// keep `Q = W^T W` and `wbar = W^T 1`, then `sum = wbar . h`, `sumOfSquares = h^T Q h`,
  /// `targetOutput = W_c . h`, and `dL/dh = alpha wbar + beta Q h + gamma W_c`.
  /// The variance `sumOfSquares / D - mean^2` cancels when the outputs are large relative to
  /// their spread: prefer `loss(logits:...)` when the outputs exist.
  public static func fromStatistics(
    sum: Double, sumOfSquares: Double, targetOutput: Double, count: Int, a: Double, b: Double,
    varianceEpsilon: Double = 1e-12
  ) -> (loss: Double, alpha: Double, beta: Double, gamma: Double) {
    let d = Double(count)
    let mean = sum / d
    let variance = max(sumOfSquares / d - mean * mean, 0) + varianceEpsilon
    let sigma = variance.squareRoot()
    let z = (targetOutput - mean) / sigma
    let u = a * (b - z)
    let softplus = max(u, 0) + log1p(exp(-abs(u)))
    let g = -(u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u)))
    let gamma = g / sigma
    let beta = -g * z / (d * sigma * sigma)
    let alpha = -g / (d * sigma) - beta * mean
    return (softplus / a, alpha, beta, gamma)
  }
}
