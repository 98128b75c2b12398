// Views of row-major matrices in caller-owned memory: the strided form of every row-wise
// function takes its matrices as `Rows` / `MutableRows`.

/// A read-only view of `rows` rows of `columns` elements in `buffer`, row `r` starting at
/// element `r * rowStride`.
///
/// Making a view checks nothing; the function it is passed to checks that the buffer holds the
/// rows (`(rows - 1) * rowStride + columns` elements), that `rowStride >= columns` when there is
/// more than one row, and that nothing overflows, and throws an error naming its argument
/// before it writes anything.
public struct Rows<Element> {
  /// The memory the rows live in.
  public var buffer: UnsafeBufferPointer<Element>
  /// The number of rows.
  public var rows: Int
  /// The number of elements of each row.
  public var columns: Int
  /// Elements from the start of one row to the start of the next.
  public var rowStride: Int

  /// `rows` rows of `columns` elements, `rowStride` apart (`columns` by default: contiguous).
  public init(_ buffer: UnsafeBufferPointer<Element>, rows: Int, columns: Int, rowStride: Int? = nil) {
    self.buffer = buffer
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
  }

  /// The whole buffer as one row.
  public init(vector buffer: UnsafeBufferPointer<Element>) {
    self.init(buffer, rows: 1, columns: buffer.count)
  }
}

/// A writable view of `rows` rows of `columns` elements in `buffer`, row `r` starting at
/// element `r * rowStride`. Checked by the function it is passed to, as `Rows`.
public struct MutableRows<Element> {
  /// The memory the rows live in.
  public var buffer: UnsafeMutableBufferPointer<Element>
  /// The number of rows.
  public var rows: Int
  /// The number of elements of each row.
  public var columns: Int
  /// Elements from the start of one row to the start of the next.
  public var rowStride: Int

  /// `rows` rows of `columns` elements, `rowStride` apart (`columns` by default: contiguous).
  public init(
    _ buffer: UnsafeMutableBufferPointer<Element>, rows: Int, columns: Int, rowStride: Int? = nil
  ) {
    self.buffer = buffer
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
  }

  /// The whole buffer as one row.
  public init(vector buffer: UnsafeMutableBufferPointer<Element>) {
    self.init(buffer, rows: 1, columns: buffer.count)
  }

  /// The same rows, read-only (an output that is also an input: in place).
  public var readOnly: Rows<Element> {
    Rows(UnsafeBufferPointer(buffer), rows: rows, columns: columns, rowStride: rowStride)
  }
}
