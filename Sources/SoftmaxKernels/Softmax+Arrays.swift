// The Array forms of the softmax family.

import SoftmaxKernelsCore

// MARK: - Arrays

extension Softmax {
  /// Softmax of a vector, or of each row when `columns` is given (`input.count` must be a
  /// multiple of it).
  public static func softmax<T: KernelScalar>(
    _ input: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try mapRows(input, columns) { (x, y, r, c) throws(SoftmaxKernelsError) in
      try softmax(rows: r, columns: c, input: x, output: y, options: options)
    }
  }

  /// Softmax in place, of the whole array or of each row of `columns` entries.
  public static func softmax<T: KernelScalar>(
    _ values: inout [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    let (r, c) = try shape(values.count, columns)
    try values.withUnsafeMutableBufferPointer { (y) throws(SoftmaxKernelsError) in
      try softmax(rows: r, columns: c, input: UnsafeBufferPointer(y), output: y, options: options)
    }
  }

  /// Log-softmax of a vector, or of each row when `columns` is given.
  public static func logSoftmax<T: KernelScalar>(
    _ input: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try mapRows(input, columns) { (x, y, r, c) throws(SoftmaxKernelsError) in
      try logSoftmax(rows: r, columns: c, input: x, output: y, options: options)
    }
  }

  /// Log-sum-exp of a vector.
  public static func logSumExp<T: KernelScalar>(
    _ input: [T], options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    try input.withUnsafeBufferPointer { (x) throws(SoftmaxKernelsError) in
      try logSumExp(x, options: options)
    }
  }

  /// Log-sum-exp of each row of `columns` entries (`input.count` must be a multiple of it).
  public static func logSumExp<T: KernelScalar>(
    _ input: [T], columns: Int, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    let (r, c) = try shape(input.count, columns)
    var result = [T](repeating: 0, count: r)
    try input.withUnsafeBufferPointer { (x) throws(SoftmaxKernelsError) in
      try result.withUnsafeMutableBufferPointer { (y) throws(SoftmaxKernelsError) in
        try logSumExp(rows: r, columns: c, input: x, output: y, options: options)
      }
    }
    return result
  }

  /// Softmax gradient `y (g - sum g y)` per row (the whole array is one row without `columns`).
  public static func softmaxBackward<T: KernelScalar>(
    output: [T], outputGradient: [T], columns: Int? = nil,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try checkCounts(output.count, outputGradient.count, "outputGradient")
    return try mapRows(output, columns) { (y, dx, r, c) throws(SoftmaxKernelsError) in
      try outputGradient.withUnsafeBufferPointer { (g) throws(SoftmaxKernelsError) in
        try softmaxBackward(
          rows: r, columns: c, output: y, outputGradient: g, inputGradient: dx, options: options)
      }
    }
  }

  /// Log-softmax gradient `g - exp(z) sum g` per row.
  public static func logSoftmaxBackward<T: KernelScalar>(
    output: [T], outputGradient: [T], columns: Int? = nil,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try checkCounts(output.count, outputGradient.count, "outputGradient")
    return try mapRows(output, columns) { (z, dx, r, c) throws(SoftmaxKernelsError) in
      try outputGradient.withUnsafeBufferPointer { (g) throws(SoftmaxKernelsError) in
        try logSoftmaxBackward(
          rows: r, columns: c, output: z, outputGradient: g, inputGradient: dx, options: options)
      }
    }
  }
}
