// The StableMax cross-entropy (Prieto et al. 2025) and its gradient.

import SoftmaxKernelsCore

/// The StableMax cross-entropy of Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of
/// Numerical Stability" (ICLR 2025; code LucasPrietoAl/grokking-at-the-edge-of-numerical-stability):
/// `-logStableMax(x)_y` (see `StableMax`), with `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for
/// `x < 0`, and the gradient `s'(x_i) / sum_j s(x_j) - [i = y] s'(x_y) / s(x_y)`.
/// Because `s` grows linearly, probabilities saturate only polynomially and the loss of a
/// confidently classified row stays non-zero where float32 softmax cross-entropy gives exactly 0
/// ("Softmax Collapse"). The reference code computes in float64 and adds 1e-30 to `1 - x`; we
/// compute the sums in Double from Float rows and omit the 1e-30. The loss is
/// `log1p(rest / s(x_y))` with `rest = sum_j s(x_j) - s(x_y)` and `s(x_y)` evaluated exactly as
/// the sum's own term, so `p_y = 1` (one class, or `-inf` elsewhere) gives exactly 0 loss and 0
/// gradient. Accuracy (tests against Float80, measured maxima in parentheses): loss within
/// `2e-6 max(1, |loss|)` (Float; 1.6e-7) / `1e-14 max(1, |loss|)` (Double; 6e-16), gradients
/// within `1e-7 + 1e-5 |ref|` / `1e-16 + 1e-13 |ref|`, also for rows at `1e4`, `1e6` (Float) and
/// `1e12` (Double); StableMax is not shift-invariant (`s` is piecewise), so those rows are judged
/// against their own exact values.
///
/// Edge cases (those of the reference code's `s(x) / sum`): `-inf` gives `s = 0`; a `+inf`
/// entry gives inf/inf = NaN there and 0 elsewhere, and a NaN loss; NaN makes the row NaN; an
/// all `-inf` row is 0/0 = NaN. Complexity: two passes (sum, gradient); rows are spread over
/// threads.
///
/// Forms: strided buffers (`Rows`, optional `rowLosses`), `Span`s of contiguous rows of
/// `columns`, arrays; arguments in one order (inputs, `columns`, `lossGradient`, outputs,
/// `options` last). The reduction (`StableMaxCrossEntropyOptions`) is `.mean` over rows by
/// default, as the reference code; `.none` gives the sum of the row losses (as `.sum`), which
/// the buffer forms also write to `rowLosses` when given. `lossGradient` scales the gradient of
/// the reduced loss (with `.none`, of the sum). Rows without columns throw. The gradient may be
/// the logits' own memory (same start and stride); the outputs overlap no other argument. A
/// call that throws has written nothing.
public enum StableMaxCrossEntropy {
  /// The StableMax cross-entropy of the rows of `logits` against `targets` (one index in
  /// `[0, logits.columns)` per row); `rowLosses` receives each row's loss (any reduction).
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, reduction: options.reduction,
      execution: options.execution))
  }

  /// The StableMax cross-entropy and its gradient with respect to the logits, times
  /// `lossGradient`; `gradient` (the shape of `logits`) may be the logits' own memory (same
  /// start and stride).
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, lossGradient: T = 1, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient,
      rowLosses: rowLosses, reduction: options.reduction, execution: options.execution))
  }

  /// Each row's StableMax cross-entropy, written to `rowLosses` (one element per row;
  /// `options.reduction` is not used).
  public static func rowLosses<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, into rowLosses: UnsafeMutableBufferPointer<T>,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, reduction: .none, execution: options.execution))
  }

  /// The StableMax cross-entropy of `logits` (contiguous rows of `columns`) against `targets`.
  public static func loss<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try TargetLossCall.contiguous(
      logits, targets: targets, columns: columns, reduction: options.reduction, execution: options.execution, run)
  }

  /// The StableMax cross-entropy and its gradient (as many elements as `logits`), times
  /// `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, lossGradient: T = 1, gradient: inout MutableSpan<T>,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try TargetLossCall.contiguous(
        logits, targets: targets, columns: columns, lossGradient: lossGradient, gradient: g,
        reduction: options.reduction, execution: options.execution, run)
    }
  }

  /// Each row's StableMax cross-entropy, written to `rowLosses` (one element per row).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, into rowLosses: inout MutableSpan<T>,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try TargetLossCall.contiguous(
        logits, targets: targets, columns: columns, rowLosses: l, reduction: .none, execution: options.execution, run)
    }
  }

  /// The StableMax cross-entropy of `logits` (rows of `columns`) against `targets`.
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try loss(logits: logits.span, targets: targets.span, columns: columns, options: options)
  }

  /// The StableMax cross-entropy and its gradient with respect to `logits`, times `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, lossGradient: T = 1,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try lossAndGradient(
        logits: logits.span, targets: targets.span, columns: columns, lossGradient: lossGradient,
        gradient: &g, options: options)
    }
    return (result, gradient)
  }

  /// Each row's StableMax cross-entropy.
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try rowLosses(logits: logits.span, targets: targets.span, columns: columns, into: &l, options: options)
    }.array
  }

  /// Runs the rows of a checked call.
  static func run<T: KernelScalar>(_ call: TargetLossCall<T>) throws(SoftmaxKernelsError) -> LossResult<T> {
    try call.run(checkParameters: {}) { c, table in
      var batch = StableMaxBatch<T>(input: c.logits, inputStride: c.logitsStride, columns: call.logits.columns)
      batch.targets = call.targets.baseAddress
      batch.gradient = call.gradient?.buffer.baseAddress
      batch.gradientStride = c.gradientStride
      batch.gradientScale = c.gradientScale
      batch.rowLoss = call.rowLosses?.baseAddress
      return { table.stableMaxRows(batch, $0) }
    }
  }
}
