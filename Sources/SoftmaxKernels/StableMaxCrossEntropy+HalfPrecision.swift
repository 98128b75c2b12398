// The StableMax cross-entropy of 16-bit logits (Float16, BFloat16): the strided forms (the
// row-loss and Array forms: HalfPrecisionClassIndexLoss).

extension StableMaxCrossEntropy: HalfPrecisionClassIndexLoss {
  /// The StableMax cross-entropy of 16-bit logits (`Float16`, ``BFloat16``), in `Float`.
  ///
  /// Each row is read exactly as `Float` and computed as a `Float` row is (see
  /// ``StableMaxCrossEntropy``): `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for `x < 0`, the sum
  /// `sum_j s(x_j)` in `Float` within a window and `Double` across windows, and the loss
  /// `log1p(rest / s(x_y))`, `rest = sum_j s(x_j) - s(x_y)`, in `Double`.
  ///
  /// Accuracy: the loss and `rowLosses` are bitwise those of the same call on the logits
  /// widened to `Float` (tested at every ISA level, thread count and row length; see
  /// <doc:SixteenBitStorage>), so they have the `Float` bounds of ``StableMaxCrossEntropy``.
  /// Edge cases: those of `Float` logits (`-inf` contributes `s = 0`; a `+inf` logit gives a
  /// `+inf` loss, or NaN when it is the target's, and a NaN gradient at the target's entry; a
  /// NaN logit gives a NaN loss; `p_y = 1` gives exactly 0). Errors: those of ``ClassIndexLoss`` (a target
  /// outside `[0, columns)`, rows without columns, `rowLosses` too short or overlapping an
  /// input), each naming its argument; a call that throws has written nothing.
  public static func loss<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<Float>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(TargetLossCall(logits: logits, targets: targets, rowLosses: rowLosses, options: options)) {
      H.halfKernels($0).stableMaxRows
    }
  }

  /// The StableMax cross-entropy of 16-bit logits and its gradient with respect to them, times
  /// `lossGradient`, written in the logits' type.
  ///
  /// `s'(x_i) / sum_j s(x_j) - [i = y] s'(x_y) / s(x_y)` (see ``StableMaxCrossEntropy``) is
  /// computed in `Float` (the target entry in `Double`) exactly as for the widened logits, and
  /// each entry is rounded once, to nearest even, to the 16-bit type: bitwise the `Float`
  /// gradient rounded, hence within 1 ulp of the 16-bit type plus the `Float` bound. `gradient`
  /// (the shape of `logits`) may be the logits' own memory (same start and stride: in place);
  /// otherwise it must not overlap the logits, the targets or `rowLosses`.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, lossGradient: Float = 1, gradient: MutableRows<H>,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let call = TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient, rowLosses: rowLosses,
      options: options)
    return try run(call) { H.halfKernels($0).stableMaxRows }
  }
}
