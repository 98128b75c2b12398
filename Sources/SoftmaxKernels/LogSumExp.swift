// Log-sum-exp of a vector or of the rows of a matrix.

import SoftmaxKernelsCore

/// Log-sum-exp `m + log S` of a vector or of each row of a row-major matrix
/// (`m = max_j x_j`, `S = sum_j exp(x_j - m)`): one value per row.
///
/// An empty row gives `-inf`. Special values, accuracy (error at most 2e-6 (Float) / 5e-15
/// (Double) in units of `max(|lse|, |max x|)`), reproducibility and threading are those of the
/// family, documented on ``Softmax``.
public enum LogSumExp {
  /// Log-sum-exp of each row of `input`, written to `output[r]` (`input.rows` elements).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: UnsafeMutableBufferPointer<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    guard output.count >= max(input.rows, 0) else {
      throw .bufferTooSmall(argument: "output", required: input.rows, actual: output.count)
    }
    try softmaxForward(
      .logSumExp, input, output: MutableRows(.init(start: nil, count: 0), rows: 0, columns: 0),
      logSumExp: output, options: options)
  }

  /// Log-sum-exp of each row of `columns` elements of `input`, written to `output` (one
  /// element per row).
  public static func forward<T: KernelScalar>(
    _ input: Span<T>, columns: Int, into output: inout MutableSpan<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      try checkCount(output.count, equals: rows.rows, "output")
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(rows, into: y, options: options)
      }
    }
  }

  /// Log-sum-exp of the whole buffer (`-inf` when it is empty).
  public static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    var result = T.nan
    try withUnsafeMutablePointer(to: &result) { (p) throws(SoftmaxKernelsError) in
      try forward(Rows(vector: input), into: UnsafeMutableBufferPointer(start: p, count: 1), options: options)
    }
    return result
  }

  /// Log-sum-exp of the whole of `input` (`-inf` when it is empty).
  public static func forward<T: KernelScalar>(
    _ input: Span<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in try forward(x, options: options) }
  }

  /// Log-sum-exp of the whole array (`-inf` when it is empty).
  public static func forward<T: KernelScalar>(
    _ input: [T], options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> T {
    try withSpan(input) { (inputSpan) throws(SoftmaxKernelsError) in
      try forward(inputSpan, options: options)
    }
  }

  /// Log-sum-exp of each row of `columns` elements (`input.count` must be a multiple of it).
  public static func forward<T: KernelScalar>(
    _ input: [T], columns: Int, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      return try makeArray(count: rows.rows) { (y) throws(SoftmaxKernelsError) in
        try forward(rows, into: y, options: options)
      }
    }
  }

  // MARK: 16-bit rows

  /// The log-sum-exp of each 16-bit row of `input` (`Float16`, ``BFloat16``; `Float`
  /// arithmetic), rounded once to the input's type: a `Float16` result above 65504 becomes
  /// `+inf` (write `Float` outputs to keep it). `output` holds at least `input.rows` values.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: UnsafeMutableBufferPointer<H>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    guard output.count >= max(input.rows, 0) else {
      throw .bufferTooSmall(argument: "output", required: input.rows, actual: output.count)
    }
    try softmaxForward(
      .logSumExp, input, output: MutableRows(.init(start: nil, count: 0), rows: 0, columns: 0),
      logSumExp: output, options: options
    ) { H.halfKernels($0).softmax }
  }

  /// The log-sum-exp of each 16-bit row of `input`, written as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: UnsafeMutableBufferPointer<Float>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    guard output.count >= max(input.rows, 0) else {
      throw .bufferTooSmall(argument: "output", required: input.rows, actual: output.count)
    }
    try softmaxForward(
      .logSumExp, input, output: MutableRows(.init(start: nil, count: 0), rows: 0, columns: 0),
      logSumExp: output, options: options
    ) { H.halfKernels($0).softmaxToFloat }
  }

  /// The log-sum-exp of the 16-bit vector `input`, as `Float` (finite where a 16-bit result
  /// would overflow).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: [H], options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> Float {
    var result = Float.nan
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withUnsafeMutablePointer(to: &result) { (p) throws(SoftmaxKernelsError) in
        try forward(Rows(vector: x), into: UnsafeMutableBufferPointer(start: p, count: 1), options: options)
      }
    }
    return result
  }

  /// The log-sum-exp of each 16-bit row of `input` (rows of `columns` elements), in the
  /// input's type.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: [H], columns: Int, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [H] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      return try makeArray(count: rows.rows) { (y) throws(SoftmaxKernelsError) in
        try forward(rows, into: y, options: options)
      }
    }
  }
}
