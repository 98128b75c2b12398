// The spherical Z-loss of 16-bit logits (Float16, BFloat16): the strided forms (the row-loss
// and Array forms: HalfPrecisionClassIndexLoss).

extension SphericalZLoss: HalfPrecisionClassIndexLoss {
  /// The Z-loss of 16-bit logits (`Float16`, ``BFloat16``), in `Float`.
  ///
  /// Each row is read exactly as `Float` and computed as a `Float` row is (see
  /// ``SphericalZLoss``): `mu = mean(o)`, `sigma^2 = var(o) + epsilon`, `z_c = (o_c - mu) / sigma`,
  /// `L = softplus(a (b - z_c)) / a`, with the mean carried as a `Float` centre plus a `Double`
  /// correction and the sums in `Float` within a window, `Double` across windows. `a`, `b` and
  /// `varianceEpsilon` are converted to `Float` and checked there (`a > 0` finite, `b` finite,
  /// `varianceEpsilon >= 0` finite, and positive for rows of one entry), as for `Float` logits.
  ///
  /// Accuracy: the loss and `rowLosses` are bitwise those of the same call on the logits
  /// widened to `Float` (tested at every ISA level, thread count and row length; see
  /// <doc:SixteenBitStorage>), so they have the `Float` bounds of ``SphericalZLoss``.
  /// Edge cases: those of `Float` logits (NaN or infinite logits give a NaN loss; all-equal
  /// rows give `sigma = sqrt(epsilon)`). Errors: those of ``ClassIndexLoss`` (a target outside
  /// `[0, columns)`, rows without columns, `rowLosses` too short or overlapping an input) and
  /// the options' above, each naming its argument; a call that throws has written nothing.
  public static func loss<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<Float>? = nil,
    options: SphericalZLossOptions = SphericalZLossOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(TargetLossCall(logits: logits, targets: targets, rowLosses: rowLosses, options: options), options) {
      H.halfKernels($0).zLossRows
    }
  }

  /// The Z-loss of 16-bit logits and its gradient with respect to them, times `lossGradient`,
  /// written in the logits' type.
  ///
  /// `dL/do_k = (g / sigma)([k = c] - 1/D - z_c z_k / D)` (see ``SphericalZLoss``) is computed in
  /// `Float` (coefficients in `Double`) exactly as for the widened logits, and each entry is
  /// rounded once, to nearest even, to the 16-bit type: bitwise the `Float` gradient rounded,
  /// hence within 1 ulp of the 16-bit type plus the `Float` bound. `gradient` (the shape of
  /// `logits`) may be the logits' own memory (same start and stride: in place); otherwise it
  /// must not overlap the logits, the targets or `rowLosses`. NaN or infinite logits give a
  /// NaN row gradient.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, lossGradient: Float = 1, gradient: MutableRows<H>,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, options: SphericalZLossOptions = SphericalZLossOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let call = TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient, rowLosses: rowLosses,
      options: options)
    return try run(call, options) { H.halfKernels($0).zLossRows }
  }
}
