// Softplus attention weights (LSSA / LSSAR) of 16-bit scores (Float16, BFloat16).

extension SoftplusAttention: HalfPrecisionRowwiseFunction {
  /// LSSA / LSSAR weights of 16-bit scores, in the same type: computed in `Float` (options
  /// rounded to `Float`; the intermediates kept in a `Float` row), each weight rounded once.
  /// `output` may be the scores' rows (in place).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, Float.self, options) { H.halfKernels($0).softplusAttentionRows }
  }

  /// LSSA / LSSAR weights of 16-bit scores, as `Float` (disjoint from the scores).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, Float.self, options) { H.halfKernels($0).softplusAttentionToFloatRows }
  }

  /// The gradient with respect to 16-bit scores from the 16-bit forward `output` and upstream
  /// gradient, in the same type (computed in `Float`, each entry rounded once; disjoint from
  /// the other matrices).
  public static func backward<H: HalfPrecisionStorage>(
    input: Rows<H>, output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(input: input, output: output, outputGradient: outputGradient, into: inputGradient, Float.self, options) {
      H.halfKernels($0).softplusAttentionBackwardRows
    }
  }

  /// The same gradient, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    input: Rows<H>, output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(input: input, output: output, outputGradient: outputGradient, into: inputGradient, Float.self, options) {
      H.halfKernels($0).softplusAttentionBackwardToFloatRows
    }
  }
}
