// The SigLIP loss of 16-bit similarities (Float16, BFloat16).

extension SigLIP {
  /// The SigLIP loss of a block of 16-bit similarities (`Float16`, ``BFloat16``), in `Float`:
  /// the similarities are read exactly as `Float` and everything is computed as for `Float`
  /// (same parameters, options, edge cases, errors and bounds; see
  /// `loss(similarities:logTemperature:bias:options:)`).
  public static func loss<H: HalfPrecisionStorage>(
    similarities: Rows<H>, logTemperature: Float = Float(defaultLogTemperature), bias: Float = Float(defaultBias),
    options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(similarities, nil, Parameters(logTemperature, bias, 1), options) { H.halfKernels($0).sigLIPRows }
  }

  /// The SigLIP loss of 16-bit similarities and its gradients: `lossGradient` times `dL/ds`
  /// written in the similarities' type (each entry computed in `Float` and rounded once; may be
  /// the same rows: in place), and the `Float` gradients with respect to `t'` and `b` in the
  /// result.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    similarities: Rows<H>, logTemperature: Float = Float(defaultLogTemperature), bias: Float = Float(defaultBias),
    lossGradient: Float = 1, gradient: MutableRows<H>, options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(similarities, gradient, Parameters(logTemperature, bias, lossGradient), options) {
      H.halfKernels($0).sigLIPRows
    }
  }
}
