// The log-sigmoid and its gradient.

import SoftmaxKernelsCore

/// `logSigmoid(x) = min(x, 0) - log1p(e^-|x|)`, elementwise, and its vector-Jacobian product
/// `logSigmoid'(x) = sigmoid(-x)`. Accuracy, edge cases and complexity: see ``Sigmoid``; forms:
/// ``ElementwiseFunction``.
public enum LogSigmoid: ElementwiseGradient {
  /// The log-sigmoid has nothing to choose but where it runs.
  public typealias Options = ExecutionOptions

  /// `output[i] = log sigmoid(input[i])`.
  public static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.unary(.logSigmoid, input, output, 0, 0, options)
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid(-input[i])`.
  public static func backward<T: KernelScalar>(
    input: UnsafeBufferPointer<T>, outputGradient: UnsafeBufferPointer<T>,
    into inputGradient: UnsafeMutableBufferPointer<T>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try Sigmoid.gradient(.logSigmoid, input, outputGradient, inputGradient, 0, 0, options)
  }
}
