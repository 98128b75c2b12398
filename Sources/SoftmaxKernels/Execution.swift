// Argument checks, level choice and threading shared by every public entry point.

import Dispatch
import Foundation
import SoftmaxKernelsCore

/// Inputs smaller than this many elements per thread run on the calling thread: below it the
/// dispatch overhead (a few microseconds) is a visible part of the call.
let minimumElementsPerThread = 1 << 16

/// Outputs larger than this many bytes are written with streaming stores by default
/// (`ExecutionOptions.streamingStores`): three quarters of the last-level cache, glibc's
/// threshold for non-temporal `memcpy`; 32 MiB where the cache size is not known. Read once.
let streamingStoreThreshold: Int = {
  #if os(Linux)
  let size = sysconf(Int32(_SC_LEVEL3_CACHE_SIZE))
  if size > 0 { return size / 4 * 3 }
  #endif
  return 32 << 20
}()

/// The level-2 cache of one core in bytes (sysconf), or 1 MiB where it is not known. Read once.
let levelTwoCacheBytes: Int = {
  #if os(Linux)
  let size = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
  if size > 0 { return size }
  #endif
  return 1 << 20
}()

/// Whether the row kernels prefetch each thread's next row into the level-2 cache while they
/// compute the current one (`ForwardBatch.prefetchNextRow`): with more than one row, when the
/// current row and the next fit in half the level-2 cache (rows of up to 256 KiB with 2 MiB),
/// so that the prefetch does not evict the row the last pass reads again. A hint: results
/// never depend on it.
func prefetchesNextRow<T>(rows: Int, columns: Int, _: T.Type) -> Bool {
  rows > 1 && 4 * columns * MemoryLayout<T>.stride <= levelTwoCacheBytes
}

/// Whether the three-pass softmax of rows longer than one block (`reproducibleBlock` entries,
/// normalised block by block) prefetches the next block during the current block's exponential
/// pass (`ForwardBatch.prefetchNextBlock`): when two blocks of the input and the block of
/// exponentials kept in the arithmetic type fit in the level-2 cache (768 KiB for Float rows,
/// 512 KiB for 16-bit ones). A hint: results never depend on it.
func prefetchesNextBlock<T>(columns: Int, _: T.Type, arithmeticBytes: Int) -> Bool {
  columns > reproducibleBlock
    && reproducibleBlock * (2 * MemoryLayout<T>.stride + arithmeticBytes) <= levelTwoCacheBytes
}

/// Runs `body(0..<n)` on up to `n` threads of Dispatch's pool and returns when all are done.
func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
  if iterations == 1 { return body(0) }
  withoutActuallyEscaping(body) { escapable in
    nonisolated(unsafe) let work = escapable
    DispatchQueue.concurrentPerform(iterations: iterations) { work($0) }
  }
}

/// A checked description of row-major rows in a buffer.
struct RowLayout {
  var rows: Int
  var columns: Int
  var stride: Int

  /// Elements from the first row's start to the last row's end.
  var span: Int { rows == 0 || columns == 0 ? 0 : (rows - 1) * stride + columns }

  static func validated(
    rows: Int, columns: Int, stride: Int?, count: Int, argument: String,
    strideArgument: @autoclosure () -> String, matrixArgument: String? = nil
  ) throws(SoftmaxKernelsError) -> RowLayout {
    // A `Rows` view's shape is named after the view ("logits.rows"); a shape passed as its own
    // arguments by its label ("rows").
    func shapeArgument(_ name: String) -> String { matrixArgument.map { $0 + "." + name } ?? name }
    guard rows >= 0 else { throw .invalidArgument(argument: shapeArgument("rows"), reason: "\(rows) is negative") }
    guard columns >= 0 else {
      throw .invalidArgument(argument: shapeArgument("columns"), reason: "\(columns) is negative")
    }
    let stride = stride ?? columns
    if rows > 1 && stride < columns {
      throw .strideTooSmall(argument: strideArgument(), stride: stride, columns: columns)
    }
    guard stride >= 0 else { throw .strideTooSmall(argument: strideArgument(), stride: stride, columns: columns) }
    let (product, overflow) = (rows > 0 ? rows - 1 : 0).multipliedReportingOverflow(by: stride)
    guard !overflow, product <= Int.max - columns else {
      throw .invalidArgument(argument: strideArgument(), reason: "rows x stride overflows Int")
    }
    let layout = RowLayout(rows: rows, columns: columns, stride: stride)
    guard count >= layout.span else {
      throw .bufferTooSmall(argument: argument, required: layout.span, actual: count)
    }
    return layout
  }
}

