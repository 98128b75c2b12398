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
/// score (`SphericalZLossOptions`); the paper tunes both as hyper-parameters, so the options'
/// memberwise initialiser requires them (no published defaults could be confirmed).
///
/// Edge cases: all-equal outputs give `sigma = sqrt(epsilon)` (default 1e-12; `D = 1` with
/// `epsilon = 0` throws, as do rows without columns); NaN or infinite outputs give NaN. The mean is carried as a `T` centre plus a small
/// Double correction, from the gaps to the row's first entry, and the gradient pass is centred
/// on it, so rows far from 0 lose nothing (the loss is shift-invariant, and so is its accuracy).
/// Accuracy (tests against Float80, rows `U[-8, 8)` and the same rows shifted by `+-1e4`, `1e6`
/// in Float and `+-1e12` in Double; measured maxima in parentheses): loss within
/// `2e-6 max(1, |loss|)` (Float; 7e-8) / `1e-14 max(1, |loss|)` (Double; 3.5e-16), gradient
/// within `1e-7 + 1e-5 |ref|` (Float; 0.084 of it) / `1e-16 + 1e-13 |ref|` (Double; 0.25 of it).
/// Complexity: three passes over the row (gaps, squared deviations, gradient), rows spread
/// over threads.
///
/// Forms: strided buffers (`Rows`, optional `rowLosses`), `Span`s of contiguous rows of
/// `columns`, arrays; arguments in one order (inputs, `columns`, `lossGradient`, outputs,
/// `options` last). The reduction is `.mean` over rows by default; `.none` gives the sum of the
/// row losses (as `.sum`), which the buffer forms also write to `rowLosses` when given.
/// `lossGradient` scales the gradient of the reduced loss (with `.none`, of the sum). The
/// gradient may be the logits' own memory (same start and stride); the outputs overlap no other
/// argument. A call that throws has written nothing.
public enum SphericalZLoss {
  /// The Z-loss of the rows of `logits` (`D = logits.columns` outputs each) against `targets`
  /// (one index in `[0, D)` per row); `rowLosses` receives each row's loss (any reduction).
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, reduction: options.reduction,
      execution: options.execution), options)
  }

  /// The Z-loss and its gradient with respect to the logits, times `lossGradient`; `gradient`
  /// (the shape of `logits`) may be the logits' own memory (same start and stride).
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, lossGradient: T = 1, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient,
      rowLosses: rowLosses, reduction: options.reduction, execution: options.execution), options)
  }

  /// Each row's Z-loss, written to `rowLosses` (one element per row; `options.reduction` is
  /// not used).
  public static func rowLosses<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, into rowLosses: UnsafeMutableBufferPointer<T>,
    options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) {
    _ = try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, reduction: .none, execution: options.execution), options)
  }

  /// The Z-loss of `logits` (contiguous rows of `columns` outputs) against `targets`.
  public static func loss<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try TargetLossCall.contiguous(
      logits, targets: targets, columns: columns, reduction: options.reduction, execution: options.execution
    ) { (call) throws(SoftmaxKernelsError) in try run(call, options) }
  }

  /// The Z-loss and its gradient (as many elements as `logits`), times `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, lossGradient: T = 1, gradient: inout MutableSpan<T>,
    options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try TargetLossCall.contiguous(
        logits, targets: targets, columns: columns, lossGradient: lossGradient, gradient: g,
        reduction: options.reduction, execution: options.execution
      ) { (call) throws(SoftmaxKernelsError) in try run(call, options) }
    }
  }

  /// Each row's Z-loss, written to `rowLosses` (one element per row).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, into rowLosses: inout MutableSpan<T>,
    options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try TargetLossCall.contiguous(
        logits, targets: targets, columns: columns, rowLosses: l, reduction: .none, execution: options.execution
      ) { (call) throws(SoftmaxKernelsError) in try run(call, options) }
    }
  }

  /// The Z-loss of `logits` (rows of `columns` outputs) against `targets`.
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try loss(logits: logits.span, targets: targets.span, columns: columns, options: options)
  }

  /// The Z-loss and its gradient with respect to `logits`, times `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, lossGradient: T = 1, options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try lossAndGradient(
        logits: logits.span, targets: targets.span, columns: columns, lossGradient: lossGradient,
        gradient: &g, options: options)
    }
    return (result, gradient)
  }

  /// Each row's Z-loss.
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: SphericalZLossOptions
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try rowLosses(logits: logits.span, targets: targets.span, columns: columns, into: &l, options: options)
    }.array
  }

  /// Converts `a`, `b` and `varianceEpsilon` to `T` and checks the converted values (`a > 0`,
  /// `b` finite, `varianceEpsilon >= 0` finite, and positive for rows of one entry), then runs
  /// the rows.
  static func run<T: KernelScalar>(
    _ call: TargetLossCall<T>, _ options: SphericalZLossOptions
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
    }) { c, table in
      var batch = ZLossBatch<T>(logits: c.logits, logitsStride: c.logitsStride, columns: call.logits.columns, targets: call.targets.baseAddress!)
      batch.a = a
      batch.b = b
      batch.varianceEpsilon = varianceEpsilon
      batch.gradient = call.gradient?.buffer.baseAddress
      batch.gradientStride = c.gradientStride
      batch.gradientScale = c.gradientScale
      batch.rowLoss = call.rowLosses?.baseAddress
      return { table.zLossRows(batch, $0) }
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
