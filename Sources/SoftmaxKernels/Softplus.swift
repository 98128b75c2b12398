// Softplus with PyTorch's beta and threshold, and its gradient.

import SoftmaxKernelsCore

/// The options of ``Softplus``: PyTorch's `torch.nn.Softplus(beta, threshold)` parameters.
public struct SoftplusOptions: KernelOptions {
  /// The sharpness `beta`: positive and finite (checked, throws). 1 by default.
  public var beta: Double
  /// Where `beta x > threshold` the function is the identity; not NaN (checked). 20 by
  /// default.
  public var threshold: Double
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// PyTorch's defaults `beta = 1`, `threshold = 20`, all cores, the process's level.
  public init() { self.init(beta: 1) }

  /// Options with the given values.
  public init(beta: Double = 1, threshold: Double = 20, execution: ExecutionOptions = ExecutionOptions()) {
    self.beta = beta
    self.threshold = threshold
    self.execution = execution
  }
}

/// `softplus(x; beta, threshold) = log(1 + e^(beta x)) / beta`, or `x` where `beta x > threshold`
/// (PyTorch's `torch.nn.Softplus`), elementwise, evaluated as
/// `(max(beta x, 0) + log1p(e^-|beta x|)) * (1 / beta)`; its vector-Jacobian product is
/// `softplus'(x) = sigmoid(beta x)` (1 in the linear region). `beta` and `threshold` are
/// rounded to the element type. Accuracy, edge cases and complexity: see ``Sigmoid``; `beta != 1`
/// adds the roundings of `1 / beta` and of `beta x` (up to `1 + |beta x|` units of 2^-24; none
/// for powers of two). Forms: ``ElementwiseFunction``.
public enum Softplus: ElementwiseGradient {
  /// Softplus takes ``SoftplusOptions``.
  public typealias Options = SoftplusOptions

  /// `output[i] = softplus(input[i])`.
  public static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
    options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, T.self)
    try Sigmoid.unary(.softplus, input, output, beta, threshold, options.execution)
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid(beta input[i])`, or `outputGradient[i]`
  /// where `beta input[i] > threshold`.
  public static func backward<T: KernelScalar>(
    input: UnsafeBufferPointer<T>, outputGradient: UnsafeBufferPointer<T>,
    into inputGradient: UnsafeMutableBufferPointer<T>, options: SoftplusOptions = SoftplusOptions()
  ) throws(SoftmaxKernelsError) {
    let (beta, threshold) = try parameters(options, T.self)
    try Sigmoid.gradient(.softplus, input, outputGradient, inputGradient, beta, threshold, options.execution)
  }

  /// `beta` and `threshold` in the element type, checked.
  static func parameters<T: KernelScalar>(
    _ options: SoftplusOptions, _: T.Type
  ) throws(SoftmaxKernelsError) -> (T, T) {
    let beta = T(options.beta), threshold = T(options.threshold)
    try Sigmoid.checkSoftplus(beta, threshold)
    return (beta, threshold)
  }
}
