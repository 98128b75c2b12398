// The checked matrices of the row-wise calls: one place that validates the shapes, strides,
// buffer sizes and overlaps of a forward call (one matrix read, one written) and of a backward
// call (two read, one written), so that every function checks the same way and names the same
// arguments.

/// The matrices of a call that reads `input` and writes `output` of the same shape. `output`
/// is disjoint from `input` or exactly its rows (same start and stride, same type: in place).
struct CheckedRows<T, U> {
  let rows: Int
  let columns: Int
  let inputStride: Int
  let outputStride: Int
  /// The first rows; `nil` when there is nothing to compute (no rows or no columns).
  let input: UnsafePointer<T>?
  let output: UnsafeMutablePointer<U>?

  /// Checks `input` and `output` (named `inputName` / `outputName` in errors).
  @inline(__always)
  init(
    _ input: Rows<T>, into output: MutableRows<U>, inputName: String = "input", outputName: String = "output"
  ) throws(SoftmaxKernelsError) {
    (rows, columns) = (input.rows, input.columns)
    let inLayout = try RowLayout.input(input, inputName)
    let outLayout = try RowLayout.output(
      output, outputName, rows: rows, columns: columns, reading: (input.buffer, inLayout))
    (inputStride, outputStride) = (inLayout.stride, outLayout.stride)
    let empty = rows == 0 || columns == 0
    self.input = empty ? nil : input.buffer.baseAddress
    self.output = empty ? nil : output.buffer.baseAddress
  }

  /// Every row is contiguous with the next (or there is one row): the rows are one vector.
  var isContiguous: Bool { rows <= 1 || (inputStride == columns && outputStride == columns) }
}

/// The matrices of a backward call: the forward `value` (its input or output, named
/// `valueName`) and the upstream gradient are read, the input gradient is written (all the same
/// shape; the input gradient is disjoint from each, or exactly the rows of one: in place).
struct CheckedGradientRows<T, U> {
  let rows: Int
  let columns: Int
  let valueStride: Int
  let outputGradientStride: Int
  let inputGradientStride: Int
  /// The first rows; `nil` when there is nothing to compute (no rows or no columns).
  let value: UnsafePointer<T>?
  let outputGradient: UnsafePointer<T>?
  let inputGradient: UnsafeMutablePointer<U>?

  @inline(__always)
  init(
    _ value: Rows<T>, _ valueName: String, outputGradient: Rows<T>, into inputGradient: MutableRows<U>
  ) throws(SoftmaxKernelsError) {
    (rows, columns) = (value.rows, value.columns)
    let vLayout = try RowLayout.input(value, valueName)
    let gLayout = try RowLayout.input(outputGradient, "outputGradient", rows: rows, columns: columns)
    let dxLayout = try RowLayout.output(
      inputGradient, "inputGradient", rows: rows, columns: columns,
      reading: (value.buffer, vLayout), alsoReading: (outputGradient.buffer, gLayout))
    (valueStride, outputGradientStride, inputGradientStride) = (vLayout.stride, gLayout.stride, dxLayout.stride)
    let empty = rows == 0 || columns == 0
    self.value = empty ? nil : value.buffer.baseAddress
    self.outputGradient = empty ? nil : outputGradient.buffer.baseAddress
    self.inputGradient = empty ? nil : inputGradient.buffer.baseAddress
  }

  /// Every row is contiguous with the next (or there is one row): the rows are one vector.
  var isContiguous: Bool {
    rows <= 1 || (valueStride == columns && outputGradientStride == columns && inputGradientStride == columns)
  }
}
