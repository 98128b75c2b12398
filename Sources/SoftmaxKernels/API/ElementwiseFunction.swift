// The elementwise functions (sigmoid, log-sigmoid, softplus) and their gradients: each
// conformer implements the vector form; the strided, Span and Array forms are written here
// once for all of them.

/// A function applied to each element (`Sigmoid`, `LogSigmoid`, `Softplus`).
///
/// Every conformer has the same forms: a vector (`UnsafeBufferPointer`), strided rows
/// (``Rows`` / ``MutableRows``, run as one vector when both are contiguous, else row by row),
/// `Span` / `MutableSpan` and `Array`, each also in place. A call that throws has written
/// nothing.
public protocol ElementwiseFunction {
  /// The function's options; `Options()` gives its defaults.
  associatedtype Options: KernelOptions

  /// `output[i] = f(input[i])`. `output` (same count) may be the input's memory (in place);
  /// any other overlap throws.
  static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension ElementwiseFunction {
  /// The function of each element of the rows of `input`, into `output` (same shape).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, into: output) { (x, y) throws(SoftmaxKernelsError) in
      try forward(x, into: y, options: options)
    }
  }

  /// `output[i] = f(input[i])` (same count).
  public static func forward<T: KernelScalar>(
    _ input: Span<T>, into output: inout MutableSpan<T>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&output) { (y) throws(SoftmaxKernelsError) in
        try forward(x, into: y, options: options)
      }
    }
  }

  /// `values[i] = f(values[i])`.
  public static func forward<T: KernelScalar>(
    _ values: inout MutableSpan<T>, options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableBuffer(&values) { (y) throws(SoftmaxKernelsError) in
      try forward(UnsafeBufferPointer(y), into: y, options: options)
    }
  }

  /// `f` of every element.
  public static func forward<T: KernelScalar>(
    _ input: [T], options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try makeArray(count: x.count) { (y) throws(SoftmaxKernelsError) in
        try forward(x, into: y, options: options)
      }
    }
  }

  /// `f` of every element, in place.
  public static func forward<T: KernelScalar>(
    _ values: inout [T], options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableSpan(&values) { (span) throws(SoftmaxKernelsError) in try forward(&span, options: options) }
  }
}

/// An elementwise function whose vector-Jacobian product is computed from its forward *input*.
public protocol ElementwiseGradient: ElementwiseFunction {
  /// `inputGradient[i] = outputGradient[i] f'(input[i])` (all the same count). `inputGradient`
  /// may be the memory of either input (in place); any other overlap throws.
  static func backward<T: KernelScalar>(
    input: UnsafeBufferPointer<T>, outputGradient: UnsafeBufferPointer<T>,
    into inputGradient: UnsafeMutableBufferPointer<T>, options: Options
  ) throws(SoftmaxKernelsError)
}

extension ElementwiseGradient {
  /// The input gradient of each element of the rows of `input` (all the same shape).
  public static func backward<T: KernelScalar>(
    input: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(input, outputGradient: outputGradient, into: inputGradient) { (x, g, dx) throws(SoftmaxKernelsError) in
      try backward(input: x, outputGradient: g, into: dx, options: options)
    }
  }

  /// `inputGradient[i] = outputGradient[i] f'(input[i])` (all the same count).
  public static func backward<T: KernelScalar>(
    input: Span<T>, outputGradient: Span<T>, into inputGradient: inout MutableSpan<T>,
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

  /// The input gradient `outputGradient[i] f'(input[i])` of every element.
  public static func backward<T: KernelScalar>(
    input: [T], outputGradient: [T], options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(input) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try makeArray(count: x.count) { (dx) throws(SoftmaxKernelsError) in
          try checkCount(g.count, equals: x.count, "outputGradient")
          try backward(input: x, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }
}

/// Runs an elementwise `body` on matrices of one shape: once on the whole extent when both are
/// contiguous (or there is one row), else once per row; once on empty buffers when there is
/// nothing to compute (so that the options are still checked). The matrices are checked
/// first, so a call that throws has written nothing.
func forEachRow<T, U>(
  _ input: Rows<T>, into output: MutableRows<U>,
  _ body: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<U>) throws(SoftmaxKernelsError) -> Void
) throws(SoftmaxKernelsError) {
  let m = try CheckedRows(input, into: output)
  guard let x = m.input, let y = m.output else { return try body(.init(start: nil, count: 0), .init(start: nil, count: 0)) }
  let (count, length) = m.isContiguous ? (1, m.rows * m.columns) : (m.rows, m.columns)
  for r in 0..<count {
    try body(.init(start: x + r * m.inputStride, count: length), .init(start: y + r * m.outputStride, count: length))
  }
}

/// `forEachRow` for a gradient: the forward `value` (named `valueName`) and the upstream
/// gradient are read, the input gradient written.
func forEachRow<T, U>(
  _ value: Rows<T>, _ valueName: String = "input", outputGradient: Rows<T>, into inputGradient: MutableRows<U>,
  _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<U>) throws(SoftmaxKernelsError) -> Void
) throws(SoftmaxKernelsError) {
  let m = try CheckedGradientRows(value, valueName, outputGradient: outputGradient, into: inputGradient)
  guard let v = m.value, let g = m.outputGradient, let dx = m.inputGradient else {
    return try body(.init(start: nil, count: 0), .init(start: nil, count: 0), .init(start: nil, count: 0))
  }
  let (count, length) = m.isContiguous ? (1, m.rows * m.columns) : (m.rows, m.columns)
  for r in 0..<count {
    try body(
      .init(start: v + r * m.valueStride, count: length), .init(start: g + r * m.outputGradientStride, count: length),
      .init(start: dx + r * m.inputGradientStride, count: length))
  }
}
