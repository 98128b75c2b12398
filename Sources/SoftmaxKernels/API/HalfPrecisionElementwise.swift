// The elementwise functions that also read and write 16-bit values (`Float16`, `BFloat16`):
// each conformer implements the two vector forms (16-bit output, `Float` output); the strided,
// `Span` and `Array` forms are written here once for all of them.

/// An ``ElementwiseFunction`` that also applies to values stored in a 16-bit type
/// (``HalfPrecisionStorage``: `Float16`, ``BFloat16``), with `Float` arithmetic inside and each
/// output rounded once, to nearest even, to the same 16-bit type or to `Float` (``Sigmoid``,
/// ``LogSigmoid``, ``Softplus``).
///
/// A 16-bit input is widened exactly to `Float` and computed by the `Float` kernel of the same
/// level, so a `Float` output is bitwise the `Float` function of the widened input, and a 16-bit
/// output is that value rounded once: within 1 ulp of the 16-bit type of a float64 reference
/// (the `Float` result's few units of `2^-24` can only move a value lying that close to a
/// rounding boundary), plus, for the gradients (and softplus with a small `beta`), the absolute
/// error the `Float` kernel has where `e^-|x|` is subnormal, `|x| > 87.3`: up to
/// `1.5 * 2^-149 * |outputGradient|` (`/ beta` for softplus), which only `BFloat16` can reach
/// (with upstream gradients above about 2^12). Parameters (``SoftplusOptions``) are rounded to
/// `Float`. Results beyond the 16-bit type's range follow its rounding: `Float16` softplus
/// overflows to `+inf` only where `log1p(e^(-beta x)) / beta` pushes `x` past 65520 (`beta`
/// below about 1e-4 near `x = 65504`, e.g. `beta = 9e-5`; below 1.1e-5 anywhere); results below
/// half the smallest positive value become 0: `2^-25` for `Float16` (e.g. `sigmoid(-18)`) and
/// `2^-134` for `BFloat16` (e.g. `sigmoid(-94)`, which `Float` keeps as 1.5e-41).
///
/// The forms mirror the `Float` ones: buffers, strided rows (`Rows` / `MutableRows`, run as one
/// vector when both are contiguous, else row by row), `Span` / `MutableSpan` and `Array`, in
/// place where the output has the input's type. A call that throws has written nothing.
public protocol HalfPrecisionElementwiseFunction: ElementwiseFunction {
  /// `output[i] = f(input[i])` in the input's 16-bit type; `output` (same count) may be the
  /// input's memory (in place); any other overlap throws.
  static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<H>, options: Options
  ) throws(SoftmaxKernelsError)

  /// `output[i] = f(input[i])` as `Float` (same count; disjoint from the input).
  static func forward<H: HalfPrecisionStorage>(
    _ input: UnsafeBufferPointer<H>, into output: UnsafeMutableBufferPointer<Float>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension HalfPrecisionElementwiseFunction {
  /// The function of each element of the 16-bit rows of `input`, in the same type (same shape;
  /// may be the input's rows: in place).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, into: output) { (x, y) throws(SoftmaxKernelsError) in
      try forward(x, into: y, options: options)
    }
  }

  /// The function of each element of the 16-bit rows of `input`, as `Float` (same shape).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, into: output) { (x, y) throws(SoftmaxKernelsError) in
      try forward(x, into: y, options: options)
    }
  }

  /// `output[i] = f(input[i])` (same count) in the input's type.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Span<H>, into output: inout MutableSpan<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, into: y, options: options)
      }
    }
  }

  /// `output[i] = f(input[i])` (same count) as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Span<H>, into output: inout MutableSpan<Float>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, into: y, options: options)
      }
    }
  }

  /// `values[i] = f(values[i])`.
  public static func forward<H: HalfPrecisionStorage>(
    _ values: inout MutableSpan<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableBuffer(&values) { (y) throws(SoftmaxKernelsError) in
      try forward(UnsafeBufferPointer(y), into: y, options: options)
    }
  }

  /// `f` of every element, in the input's type.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: [H], options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [H] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try makeArray(count: x.count) { (y: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
        try forward(x, into: y, options: options)
      }
    }
  }

  /// `f` of every element, in place.
  public static func forward<H: HalfPrecisionStorage>(
    _ values: inout [H], options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableSpan(&values) { (span) throws(SoftmaxKernelsError) in try forward(&span, options: options) }
  }
}

/// An ``ElementwiseGradient`` whose vector-Jacobian product also applies to 16-bit values: the
/// forward input and the upstream gradient in a 16-bit type, the input gradient in the same
/// type or in `Float` (``Sigmoid``, ``LogSigmoid``, ``Softplus``), computed in `Float` and
/// rounded once.
public protocol HalfPrecisionElementwiseGradient: HalfPrecisionElementwiseFunction, ElementwiseGradient {
  /// `inputGradient[i] = outputGradient[i] f'(input[i])` in the inputs' 16-bit type (all the
  /// same count); `inputGradient` may be the memory of either input (in place).
  static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<H>, options: Options
  ) throws(SoftmaxKernelsError)

  /// The same, written as `Float` (disjoint from the inputs).
  static func backward<H: HalfPrecisionStorage>(
    input: UnsafeBufferPointer<H>, outputGradient: UnsafeBufferPointer<H>,
    into inputGradient: UnsafeMutableBufferPointer<Float>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension HalfPrecisionElementwiseGradient {
  /// The input gradient of each element of the 16-bit rows of `input`, in the same type (all
  /// the same shape).
  public static func backward<H: HalfPrecisionStorage>(
    input: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, outputGradient: outputGradient, into: inputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try backward(input: x, outputGradient: g, into: dx, options: options)
    }
  }

  /// The input gradient of each element of the 16-bit rows of `input`, as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    input: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, outputGradient: outputGradient, into: inputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try backward(input: x, outputGradient: g, into: dx, options: options)
    }
  }

  /// `inputGradient[i] = outputGradient[i] f'(input[i])` (all the same count).
  public static func backward<H: HalfPrecisionStorage>(
    input: Span<H>, outputGradient: Span<H>, into inputGradient: inout MutableSpan<H>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try withMutableBuffer(&inputGradient) { (dx) throws(SoftmaxKernelsError) in
          try backward(input: x, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }

  /// `inputGradient[i] = outputGradient[i] f'(input[i])` as `Float` (all the same count).
  public static func backward<H: HalfPrecisionStorage>(
    input: Span<H>, outputGradient: Span<H>, into inputGradient: inout MutableSpan<Float>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try withMutableBuffer(&inputGradient) { (dx) throws(SoftmaxKernelsError) in
          try backward(input: x, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }

  /// The input gradient `outputGradient[i] f'(input[i])` of every element, in the inputs' type.
  public static func backward<H: HalfPrecisionStorage>(
    input: [H], outputGradient: [H], options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [H] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try makeArray(count: x.count) { (dx: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
          try checkCount(g.count, equals: x.count, "outputGradient")
          try backward(input: x, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }
}
