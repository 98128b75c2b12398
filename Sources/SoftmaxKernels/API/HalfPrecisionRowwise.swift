// The row-wise functions that also read and write 16-bit rows (`Float16`, `BFloat16`): each
// conformer implements the two strided forms (16-bit output, `Float` output); the buffer,
// `Span` and `Array` forms are written here once for all of them.

/// A ``RowwiseFunction`` that also applies to rows stored in a 16-bit type (``HalfPrecisionStorage``:
/// `Float16`, ``BFloat16``), with `Float` arithmetic inside and each output rounded once, to
/// the same 16-bit type or to `Float` (``Softmax``, ``LogSoftmax``, ``StableMax``, ``LogStableMax``).
///
/// The forms mirror the `Float` ones: strided buffers (`Rows` / `MutableRows`), buffers,
/// `Span` / `MutableSpan` and `Array`, in place where the output has the input's type. Without
/// `columns` the whole input is one row. A call that throws has written nothing.
public protocol HalfPrecisionRowwiseFunction: RowwiseFunction {
  /// Applies the function to each row of the 16-bit `input`, writing `output` in the same type
  /// (same shape; may be the input's memory: in place).
  static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: Options
  ) throws(SoftmaxKernelsError)

  /// Applies the function to each row of the 16-bit `input`, writing `output` as `Float` (same
  /// shape; disjoint from the input).
  static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension HalfPrecisionRowwiseFunction {
  /// Applies the function to each row of `input` (contiguous rows of `columns` elements; one
  /// row without it), writing `output` (same count; may be the input's memory).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, columns: Int? = nil, into output: UnsafeMutableBufferPointer<H>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try checkCount(output.count, equals: input.count, "output")
    try forward(Rows(input, columns: columns), into: MutableRows(output, columns: columns), options: options)
  }

  /// Applies the function to each row of `input` (contiguous rows of `columns` elements; one
  /// row without it), writing `output` as `Float` (same count).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, columns: Int? = nil, into output: UnsafeMutableBufferPointer<Float>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try checkCount(output.count, equals: input.count, "output")
    try forward(Rows(input, columns: columns), into: MutableRows(output, columns: columns), options: options)
  }

  /// Applies the function to each row of `input`, writing `output` (same count).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Span<H>, columns: Int? = nil, into output: inout MutableSpan<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, columns: columns, into: y, options: options)
      }
    }
  }

  /// Applies the function to each row of `input`, writing `output` as `Float` (same count).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Span<H>, columns: Int? = nil, into output: inout MutableSpan<Float>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, columns: columns, into: y, options: options)
      }
    }
  }

  /// Applies the function to each row of `values` in place.
  public static func forward<H: HalfPrecisionStorage>(
    _ values: inout MutableSpan<H>, columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableBuffer(&values) { (y) throws(SoftmaxKernelsError) in
      let rows = try MutableRows(y, columns: columns)
      try forward(rows.readOnly, into: rows, options: options)
    }
  }

  /// The function of each row of `input` (rows of `columns` elements; one row without it), in
  /// the input's type.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: [H], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [H] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      return try makeArray(count: x.count) { (y) throws(SoftmaxKernelsError) in
        try forward(rows, into: MutableRows(y, rows: rows.rows, columns: rows.columns), options: options)
      }
    }
  }

  /// Applies the function to each row of `values` in place.
  public static func forward<H: HalfPrecisionStorage>(
    _ values: inout [H], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableSpan(&values) { (span) throws(SoftmaxKernelsError) in try forward(&span, columns: columns, options: options) }
  }
}

/// A ``RowwiseGradient`` whose vector-Jacobian product also applies to 16-bit rows: the
/// forward output and the upstream gradient in a 16-bit type, the input gradient in the same
/// type or in `Float` (``Softmax``, ``LogSoftmax``).
public protocol HalfPrecisionRowwiseGradient: HalfPrecisionRowwiseFunction, RowwiseGradient {
  /// The input gradient of each row, in the 16-bit type of `output` and `outputGradient` (all
  /// the same shape; `inputGradient` may be the memory of either input: in place).
  static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>, options: Options
  ) throws(SoftmaxKernelsError)

  /// The input gradient of each row, as `Float` (disjoint from the inputs).
  static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension HalfPrecisionRowwiseGradient {
  /// The input gradient of each row (rows of `columns` elements; one row without it), in the
  /// inputs' type.
  public static func backward<H: HalfPrecisionStorage>(
    output: [H], outputGradient: [H], columns: Int? = nil, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [H] {
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
