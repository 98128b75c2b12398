// Softplus of 16-bit values (Float16, BFloat16) and its gradient.

extension Softplus: HalfPrecisionElementwiseGradient {
  /// `output[i] = softplus(input[i])` in the input's 16-bit type (computed in `Float` with
  /// `beta` and `threshold` rounded to `Float`, rounded once; `output` may be the input).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<H>,
    options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, Float.self)
    try Sigmoid.unary(.softplus, input, output, beta, threshold, options.execution) { H.halfKernels($0).elementwise }
  }

  /// `output[i] = softplus(input[i])` of 16-bit values, as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<Float>,
    options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, Float.self)
    try Sigmoid.unary(.softplus, input, output, beta, threshold, options.execution) {
      H.halfKernels($0).elementwiseToFloat
    }
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid(beta input[i])` (or `outputGradient[i]` where
  /// `beta input[i] > threshold`) in the inputs' 16-bit type (may be either input's memory).
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<H>, options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, Float.self)
    try Sigmoid.gradient(.softplus, input, outputGradient, inputGradient, beta, threshold, options.execution) {
      H.halfKernels($0).elementwise
    }
  }

  /// The same gradient, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<Float>, options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, Float.self)
    try Sigmoid.gradient(.softplus, input, outputGradient, inputGradient, beta, threshold, options.execution) {
      H.halfKernels($0).elementwiseToFloat
    }
  }
}
