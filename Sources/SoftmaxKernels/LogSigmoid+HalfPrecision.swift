// The log-sigmoid of 16-bit values (Float16, BFloat16) and its gradient.

extension LogSigmoid: HalfPrecisionElementwiseGradient {
  /// `output[i] = log sigmoid(input[i])` in the input's 16-bit type (computed in `Float`,
  /// rounded once; `output` may be the input: in place).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<H>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.unary(.logSigmoid, input, output, Float(0), 0, options) { H.halfKernels($0).elementwise }
  }

  /// `output[i] = log sigmoid(input[i])` of 16-bit values, as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<Float>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.unary(.logSigmoid, input, output, Float(0), 0, options) { H.halfKernels($0).elementwiseToFloat }
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid(-input[i])` in the inputs' 16-bit type (may
  /// be either input's memory).
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<H>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.gradient(.logSigmoid, input, outputGradient, inputGradient, Float(0), 0, options) {
      H.halfKernels($0).elementwise
    }
  }

  /// The same gradient, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<Float>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.gradient(.logSigmoid, input, outputGradient, inputGradient, Float(0), 0, options) {
      H.halfKernels($0).elementwiseToFloat
    }
  }
}
