// Memory layouts: strided rows (padding must stay untouched and must not be read), misaligned
// starts, in place (buffers, arrays, spans), batched rows equal to single rows bit-for-bit,
// the threads option (whole rows per thread, and one long row split over two threads), and
// the Span and buffer entry points.

import Foundation
import SoftmaxKernels
import XCTest

final class LayoutTests: SoftmaxKernelsTestCase {
  typealias Forward<T: KernelScalar> = (
    Int, Int, UnsafeBufferPointer<T>, Int?, UnsafeMutableBufferPointer<T>, Int?, SoftmaxOptions
  ) throws(SoftmaxKernelsError) -> Void

  /// The row-wise entry points with an output row per input row.
  static func rowsEntryPoint<T: KernelScalar>(_ operation: Operation, _: T.Type) -> Forward<T> {
    switch operation {
    case .softmax:
      return { (r, c, x, xs, y, ys, o) throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: r, columns: c, rowStride: xs), into: MutableRows(y, rows: r, columns: c, rowStride: ys), options: o)
      }
    default:
      return { (r, c, x, xs, y, ys, o) throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(Rows(x, rows: r, columns: c, rowStride: xs), into: MutableRows(y, rows: r, columns: c, rowStride: ys), options: o)
      }
    }
  }

  /// The array entry point for one row.
  static func single<T: KernelScalar>(_ operation: Operation, _ x: [T], _ options: SoftmaxOptions) throws(SoftmaxKernelsError) -> [T] {
    switch operation {
    case .softmax: return try Softmax.forward(x, options: options)
    case .logSoftmax: return try LogSoftmax.forward(x, options: options)
    case .logSumExp: return [try LogSumExp.forward(x, options: options)]
    }
  }

  // MARK: - Strides

  func testStridedRowsLeavePaddingUntouched() {
    forEachScalarType { strided($0) }
  }

  func strided<T: KernelScalar>(_: T.Type) {
    // (rows, columns, input stride, output stride)
    let shapes = [(5, 37, 41, 45), (3, 16, 16, 17), (4, 1, 3, 2), (2, 100, 128, 100), (6, 9, 9, 9), (3, 33, 64, 40)]
    var rng = SeededRandom(seed: 11)
    for (rows, columns, inStride, outStride) in shapes {
      // Input padding is NaN: a kernel that read it would make the row NaN.
      var input = [T](repeating: .nan, count: (rows - 1) * inStride + columns + 5)
      for r in 0..<rows {
        for c in 0..<columns { input[r * inStride + c] = T(rng.uniform(-10, 10)) }
      }
      let rowValues = (0..<rows).map { r in Array(input[r * inStride..<r * inStride + columns]) }
      forEachAlgorithmAndLevel { options in
        let context = "\(typeName(T.self)) \(describe(options)) \(rows)x\(columns) strides \(inStride)/\(outStride)"
        for operation in [Operation.softmax, .logSoftmax] {
          var output = [T](repeating: T(sentinel), count: (rows - 1) * outStride + columns + 7)
          input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
              _ = noThrow(context) { () throws(SoftmaxKernelsError) in
                try Self.rowsEntryPoint(operation, T.self)(rows, columns, x, inStride, y, outStride, options)
              }
            }
          }
          for r in 0..<rows {
            guard let expected = noThrow(context, { () throws(SoftmaxKernelsError) in try Self.single(operation, rowValues[r], options) })
            else { continue }
            let got = Array(output[r * outStride..<r * outStride + columns])
            if let i = firstDifference(got, expected) {
              XCTFail("\(operation) \(context): row \(r) column \(i) is \(got[i]), the single-row call gives \(expected[i])")
            }
          }
          let written = Set((0..<rows).flatMap { r in (r * outStride)..<(r * outStride + columns) })
          if let i = output.indices.first(where: { !written.contains($0) && output[$0] != T(sentinel) }) {
            XCTFail("\(operation) \(context): padding element \(i) was overwritten with \(output[i])")
          }
        }
        // Log-sum-exp of strided rows, written to rows consecutive elements.
        var lse = [T](repeating: T(sentinel), count: rows + 3)
        input.withUnsafeBufferPointer { x in
          lse.withUnsafeMutableBufferPointer { out in
            _ = noThrow(context) { () throws(SoftmaxKernelsError) in
              try LogSumExp.forward(Rows(x, rows: rows, columns: columns, rowStride: inStride), into: out, options: options)
            }
          }
        }
        for r in 0..<rows {
          if let e = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSumExp.forward(rowValues[r], options: options) }) {
            XCTAssertTrue(identical(lse[r], e), "logSumExp \(context) row \(r): \(lse[r]) vs single row \(e)")
          }
        }
        XCTAssertEqual(Array(lse[rows...]), [T](repeating: T(sentinel), count: 3), "logSumExp wrote past rows, \(context)")
      }
    }
  }

  // MARK: - Alignment

  func testMisalignedStarts() {
    forEachScalarType { misaligned($0) }
  }

  func misaligned<T: KernelScalar>(_: T.Type) {
    let lanes = 64 / MemoryLayout<T>.stride
    var rng = SeededRandom(seed: 12)
    let capacity = 1000 + 2 * lanes
    let rawIn = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<T>.stride, alignment: 64)
    let rawOut = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<T>.stride, alignment: 64)
    defer {
      rawIn.deallocate()
      rawOut.deallocate()
    }
    let inBase = rawIn.bindMemory(to: T.self, capacity: capacity)
    let outBase = rawOut.bindMemory(to: T.self, capacity: capacity)
    for n in [1, 15, 16, 17, 33, 100, 1000] {
      let x: [T] = rng.row(T.self, n, -10, 10)
      forEachAlgorithmAndLevel { options in
        for operation in [Operation.softmax, .logSoftmax] {
          guard let expected = noThrow("", { () throws(SoftmaxKernelsError) in try Self.single(operation, x, options) }) else { continue }
          for offset in 0..<lanes {
            let outOffset = (offset * 5 + 3) % lanes
            let input = UnsafeMutableBufferPointer(start: inBase + offset, count: n)
            _ = input.initialize(from: x)
            outBase.initialize(repeating: T(sentinel), count: capacity)
            let output = UnsafeMutableBufferPointer(start: outBase + outOffset, count: n)
            let context = "\(operation) \(typeName(T.self)) \(describe(options)) C=\(n) input offset \(offset) output offset \(outOffset) elements"
            _ = noThrow(context) { () throws(SoftmaxKernelsError) in
              if operation == .softmax {
                try Softmax.forward(UnsafeBufferPointer(input), into: output, options: options)
              } else {
                try LogSoftmax.forward(UnsafeBufferPointer(input), into: output, options: options)
              }
            }
            let got = Array(output)
            if let i = firstDifference(got, expected) {
              XCTFail("\(context): element \(i) is \(got[i]), aligned gives \(expected[i])")
            }
            XCTAssertTrue(
              (0..<outOffset).allSatisfy { outBase[$0] == T(sentinel) }
                && (outOffset + n..<capacity).allSatisfy { outBase[$0] == T(sentinel) },
              "\(context): wrote outside the output")
            if operation == .softmax,
              let l = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSumExp.forward(UnsafeBufferPointer(input), options: options) }),
              let e = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSumExp.forward(x, options: options) })
            {
              XCTAssertTrue(identical(l, e), "logSumExp \(context): \(l) vs \(e)")
            }
          }
        }
      }
    }
  }

  // MARK: - In place

  func testInPlace() {
    forEachScalarType { inPlace($0) }
  }

  func inPlace<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 13)
    let (rows, columns, stride) = (4, 37, 40)
    forEachAlgorithmAndLevel { options in
      let context = "\(typeName(T.self)) \(describe(options))"
      let x: [T] = rng.row(T.self, rows * columns, -10, 10)
      for operation in [Operation.softmax, .logSoftmax] {
        guard let expected = noThrow(context, { () throws(SoftmaxKernelsError) -> [T] in
          operation == .softmax
            ? try Softmax.forward(x, columns: columns, options: options)
            : try LogSoftmax.forward(x, columns: columns, options: options)
        }) else { continue }

        // Buffers: input and output the same memory, same stride (> columns), with padding.
        var buffer = [T](repeating: T(sentinel), count: (rows - 1) * stride + columns + 2)
        for r in 0..<rows {
          for c in 0..<columns { buffer[r * stride + c] = x[r * columns + c] }
        }
        buffer.withUnsafeMutableBufferPointer { b in
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in
            try Self.rowsEntryPoint(operation, T.self)(rows, columns, UnsafeBufferPointer(b), stride, b, stride, options)
          }
        }
        for r in 0..<rows {
          let got = Array(buffer[r * stride..<r * stride + columns])
          let want = Array(expected[r * columns..<(r + 1) * columns])
          if let i = firstDifference(got, want) {
            XCTFail("in-place rows \(operation) \(context): row \(r) column \(i) is \(got[i]), out of place gives \(want[i])")
          }
          for c in columns..<(r == rows - 1 ? columns + 2 : stride) {
            XCTAssertEqual(buffer[r * stride + c], T(sentinel), "in-place rows \(operation) \(context): padding [\(r), \(c)] written")
          }
        }

        if operation == .softmax {
          // inout [T], by rows and as one vector.
          var values = x
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(&values, columns: columns, options: options) }
          XCTAssertNil(firstDifference(values, expected), "inout [T] with columns, \(context)")
          var whole = x
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(&whole, options: options) }
          let wholeExpected = noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) }
          XCTAssertNil(firstDifference(whole, wholeExpected ?? []), "inout [T], \(context)")
        }

        // MutableSpan in place, one vector.
        let row = Array(x[0..<columns])
        guard let rowExpected = noThrow(context, { () throws(SoftmaxKernelsError) in try Self.single(operation, row, options) }) else { continue }
        var storage = row
        do {
          var span = storage.mutableSpan
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in
            if operation == .softmax {
              try Softmax.forward(&span, options: options)
            } else {
              try LogSoftmax.forward(&span, options: options)
            }
          }
        }
        XCTAssertNil(firstDifference(storage, rowExpected), "MutableSpan in place \(operation), \(context): \(storage) vs \(rowExpected)")
      }
    }
  }

  // MARK: - Batches and threads

  func testBatchedRowsEqualSingleRows() {
    batched(Float.self, rows: 64, columns: 4096)  // enough elements for two threads (whole rows each)
    batched(Float.self, rows: 9, columns: 37)
    batched(Double.self, rows: 64, columns: 2048)
    batched(Double.self, rows: 9, columns: 17)
  }

  func batched<T: KernelScalar>(_: T.Type, rows: Int, columns: Int) {
    var rng = SeededRandom(seed: 14 + UInt64(rows))
    let x: [T] = rng.row(T.self, rows * columns, -12, 12)
    for algorithm in allAlgorithms {
      for threads in [1, 2, nil] as [Int?] {
        let options = SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: threads))
        let context = "\(typeName(T.self)) \(describe(options)) \(rows)x\(columns)"
        guard let (y, z, l) = forward(x, columns: columns, options, context) else { continue }
        let one = SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: 1))
        for r in 0..<rows {
          guard let (ys, zs, ls) = forward(Array(x[r * columns..<(r + 1) * columns]), one, context) else { continue }
          if let i = firstDifference(Array(y[r * columns..<(r + 1) * columns]), ys) {
            XCTFail("softmax \(context): row \(r) column \(i) differs from the single-row call")
          }
          if let i = firstDifference(Array(z[r * columns..<(r + 1) * columns]), zs) {
            XCTFail("logSoftmax \(context): row \(r) column \(i) differs from the single-row call")
          }
          XCTAssertTrue(identical(l[r], ls), "logSumExp \(context): row \(r): \(l[r]) vs \(ls)")
        }
      }
    }
  }

  /// One row of 2^20 entries with `threads: 2` is split into two chunks whose states are
  /// merged; compared with the reference (bounds for C > 1e5), for every algorithm, and with
  /// `threads: 1` for the default one.
  func testLongRowSplitOverTwoThreads() {
    splitRow(Float.self, columns: 1 << 20, rows: 1, algorithms: allAlgorithms)
    splitRow(Double.self, columns: 1 << 19, rows: 1, algorithms: [.automatic, .threePassRecompute, .online])
    // A few long rows (fewer than 4 per thread): each row is split.
    splitRow(Float.self, columns: 100_003, rows: 3, algorithms: [.automatic])
  }

  func splitRow<T: KernelScalar>(_: T.Type, columns n: Int, rows: Int, algorithms: [SoftmaxAlgorithm]) {
    var rng = SeededRandom(seed: 15)
    let x: [T] = rng.row(T.self, rows * n, -10, 10)
    let inputs = (0..<rows).map { r in Array(x[r * n..<(r + 1) * n]).doubles }
    let refs = inputs.map { xd in (y: Reference.softmax(xd), z: Reference.logSoftmax(xd), l: Reference.logSumExp(xd)) }
    for algorithm in algorithms {
      for threads in algorithm == .automatic ? [2, 1, nil] : [2] as [Int?] {
        let options = SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: threads))
        let context = "\(typeName(T.self)) \(describe(options)) \(rows) row(s) of \(n)"
        guard let (y, z, l) = forward(x, columns: n, options, context) else { continue }
        for r in 0..<rows {
          let yr = Array(y[r * n..<(r + 1) * n])
          if let m = mismatch(yr, refs[r].y, .softmax, inputs: inputs[r], columns: n) {
            XCTFail("\(context) row \(r): \(m)")
          }
          XCTAssertLessThanOrEqual(sumError(yr), Bounds.softmax(T.self, columns: n), "|sum - 1|, \(context) row \(r)")
          if let m = mismatch(Array(z[r * n..<(r + 1) * n]), refs[r].z, .logSoftmax, inputs: inputs[r], columns: n) {
            XCTFail("\(context) row \(r): \(m)")
          }
          if let m = mismatch([l[r]], [refs[r].l], .logSumExp, inputs: inputs[r], columns: n) {
            XCTFail("\(context) row \(r): \(m)")
          }
        }
      }
    }
  }

  // MARK: - Span and buffer entry points

  func testSpanAndBufferEntryPoints() {
    forEachScalarType { spans($0) }
  }

  func spans<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 16)
    for n in [1, 5, 16, 37, 300] {
      let x: [T] = rng.row(T.self, n, -10, 10)
      for algorithm in allAlgorithms {
        let options = SoftmaxOptions(algorithm: algorithm)
        let context = "\(typeName(T.self)) \(describe(options)) C=\(n)"
        guard let (y, z, l) = forward(x, options, context) else { continue }
        // The array results are themselves checked against the reference.
        XCTAssertNil(mismatch(y, Reference.softmax(x.doubles), .softmax, inputs: x.doubles, columns: n), context)

        var out = [T](repeating: T(sentinel), count: n)
        do {
          var span = out.mutableSpan
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(x.span, into: &span, options: options) }
        }
        XCTAssertNil(firstDifference(out, y), "softmax(Span, into: MutableSpan), \(context)")
        out = [T](repeating: T(sentinel), count: n)
        do {
          var span = out.mutableSpan
          _ = noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x.span, into: &span, options: options) }
        }
        XCTAssertNil(firstDifference(out, z), "logSoftmax(Span, into: MutableSpan), \(context)")
        let ls = noThrow(context) { () throws(SoftmaxKernelsError) in try LogSumExp.forward(x.span, options: options) }
        XCTAssertTrue(ls.map { identical($0, l) } ?? false, "logSumExp(Span), \(context): \(String(describing: ls)) vs \(l)")

        // Buffer entry points for one vector.
        var bufOut = [T](repeating: T(sentinel), count: n)
        x.withUnsafeBufferPointer { xb in
          bufOut.withUnsafeMutableBufferPointer { yb in
            _ = noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(xb, into: yb, options: options) }
          }
        }
        XCTAssertNil(firstDifference(bufOut, y), "softmax(UnsafeBufferPointer, into:), \(context)")
        x.withUnsafeBufferPointer { xb in
          bufOut.withUnsafeMutableBufferPointer { yb in
            _ = noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(xb, into: yb, options: options) }
          }
        }
        XCTAssertNil(firstDifference(bufOut, z), "logSoftmax(UnsafeBufferPointer, into:), \(context)")
        let lb = x.withUnsafeBufferPointer { xb in
          noThrow(context) { () throws(SoftmaxKernelsError) in try LogSumExp.forward(xb, options: options) }
        }
        XCTAssertTrue(lb.map { identical($0, l) } ?? false, "logSumExp(UnsafeBufferPointer), \(context)")
      }
    }
  }
}
