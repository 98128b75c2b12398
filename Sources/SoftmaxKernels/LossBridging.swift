// Pieces shared by the losses and the functions with several outputs or inputs: the checked
// layout of a `Rows` argument, the overlap checks of the outputs (one mechanism: the memory of
// each argument, compared pairwise), optional spans, and arrays written through a mutable span.

extension RowLayout {
  /// The checked layout of the rows `argument` (its shape and stride are named
  /// `<argument>.rows`, `.columns`, `.rowStride`; the names are only built when an error is
  /// thrown).
  @inline(__always)
  static func checked<T>(_ rows: Rows<T>, _ argument: String) throws(SoftmaxKernelsError) -> RowLayout {
    try validated(
      rows: rows.rows, columns: rows.columns, stride: rows.rowStride, count: rows.buffer.count,
      argument: argument, strideArgument: argument + ".rowStride", matrixArgument: argument)
  }

  /// The checked layout of the output rows `argument`, which must have the shape of `input`
  /// and be disjoint from it or exactly its rows (in place).
  @inline(__always)
  static func checked<T, U>(
    _ rows: MutableRows<T>, _ argument: String, reading input: (Rows<U>, RowLayout)
  ) throws(SoftmaxKernelsError) -> RowLayout {
    guard rows.rows == input.0.rows, rows.columns == input.0.columns else {
      throw .invalidArgument(
        argument: argument,
        reason: "\(rows.rows) x \(rows.columns), expected \(input.0.rows) x \(input.0.columns) as its input")
    }
    let layout = try checked(rows.readOnly, argument)
    try checkAliasing(
      input: UnsafeRawPointer(input.0.buffer.baseAddress), input.1, U.self,
      output: UnsafeRawPointer(rows.buffer.baseAddress), layout, T.self, outputArgument: argument)
    return layout
  }
}

/// The memory one argument of a loss call occupies (raw addresses, so that `Int` targets and
/// argmax outputs compare with `T` buffers), for the overlap checks of the outputs.
struct ArgumentMemory {
  /// The argument's label, named in the error.
  var name: String
  var lower: UInt, upper: UInt

  /// The first `count` elements of `buffer`; `nil` when there is no memory to overlap.
  init?<T>(_ name: String, _ buffer: UnsafeBufferPointer<T>?, count: Int) {
    guard let base = buffer?.baseAddress, count > 0 else { return nil }
    self.name = name
    lower = UInt(bitPattern: base)
    upper = lower + UInt(count * MemoryLayout<T>.stride)
  }

  /// The first `count` elements of a mutable `buffer`.
  init?<T>(_ name: String, _ buffer: UnsafeMutableBufferPointer<T>?, count: Int) {
    self.init(name, buffer.map { UnsafeBufferPointer($0) }, count: count)
  }

  /// The memory `layout` spans in `rows` (first row to the end of the last).
  init?<T>(_ name: String, _ rows: Rows<T>?, _ layout: RowLayout?) {
    self.init(name, rows?.buffer, count: layout?.span ?? 0)
  }
}

/// Throws `invalidArgument` naming `output` when it overlaps `input` (`nil`: an absent argument).
func checkDisjoint(_ output: ArgumentMemory?, _ input: ArgumentMemory?) throws(SoftmaxKernelsError) {
  guard let output, let input, output.lower < input.upper && input.lower < output.upper else { return }
  throw .invalidArgument(argument: output.name, reason: "overlaps \(input.name)")
}

/// Throws `invalidArgument` naming the first of `outputs` that overlaps one of `inputs` or an
/// output before it (`nil` entries are absent arguments).
func checkDisjoint(outputs: [ArgumentMemory?], inputs: [ArgumentMemory?]) throws(SoftmaxKernelsError) {
  var earlier = inputs
  for output in outputs {
    for other in earlier { try checkDisjoint(output, other) }
    earlier.append(output)
  }
}

/// Calls `body` with the span's memory, or with `nil`.
@inline(__always)
func withBufferIfPresent<T, R>(
  _ span: Span<T>?, _ body: (UnsafeBufferPointer<T>?) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  guard let span else { return try body(nil) }
  return try withBuffer(span) { (x) throws(SoftmaxKernelsError) in try body(x) }
}

/// An array of `count` elements that `body` writes through a mutable span, and what `body`
/// returns (the Array forms of the losses call their Span forms with it).
@inline(__always)
func makeArray<T, R>(
  count: Int, writing body: (inout MutableSpan<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> (array: [T], result: R) {
  var result: R?
  let array = try makeArray(count: count) { (y: UnsafeMutableBufferPointer<T>) throws(SoftmaxKernelsError) in
    var span = y.mutableSpan
    result = try body(&span)
  }
  return (array, result!)
}
