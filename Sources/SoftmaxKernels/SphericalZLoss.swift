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
/// (`lossAndGradientCoefficients`). `a` sets the sharpness and `b` the target's standardised
/// score (`SphericalZLossOptions`); the paper tunes both as hyper-parameters (no published
/// defaults could be confirmed).
///
/// Edge cases: all-equal outputs give `sigma = sqrt(epsilon)` (default 1e-12; `D = 1` with
/// `epsilon = 0` throws, as do rows without columns); NaN or infinite outputs give NaN. The mean is carried as a `T` centre plus a small
/// Double correction, from the gaps to the row's first entry, and the gradient pass is centred
/// on it, so rows far from 0 lose nothing (the loss is shift-invariant, and so is its accuracy).
/// Accuracy (tests against Float80, rows `U[-8, 8)` and the same rows shifted by `+-1e4`, `1e6`
/// in Float and `+-1e12` in Double; measured maxima in parentheses): loss within
/// `2e-6 max(1, |loss|)` (Float; 7e-8) / `1e-14 max(1, |loss|)` (Double; 3.5e-16), gradient
/// within `1e-7 + 1e-5 |ref|` (Float; 0.084 of it) / `1e-16 + 1e-13 |ref|` (Double; 0.25 of it),
/// plus `4 u |g| / sigma` (`u` = 2^-24 / 2^-53): the term that shows where the exact gradient
/// cancels, as in rows of two entries, whose gradient is 0 up to `epsilon` (measured 0.8 / 2.0
/// of that term, spreads down to 1e-4).
/// Complexity: three passes over the row (gaps, squared deviations, gradient), rows spread
/// over threads.
///
/// Forms, reduction, layout and errors: those of ``ClassIndexLoss``. The default options are the
/// neutral `a = b = 1`; set both for training. Float16 and BFloat16 logits: see
/// ``HalfPrecisionClassIndexLoss`` (loss in `Float`, gradient in the logits' type).
public enum SphericalZLoss: ClassIndexLoss {
  /// The Z-loss of the rows of `logits` (`D = logits.columns` outputs each) against `targets`
  /// (one index in `[0, D)` per row); `rowLosses` receives each row's loss (any reduction).
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: SphericalZLossOptions = SphericalZLossOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, options: options), options)
  }

  /// The Z-loss and its gradient with respect to the logits, times `lossGradient`; `gradient`
  /// (the shape of `logits`) may be the logits' own memory (same start and stride).
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, lossGradient: T = 1, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, options: SphericalZLossOptions = SphericalZLossOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient,
      rowLosses: rowLosses, options: options), options)
  }

  /// Runs a call on `T` logits by the `T` kernels.
  static func run<T: KernelScalar>(
    _ call: TargetLossCall<T, T>, _ options: SphericalZLossOptions = SphericalZLossOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(call, options) { T.kernels($0).losses.zLossRows }
  }

  /// Converts `a`, `b` and `varianceEpsilon` to `T` and checks the converted values (`a > 0`,
  /// `b` finite, `varianceEpsilon >= 0` finite, and positive for rows of one entry), then runs
  /// the rows by the kernel `kernels(level)` (logits stored as `X`: `T`, or a 16-bit type with
  /// `T` = `Float`).
  static func run<X, T: KernelScalar>(
    _ call: TargetLossCall<X, T>, _ options: SphericalZLossOptions,
    kernels: (ISALevel) -> (ZLossBatch<X, T>, Range<Int>) -> LossPartial
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let a = T(options.a), b = T(options.b), varianceEpsilon = T(options.varianceEpsilon)
    return try call.run(checkParameters: { () throws(SoftmaxKernelsError) in
      guard a > 0 && a.isFinite else {
        throw .invalidArgument(argument: "a", reason: "\(options.a) is not a positive finite value in \(T.self)")
      }
      guard b.isFinite else { throw .invalidArgument(argument: "b", reason: "\(options.b) is not finite in \(T.self)") }
      guard varianceEpsilon >= 0 && varianceEpsilon.isFinite else {
        throw .invalidArgument(
          argument: "varianceEpsilon", reason: "\(options.varianceEpsilon) is not a finite value >= 0 in \(T.self)")
      }
      if call.logits.columns == 1 && varianceEpsilon == 0 {
        throw .invalidArgument(
          argument: "varianceEpsilon",
          reason: "\(options.varianceEpsilon) is 0 in \(T.self); rows of one entry need a positive epsilon (variance 0)")
      }
    }) { c, level in
      var batch = ZLossBatch<X, T>(logits: c.logits, logitsStride: c.logitsStride, columns: call.logits.columns, targets: call.targets.baseAddress!)
      batch.a = a
      batch.b = b
      batch.varianceEpsilon = varianceEpsilon
      batch.gradient = call.gradient?.buffer.baseAddress
      batch.gradientStride = c.gradientStride
      batch.gradientScale = c.gradientScale
      batch.rowLoss = call.rowLosses?.baseAddress
      let rows = kernels(level)
      return { rows(batch, $0) }
    }
  }

  /// The Z-loss and its spherical-family gradient coefficients from a row's statistics
  /// `sum = sum_k o_k`, `sumOfSquares = sum_k o_k^2`, the target's output `targetOutput`, and the
  /// row length `columns`: `dL/do = alpha 1 + beta o + gamma e_c`. This is the O(1) hook for
  /// training with the outputs never formed (Vincent, de Brébisson & Bouthillier, NIPS 2015):
  /// keep `Q = W^T W` and `wbar = W^T 1`, then `sum = wbar . h`, `sumOfSquares = h^T Q h`,
  /// `targetOutput = W_c . h`, and `dL/dh = alpha wbar + beta Q h + gamma W_c`.
  /// The variance `sumOfSquares / D - mean^2` cancels when the outputs are large relative to
  /// their spread: prefer `loss(logits:...)` when the outputs exist.
  public static func lossAndGradientCoefficients(
    sum: Double, sumOfSquares: Double, targetOutput: Double, columns: Int, a: Double, b: Double,
    varianceEpsilon: Double = 1e-12
  ) -> (loss: Double, alpha: Double, beta: Double, gamma: Double) {
    let d = Double(columns)
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
