// The `Span` / `MutableSpan` forms of the softmax family.

import SoftmaxKernelsCore

// MARK: - Span

extension Softmax {
  /// Softmax of `input` into `output` (same count).
  public static func softmax<T: KernelScalar>(
    _ input: Span<T>, into output: inout MutableSpan<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffers(input, &output) { (x, y) throws(SoftmaxKernelsError) in
      try softmax(x, into: y, options: options)
    }
  }

  /// Softmax of `values` in place.
  public static func softmax<T: KernelScalar>(
    _ values: inout MutableSpan<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try withInPlace(&values) { (y) throws(SoftmaxKernelsError) in
      try softmax(UnsafeBufferPointer(y), into: y, options: options)
    }
  }

  /// Log-softmax of `input` into `output` (same count).
  public static func logSoftmax<T: KernelScalar>(
    _ input: Span<T>, into output: inout MutableSpan<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffers(input, &output) { (x, y) throws(SoftmaxKernelsError) in
      try logSoftmax(x, into: y, options: options)
    }
  }

  /// Log-softmax of `values` in place.
  public static func logSoftmax<T: KernelScalar>(
    _ values: inout MutableSpan<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try withInPlace(&values) { (y) throws(SoftmaxKernelsError) in
      try logSoftmax(UnsafeBufferPointer(y), into: y, options: options)
    }
  }

  /// Log-sum-exp of `input`.
  public static func logSumExp<T: KernelScalar>(
    _ input: Span<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    try input.withUnsafeBufferPointer { (x) throws(SoftmaxKernelsError) in
      try logSumExp(x, options: options)
    }
  }
}