/// Throws unless `output` is either disjoint from `input` or the same rows (in place: same
/// start, stride and element type).
func checkAliasing<T, U>(
  input: UnsafeRawPointer?, _ inLayout: RowLayout, _: U.Type, output: UnsafeRawPointer?,
  _ outLayout: RowLayout, _: T.Type, outputArgument: String
) throws(SoftmaxKernelsError) {
  guard let input, let output, inLayout.span > 0, outLayout.span > 0 else { return }
  let a = UInt(bitPattern: input), b = UInt(bitPattern: output)
  let aEnd = a + UInt(inLayout.span * MemoryLayout<U>.stride), bEnd = b + UInt(outLayout.span * MemoryLayout<T>.stride)
  let sameRows = a == b && inLayout.stride == outLayout.stride && T.self == U.self
  if a < bEnd && b < aEnd && !sameRows {
    throw .invalidArgument(
      argument: outputArgument,
      reason: "overlaps the input without being the same rows; in place needs equal start and stride")
  }
}

/// The level and thread count a call uses.
struct ExecutionPlan {
  var level: ISALevel
  var threads: Int

  init(_ options: ExecutionOptions, elements: Int) throws(SoftmaxKernelsError) {
    if let requested = options.isa {
      guard requested <= ISALevel.supported else {
        throw .unsupportedISA(requested: requested, supported: ISALevel.supported)
      }
      level = requested
    } else {
      level = ISALevel.active
    }
    if let t = options.threads, t < 1 {
      throw .invalidArgument(argument: "threads", reason: "\(t) is not a positive thread count")
    }
    let wanted = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
    threads = max(1, min(wanted, elements / minimumElementsPerThread))
  }

  /// Runs `rows` rows with the two table entry points: whole rows per thread when there are
  /// enough rows, otherwise each row split into one chunk per thread.
  func run(
    rows: Int, columns: Int,
    wholeRows: (Range<Int>) -> Void,
    splitRow: (_ row: Int, _ chunks: Int, _ parallel: @escaping ParallelFor) -> Void
  ) {
    if threads == 1 || rows == 0 {
      return wholeRows(0..<rows)
    }
    if rows >= 4 * threads || columns < minimumElementsPerThread {
      let t = min(threads, rows)
      parallelFor(t) { i in wholeRows((rows * i / t)..<(rows * (i + 1) / t)) }
    } else {
      for r in 0..<rows { splitRow(r, threads, parallelFor) }
    }
  }
}

/// Rows per group of a reduction over rows: groups hold at least `reductionGroupElements`
/// elements (or one row), a number fixed by the shape alone.
let reductionGroupElements = 1 << 18

extension ExecutionPlan {
  /// Runs `body` on groups of consecutive rows (`reductionGroupElements` elements or more each)
  /// spread over the plan's threads, and merges the partial results in group order. Groups and
  /// merge order depend on the shape only, so every thread count gives bitwise the same result.
  func mapRowGroups<P>(
    _ rows: Int, columns: Int, _ merge: (inout P, P) -> Void, _ body: (Range<Int>) -> P
  ) -> P {
    let perGroup = max(1, reductionGroupElements / max(1, columns))
    let groups = max(1, (rows + perGroup - 1) / perGroup)
    func group(_ g: Int) -> Range<Int> { (g * perGroup)..<min(rows, (g + 1) * perGroup) }
    if groups == 1 { return body(0..<rows) }
    return withUnsafeTemporaryAllocation(of: P.self, capacity: groups) { buffer in
      let base = buffer.baseAddress!
      let t = max(1, min(threads, groups))
      // Thread i runs a contiguous block of groups, so the last row of one of its groups is
      // followed by the first row of its next group: the loss kernels prefetch that row
      // (`CrossEntropyBatch.prefetchNextRow`), and the hardware prefetcher keeps its stream.
      parallelFor(t) { i in
        for g in (groups * i / t)..<(groups * (i + 1) / t) {
          (base + g).initialize(to: body(group(g)))
        }
      }
      var total = base.move()
      for g in 1..<groups { merge(&total, (base + g).move()) }
      return total
    }
  }

