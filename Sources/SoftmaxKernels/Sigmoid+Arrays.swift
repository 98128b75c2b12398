// The Array forms of the sigmoid family.

import SoftmaxKernelsCore

// MARK: - Arrays

extension Sigmoid {
  /// `sigmoid` of every element.
  public static func sigmoid<T: KernelScalar>(
    _ input: [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map(input) { (x, y) throws(SoftmaxKernelsError) in try sigmoid(x, into: y, options: options) }
  }

  /// `sigmoid` of every element, in place.
  public static func sigmoid<T: KernelScalar>(
    _ values: inout [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try values.withUnsafeMutableBufferPointer { (y) throws(SoftmaxKernelsError) in
      try sigmoid(UnsafeBufferPointer(y), into: y, options: options)
    }
  }

  /// `logSigmoid` of every element.
  public static func logSigmoid<T: KernelScalar>(
    _ input: [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map(input) { (x, y) throws(SoftmaxKernelsError) in try logSigmoid(x, into: y, options: options) }
  }

  /// `softplus` of every element.
  public static func softplus<T: KernelScalar>(
    _ input: [T], beta: T = 1, threshold: T = 20, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map(input) { (x, y) throws(SoftmaxKernelsError) in
      try softplus(x, into: y, beta: beta, threshold: threshold, options: options)
    }
  }

  /// The sigmoid gradient from the forward input.
  public static func sigmoidBackward<T: KernelScalar>(
    input: [T], outputGradient: [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map2(input, outputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try sigmoidBackward(input: x, outputGradient: g, into: dx, options: options)
    }
  }

  /// The log-sigmoid gradient from the forward input.
  public static func logSigmoidBackward<T: KernelScalar>(
    input: [T], outputGradient: [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map2(input, outputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try logSigmoidBackward(input: x, outputGradient: g, into: dx, options: options)
    }
  }

  /// The softplus gradient from the forward input.
  public static func softplusBackward<T: KernelScalar>(
    input: [T], outputGradient: [T], beta: T = 1, threshold: T = 20,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try map2(input, outputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try softplusBackward(
        input: x, outputGradient: g, into: dx, beta: beta, threshold: threshold, options: options)
    }
  }
}
