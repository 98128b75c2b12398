// Sigmoid attention weights of 16-bit scores (Float16, BFloat16).

extension SigmoidAttention: HalfPrecisionRowwiseGradient {
  /// `output_ij = sigmoid(scale input_ij + bias)` of 16-bit scores, in the same type (computed
  /// in `Float` with the scale and bias rounded to `Float`, rounded once; `output` may be the
  /// scores' rows: in place).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, Float.self, options) { H.halfKernels($0).elementwise }
  }

  /// The weights of 16-bit scores, as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, Float.self, options) { H.halfKernels($0).elementwiseToFloat }
  }

  /// `inputGradient_ij = scale outputGradient_ij P_ij (1 - P_ij)` from the 16-bit forward output
  /// `P`, in the same type (may be either input's rows). `1 - P` is 0 where `P` rounded to 1.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>,
    options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(output: output, outputGradient: outputGradient, into: inputGradient, Float.self, options) {
      H.halfKernels($0).elementwise
    }
  }

  /// The gradient from the 16-bit forward output, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>,
    options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(output: output, outputGradient: outputGradient, into: inputGradient, Float.self, options) {
      H.halfKernels($0).elementwiseToFloat
    }
  }
}