  /// `mapRowGroups` for the losses' partial sums.
  func mapRows(_ rows: Int, columns: Int, _ body: (Range<Int>) -> LossPartial) -> LossPartial {
    mapRowGroups(rows, columns: columns, { $0.merge($1) }, body)
  }
}

extension RowLayout {
  /// The checked layout of the input buffer `argument` (its row stride is the argument
  /// `strideArgument`, by default `argument + "RowStride"`; the name is only built when an
  /// error is thrown: a string concatenation on every call cost ~500 instructions).
  @inline(__always)
  static func input<T>(
    _ buffer: UnsafeBufferPointer<T>, rows: Int, columns: Int, stride: Int?, _ argument: String,
    strideArgument: String? = nil
  ) throws(SoftmaxKernelsError) -> RowLayout {
    try validated(
      rows: rows, columns: columns, stride: stride, count: buffer.count, argument: argument,
      strideArgument: strideArgument ?? argument + "RowStride")
  }

  /// The checked layout of the output buffer `argument`, which must be disjoint from the input
  /// `reading` (and `alsoReading`) or exactly its rows (in place).
  @inline(__always)
  static func output<T, U>(
    _ buffer: UnsafeMutableBufferPointer<T>, rows: Int, columns: Int, stride: Int?, _ argument: String,
    strideArgument: String? = nil, reading input: (UnsafeBufferPointer<U>, RowLayout),
    alsoReading second: (UnsafeBufferPointer<U>, RowLayout)? = nil
  ) throws(SoftmaxKernelsError) -> RowLayout {
    let layout = try self.input(
      UnsafeBufferPointer(buffer), rows: rows, columns: columns, stride: stride, argument,
      strideArgument: strideArgument)
    try checkAliasing(
      input: UnsafeRawPointer(input.0.baseAddress), input.1, U.self,
      output: UnsafeRawPointer(buffer.baseAddress), layout, T.self, outputArgument: argument)
    if let (other, otherLayout) = second {
      try checkAliasing(
        input: UnsafeRawPointer(other.baseAddress), otherLayout, U.self,
        output: UnsafeRawPointer(buffer.baseAddress), layout, T.self, outputArgument: argument)
    }
    return layout
  }
}

extension RowLayout {
  /// The checked layout of the matrix argument `argument`; when `rows` / `columns` are given,
  /// the matrix must have that shape (the shape of the call's first matrix).
  @inline(__always)
  static func input<T>(
    _ matrix: Rows<T>, _ argument: String, rows: Int? = nil, columns: Int? = nil
  ) throws(SoftmaxKernelsError) -> RowLayout {
    try checkShape(matrix.rows, matrix.columns, rows, columns, argument)
    return try validated(
      rows: matrix.rows, columns: matrix.columns, stride: matrix.rowStride,
      count: matrix.buffer.count, argument: argument, strideArgument: argument + ".rowStride",
      matrixArgument: argument)
  }

  /// The checked layout of the output matrix `argument` of shape `rows x columns`, which must
  /// be disjoint from the input `reading` (and `alsoReading`) or exactly its rows (in place).
  @inline(__always)
  static func output<T, U>(
    _ matrix: MutableRows<T>, _ argument: String, rows: Int, columns: Int,
    reading input: (UnsafeBufferPointer<U>, RowLayout),
    alsoReading second: (UnsafeBufferPointer<U>, RowLayout)? = nil
  ) throws(SoftmaxKernelsError) -> RowLayout {
    try checkShape(matrix.rows, matrix.columns, rows, columns, argument)
    return try output(
      matrix.buffer, rows: rows, columns: columns, stride: matrix.rowStride, argument,
      strideArgument: argument + ".rowStride", reading: input, alsoReading: second)
  }

  @inline(__always)
  private static func checkShape(
    _ rows: Int, _ columns: Int, _ expectedRows: Int?, _ expectedColumns: Int?, _ argument: String
  ) throws(SoftmaxKernelsError) {
    if let expectedRows, let expectedColumns, rows != expectedRows || columns != expectedColumns {
      throw .invalidArgument(
        argument: argument,
        reason: "is \(rows) x \(columns), expected \(expectedRows) x \(expectedColumns) (the input's shape)")
    }
  }
}
