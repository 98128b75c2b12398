// The sigmoid of 16-bit values (Float16, BFloat16) and its gradients.

extension Sigmoid: HalfPrecisionElementwiseGradient {
  /// `output[i] = sigmoid(input[i])` in the input's 16-bit type (computed in `Float`, rounded
  /// once; `output` may be the input: in place).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<H>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try unary(.sigmoid, input, output, Float(1), 0, options) { H.halfKernels($0).elementwise }
  }

  /// `output[i] = sigmoid(input[i])` of 16-bit values, as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<Float>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try unary(.sigmoid, input, output, Float(1), 0, options) { H.halfKernels($0).elementwiseToFloat }
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid'(input[i])` from the forward 16-bit *input*,
  /// in the same type (may be either input's memory).
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<H>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromInput, input, outputGradient, inputGradient, Float(1), 0, options) {
      H.halfKernels($0).elementwise
    }
  }

  /// The gradient from the forward 16-bit *input*, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<Float>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromInput, input, outputGradient, inputGradient, Float(1), 0, options) {
      H.halfKernels($0).elementwiseToFloat
    }
  }

  /// `inputGradient[i] = outputGradient[i] y (1 - y)` from the forward 16-bit *output* `y`, in
  /// the same type (may be either input's memory). `1 - y` is 0 once `y` rounds to 1: `x > 8.3`
  /// in `Float16`, `x > 6.2` in `BFloat16` (use `backward(input:...)` there).
  public static func backward<H: HalfPrecisionStorage>(
    output: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<H>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromOutput, output, outputGradient, inputGradient, Float(1), 0, options) {
      H.halfKernels($0).elementwise
    }
  }

  /// The gradient from the forward 16-bit *output* `y`, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    output: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<Float>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromOutput, output, outputGradient, inputGradient, Float(1), 0, options) {
      H.halfKernels($0).elementwiseToFloat
    }
  }

  /// The gradient from the forward 16-bit *output* of each element of the rows of `output`, in
  /// the same type.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(output, "output", outputGradient: outputGradient, into: inputGradient) { (y, g, dx) throws(SoftmaxKernelsError) in
      try backward(output: y, outputGradient: g, into: dx, options: options)
    }
  }

  /// The gradient from the forward 16-bit *output* of each element of the rows of `output`, as
  /// `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(output, "output", outputGradient: outputGradient, into: inputGradient) { (y, g, dx) throws(SoftmaxKernelsError) in
      try backward(output: y, outputGradient: g, into: dx, options: options)
    }
  }

  /// The gradient from the forward 16-bit *output* of every element, in the same type.
  public static func backward<H: HalfPrecisionStorage>(
    output: [H], outputGradient: [H], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [H] {
    try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try makeArray(count: y.count) { (dx: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
          try checkCount(g.count, equals: y.count, "outputGradient")
          try backward(output: y, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }
}
