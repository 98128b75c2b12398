// The row-wise functions (softmax, log-softmax, StableMax, attention weights) and their
// gradients: each conformer implements the strided form; the Span and Array forms are
// written here once for all of them.

/// A function applied to each row of a row-major matrix, giving a row of the same length
/// (`Softmax`, `LogSoftmax`, `StableMax`, `LogStableMax`, `SigmoidAttention`,
/// `SoftplusAttention`).
///
/// Every conformer has the same forms: strided buffers (`Rows` / `MutableRows`), `Span` /
/// `MutableSpan` and `Array`, each also in place. Without `columns` the whole input is one row.
/// A call that throws has written nothing.
public protocol RowwiseFunction {
  /// The function's options; `Options()` gives its defaults.
  associatedtype Options: KernelOptions

  /// Applies the function to each row of `input`, writing `output` (same shape). `output` may
  /// be the input's memory (same start and stride: in place); any other overlap throws.
  static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension RowwiseFunction {
  /// Applies the function to each row of `input` (contiguous rows of `columns` elements; one
  /// row without it), writing `output` (same count; may be the input's memory).
  public static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, columns: Int? = nil, into output: UnsafeMutableBufferPointer<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try checkCount(output.count, equals: input.count, "output")
    try forward(Rows(input, columns: columns), into: MutableRows(output, columns: columns), options: options)
  }

  /// Applies the function to each row of `input` (contiguous rows of `columns` elements; one
  /// row without it), writing `output` (same count).
  public static func forward<T: KernelScalar>(
    _ input: Span<T>, columns: Int? = nil, into output: inout MutableSpan<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, columns: columns, into: y, options: options)
      }
    }
  }

  /// Applies the function to each row of `values` in place.
  public static func forward<T: KernelScalar>(
    _ values: inout MutableSpan<T>, columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableBuffer(&values) { (y) throws(SoftmaxKernelsError) in
      let rows = try MutableRows(y, columns: columns)
      try forward(rows.readOnly, into: rows, options: options)
    }
  }

  /// The function of each row of `input` (rows of `columns` elements; one row without it).
  public static func forward<T: KernelScalar>(
    _ input: [T], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      return try makeArray(count: x.count) { (y) throws(SoftmaxKernelsError) in
        try forward(rows, into: MutableRows(y, rows: rows.rows, columns: rows.columns), options: options)
      }
    }
  }

  /// Applies the function to each row of `values` in place.
  public static func forward<T: KernelScalar>(
    _ values: inout [T], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableSpan(&values) { (span) throws(SoftmaxKernelsError) in try forward(&span, columns: columns, options: options) }
  }
}

/// A row-wise function whose vector-Jacobian product is computed from its forward *output*
/// (`Softmax`, `LogSoftmax`, `SigmoidAttention`).
public protocol RowwiseGradient: RowwiseFunction {
  /// The input gradient of each row from the forward output `output` and the upstream gradient
  /// `outputGradient` (both the shape of `inputGradient`). `inputGradient` may be the memory
  /// of either input (in place); any other overlap throws.
  static func backward<T: KernelScalar>(
    output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension RowwiseGradient {
  /// The input gradient of each row (contiguous rows of `columns`; one row without it).
  public static func backward<T: KernelScalar>(
    output: Span<T>, outputGradient: Span<T>, columns: Int? = nil,
    into inputGradient: inout MutableSpan<T>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try checkCount(outputGradient.count, equals: output.count, "outputGradient")
    try checkCount(inputGradient.count, equals: output.count, "inputGradient")
    try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try withMutableBuffer(&inputGradient) { (dx) throws(SoftmaxKernelsError) in
          try backward(
            output: Rows(y, columns: columns), outputGradient: Rows(g, columns: columns),
            into: MutableRows(dx, columns: columns), options: options)
        }
      }
    }
  }

  /// The input gradient of each row (rows of `columns` elements; one row without it).
  public static func backward<T: KernelScalar>(
    output: [T], outputGradient: [T], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [T] {
    try checkCount(outputGradient.count, equals: output.count, "outputGradient")
    return try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        let rows = try Rows(y, columns: columns)
        return try makeArray(count: y.count) { (dx) throws(SoftmaxKernelsError) in
          try backward(
            output: rows, outputGradient: Rows(g, rows: rows.rows, columns: rows.columns),
            into: MutableRows(dx, rows: rows.rows, columns: rows.columns), options: options)
        }
      }
    }
  }
}
