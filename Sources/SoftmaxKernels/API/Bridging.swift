// From the Span and Array forms of the public functions to their buffer forms: written once,
// used by every family. None of these allocate except `makeArray`, which allocates the result.

/// `(rows, columns)` of `count` elements used as rows of `columns` (one row without it).
@inline(__always)
func rowShape(_ count: Int, columns: Int?) throws(SoftmaxKernelsError) -> (rows: Int, columns: Int) {
  guard let columns else { return (1, count) }
  guard columns > 0 else {
    throw .invalidArgument(argument: "columns", reason: "\(columns) is not positive")
  }
  guard count % columns == 0 else {
    throw .invalidArgument(
      argument: "columns", reason: "\(count) elements are not a whole number of rows of \(columns)")
  }
  return (count / columns, columns)
}

/// Throws unless `actual == expected` (two arguments that must have the same count).
func checkCount(_ actual: Int, equals expected: Int, _ argument: String) throws(SoftmaxKernelsError) {
  guard expected == actual else {
    throw .countMismatch(argument: argument, expected: expected, actual: actual)
  }
}

/// Calls `body` with the span's memory.
@inline(__always)
func withBuffer<T, R>(
  _ span: Span<T>, _ body: (UnsafeBufferPointer<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  var result: Result<R, SoftmaxKernelsError>!
  span.withUnsafeBufferPointer { x in
    result = Result { () throws(SoftmaxKernelsError) in try body(x) }
  }
  return try result.get()
}

// MARK: - Arrays
//
// The Array forms reach an array's memory only through `withUnsafeBufferPointer` /
// `withUnsafeMutableBufferPointer`, never through `Array.span` / `mutableSpan`: in a release
// build of a client (Swift 6.3.1, the library's Array forms optimised into the caller), a
// temporary array argument, `Sigmoid.forward([x])` with `x` known only at run time, was
// released right after its `span` was taken, and the kernels read freed memory (the result of
// zeros; found by an outside review, 2026-11-30, fixed by these helpers). The closure forms keep
// the array alive until they return. `ArrayLifetimeCheck` (in softmax-bench, run by CI) calls
// every Array form that way in a release client.

/// Calls `body` with the array's memory (the array alive until `body` returns).
@inline(__always)
func withBuffer<T, R>(
  _ array: [T], _ body: (UnsafeBufferPointer<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  var result: Result<R, SoftmaxKernelsError>!
  array.withUnsafeBufferPointer { x in
    result = Result { () throws(SoftmaxKernelsError) in try body(x) }
  }
  return try result.get()
}

/// Calls `body` with the memory of `array`, or with `nil`.
@inline(__always)
func withBufferIfPresent<T, R>(
  _ array: [T]?, _ body: (UnsafeBufferPointer<T>?) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  guard let array else { return try body(nil) }
  return try withBuffer(array) { (x) throws(SoftmaxKernelsError) in try body(x) }
}

/// Calls `body` with a span of the array's memory (the array alive until `body` returns).
@inline(__always)
func withSpan<T, R>(
  _ array: [T], _ body: (Span<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  try withBuffer(array) { (x) throws(SoftmaxKernelsError) in try body(x.span) }
}

/// Calls `body` with a span of the memory of `array`, or with `nil`.
@inline(__always)
func withSpanIfPresent<T, R>(
  _ array: [T]?, _ body: (Span<T>?) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  guard let array else { return try body(nil) }
  return try withSpan(array) { (x) throws(SoftmaxKernelsError) in try body(x) }
}

/// Calls `body` with a mutable span of the array's memory.
@inline(__always)
func withMutableSpan<T, R>(
  _ array: inout [T], _ body: (inout MutableSpan<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  var result: Result<R, SoftmaxKernelsError>!
  array.withUnsafeMutableBufferPointer { y in
    var span = y.mutableSpan
    result = Result { () throws(SoftmaxKernelsError) in try body(&span) }
  }
  return try result.get()
}

/// Calls `body` with the mutable span's memory.
@inline(__always)
func withMutableBuffer<T, R>(
  _ span: inout MutableSpan<T>, _ body: (UnsafeMutableBufferPointer<T>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  var result: Result<R, SoftmaxKernelsError>!
  span.withUnsafeMutableBufferPointer { y in
    result = Result { () throws(SoftmaxKernelsError) in try body(y) }
  }
  return try result.get()
}

/// An array of `count` elements filled by `body`; when `body` throws (having written
/// nothing), the error is rethrown.
@inline(__always)
func makeArray<T>(
  count: Int, _ body: (UnsafeMutableBufferPointer<T>) throws(SoftmaxKernelsError) -> Void
) throws(SoftmaxKernelsError) -> [T] {
  var failure: SoftmaxKernelsError?
  let result = [T](unsafeUninitializedCapacity: count) { y, initialized in
    do throws(SoftmaxKernelsError) {
      try body(y)
      initialized = count
    } catch {
      initialized = 0
      failure = error
    }
  }
  if let failure { throw failure }
  return result
}

extension Rows {
  /// `count` elements of `buffer` as rows of `columns` (one row without it).
  @inline(__always)
  init(_ buffer: UnsafeBufferPointer<Element>, columns: Int?) throws(SoftmaxKernelsError) {
    let shape = try rowShape(buffer.count, columns: columns)
    self.init(buffer, rows: shape.rows, columns: shape.columns)
  }
}

extension MutableRows {
  /// `count` elements of `buffer` as rows of `columns` (one row without it).
  @inline(__always)
  init(_ buffer: UnsafeMutableBufferPointer<Element>, columns: Int?) throws(SoftmaxKernelsError) {
    let shape = try rowShape(buffer.count, columns: columns)
    self.init(buffer, rows: shape.rows, columns: shape.columns)
  }
}
