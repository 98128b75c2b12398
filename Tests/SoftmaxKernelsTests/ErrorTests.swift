// Every `SoftmaxKernelsError` an entry point throws, with its payload, and the promise that a
// call that throws has written nothing (outputs are filled with a sentinel first).

import Foundation
import SoftmaxKernels
import XCTest

final class ErrorTests: SoftmaxKernelsTestCase {
  /// Calls `body` with a 20-element input and a 20-element output full of the sentinel, and
  /// checks that the output is still all sentinel afterwards.
  func withBuffers(
    _ context: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
  ) {
    let input = (0..<20).map { Float($0) / 4 }
    var output = [Float](repeating: Float(sentinel), count: 20)
    assertUntouched(&output, "\(context): output", file: file, line: line) { output in
      input.withUnsafeBufferPointer { x in output.withUnsafeMutableBufferPointer { y in body(x, y) } }
    }
  }

  // MARK: - Counts

  func testCountMismatch() {
    withBuffers("softmax") { x, y in
      assertThrows(.countMismatch(argument: "output", expected: 20, actual: 19), "softmax(_:into:)") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(x, into: UnsafeMutableBufferPointer(rebasing: y[0..<19]))
      }
    }
    withBuffers("logSoftmax") { x, y in
      assertThrows(.countMismatch(argument: "output", expected: 12, actual: 20), "logSoftmax(_:into:)") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(UnsafeBufferPointer(rebasing: x[0..<12]), into: y)
      }
    }
    // Span entry points.
    let x = [Float](repeating: 1, count: 5)
    var out = [Float](repeating: Float(sentinel), count: 4)
    assertUntouched(&out, "Span entry points: output") { out in
      var span = out.mutableSpan
      assertThrows(.countMismatch(argument: "output", expected: 5, actual: 4), "softmax(Span, into:)") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(x.span, into: &span)
      }
      assertThrows(.countMismatch(argument: "output", expected: 5, actual: 4), "logSoftmax(Span, into:)") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(x.span, into: &span)
      }
    }
    // Array gradients.
    assertThrows(.countMismatch(argument: "outputGradient", expected: 5, actual: 4), "softmaxBackward arrays") { () throws(SoftmaxKernelsError) in
      try Softmax.backward(output: [Float](repeating: 0.2, count: 5), outputGradient: [Float](repeating: 1, count: 4))
    }
    assertThrows(.countMismatch(argument: "outputGradient", expected: 3, actual: 6), "logSoftmaxBackward arrays") { () throws(SoftmaxKernelsError) in
      try LogSoftmax.backward(output: [Double](repeating: -1, count: 3), outputGradient: [Double](repeating: 1, count: 6))
    }
  }

  // MARK: - Buffer sizes and strides

  func testBufferTooSmall() {
    withBuffers("output too small") { x, y in
      assertThrows(.bufferTooSmall(argument: "output", required: 20, actual: 19), "softmax rows") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 4, columns: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: y[0..<19]), rows: 4, columns: 5))
      }
    }
    withBuffers("input too small") { x, y in
      assertThrows(.bufferTooSmall(argument: "input", required: 20, actual: 19), "logSoftmax rows") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(Rows(UnsafeBufferPointer(rebasing: x[0..<19]), rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5))
      }
    }
    withBuffers("strided input too small") { x, y in
      // 3 rows of 4 with stride 9 need (3 - 1) * 9 + 4 = 22 elements.
      assertThrows(.bufferTooSmall(argument: "input", required: 22, actual: 20), "softmax strided input") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 3, columns: 4, rowStride: 9), into: MutableRows(y, rows: 3, columns: 4))
      }
    }
    withBuffers("strided output too small") { x, y in
      assertThrows(.bufferTooSmall(argument: "output", required: 21, actual: 20), "softmax strided output") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 2, columns: 5), into: MutableRows(y, rows: 2, columns: 5, rowStride: 16))
      }
    }
    withBuffers("logSumExp output") { x, y in
      assertThrows(.bufferTooSmall(argument: "output", required: 4, actual: 3), "logSumExp rows") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(Rows(x, rows: 4, columns: 5), into: UnsafeMutableBufferPointer(rebasing: y[0..<3]))
      }
    }
    // Backward: each of the three buffers.
    withBuffers("backward") { x, y in
      assertThrows(.bufferTooSmall(argument: "output", required: 20, actual: 10), "softmaxBackward output") { () throws(SoftmaxKernelsError) in
        try Softmax.backward(output: Rows(UnsafeBufferPointer(rebasing: x[0..<10]), rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5))
      }
      assertThrows(.bufferTooSmall(argument: "outputGradient", required: 20, actual: 10), "softmaxBackward gradient") { () throws(SoftmaxKernelsError) in
        try Softmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(UnsafeBufferPointer(rebasing: x[0..<10]), rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5))
      }
      assertThrows(.bufferTooSmall(argument: "inputGradient", required: 20, actual: 10), "logSoftmaxBackward dx") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: y[0..<10]), rows: 4, columns: 5))
      }
    }
  }

  func testStrideTooSmall() {
    withBuffers("stride") { x, y in
      assertThrows(.strideTooSmall(argument: "input.rowStride", stride: 3, columns: 4), "input stride") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 2, columns: 4, rowStride: 3), into: MutableRows(y, rows: 2, columns: 4))
      }
      assertThrows(.strideTooSmall(argument: "output.rowStride", stride: 2, columns: 4), "output stride") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(Rows(x, rows: 3, columns: 4), into: MutableRows(y, rows: 3, columns: 4, rowStride: 2))
      }
      assertThrows(.strideTooSmall(argument: "input.rowStride", stride: -1, columns: 4), "negative stride, one row") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 1, columns: 4, rowStride: -1), into: MutableRows(y, rows: 1, columns: 4))
      }
      assertThrows(.strideTooSmall(argument: "input.rowStride", stride: 1, columns: 5), "logSumExp input stride") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(Rows(x, rows: 2, columns: 5, rowStride: 1), into: y)
      }
      assertThrows(.strideTooSmall(argument: "outputGradient.rowStride", stride: 4, columns: 5), "backward gradient stride") { () throws(SoftmaxKernelsError) in
        try Softmax.backward(output: Rows(x, rows: 2, columns: 5), outputGradient: Rows(x, rows: 2, columns: 5, rowStride: 4), into: MutableRows(y, rows: 2, columns: 5))
      }
      assertThrows(.strideTooSmall(argument: "inputGradient.rowStride", stride: 0, columns: 5), "backward dx stride") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.backward(output: Rows(x, rows: 2, columns: 5), outputGradient: Rows(x, rows: 2, columns: 5), into: MutableRows(y, rows: 2, columns: 5, rowStride: 0))
      }
      // rows x stride overflowing Int.
      assertThrows(invalid("input.rowStride"), "overflowing stride") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 3, columns: 4, rowStride: Int.max / 2 + 1), into: MutableRows(y, rows: 3, columns: 4))
      }
    }
  }

  // MARK: - Scalar arguments

  func testNegativeRowsAndColumns() {
    withBuffers("negative") { x, y in
      assertThrows(invalid("input.rows"), "rows -1") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: -1, columns: 4), into: MutableRows(y, rows: -1, columns: 4))
      }
      assertThrows(invalid("input.columns"), "columns -4") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.forward(Rows(x, rows: 2, columns: -4), into: MutableRows(y, rows: 2, columns: -4))
      }
      assertThrows(invalid("input.rows"), "logSumExp rows -2") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(Rows(x, rows: -2, columns: 4), into: y)
      }
      assertThrows(invalid("input.columns"), "logSumExp columns -1") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(Rows(x, rows: 2, columns: -1), into: y)
      }
      assertThrows(invalid("output.rows"), "backward rows -1") { () throws(SoftmaxKernelsError) in
        try Softmax.backward(output: Rows(x, rows: -1, columns: 4), outputGradient: Rows(x, rows: -1, columns: 4), into: MutableRows(y, rows: -1, columns: 4))
      }
      assertThrows(invalid("output.columns"), "backward columns -1") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.backward(output: Rows(x, rows: 1, columns: -1), outputGradient: Rows(x, rows: 1, columns: -1), into: MutableRows(y, rows: 1, columns: -1))
      }
    }
  }

  func testZeroThreads() {
    for threads in [0, -3] {
      let options = SoftmaxOptions(execution: ExecutionOptions(threads: threads))
      withBuffers("threads \(threads)") { x, y in
        assertThrows(invalid("threads"), "softmax threads \(threads)") { () throws(SoftmaxKernelsError) in
          try Softmax.forward(Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
        }
        assertThrows(invalid("threads"), "logSoftmax threads \(threads)") { () throws(SoftmaxKernelsError) in
          try LogSoftmax.forward(x, into: y, options: options)
        }
        assertThrows(invalid("threads"), "logSumExp rows threads \(threads)") { () throws(SoftmaxKernelsError) in
          try LogSumExp.forward(Rows(x, rows: 4, columns: 5), into: y, options: options)
        }
        assertThrows(invalid("threads"), "softmaxBackward threads \(threads)") { () throws(SoftmaxKernelsError) in
          try Softmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
        }
        assertThrows(invalid("threads"), "logSoftmaxBackward threads \(threads)") { () throws(SoftmaxKernelsError) in
          try LogSoftmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
        }
      }
      assertThrows(invalid("threads"), "logSumExp array threads \(threads)") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward([Float(1), 2], options: options)
      }
      var values: [Float] = [1, 2, 3]
      assertUntouched(&values, "inout softmax threads \(threads) changed the array on error") { values in
        assertThrows(invalid("threads"), "inout softmax threads \(threads)") { () throws(SoftmaxKernelsError) in
          try Softmax.forward(&values, options: options)
        }
      }
    }
  }

  // MARK: - Array shapes

  func testColumnsNotDividingTheArray() {
    let x: [Float] = [1, 2, 3, 4, 5]
    assertThrows(invalid("columns"), "softmax 5 elements by 2") { () throws(SoftmaxKernelsError) in try Softmax.forward(x, columns: 2) }
    assertThrows(invalid("columns"), "logSoftmax 5 elements by 3") { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, columns: 3) }
    assertThrows(invalid("columns"), "logSumExp 5 elements by 4") { () throws(SoftmaxKernelsError) in try LogSumExp.forward(x, columns: 4) }
    assertThrows(invalid("columns"), "softmax columns 0") { () throws(SoftmaxKernelsError) in try Softmax.forward(x, columns: 0) }
    assertThrows(invalid("columns"), "logSumExp columns 0") { () throws(SoftmaxKernelsError) in try LogSumExp.forward(x, columns: 0) }
    assertThrows(invalid("columns"), "softmax columns -5") { () throws(SoftmaxKernelsError) in try Softmax.forward(x, columns: -5) }
    assertThrows(invalid("columns"), "softmaxBackward 5 by 2") { () throws(SoftmaxKernelsError) in
      try Softmax.backward(output: x, outputGradient: x, columns: 2)
    }
    assertThrows(invalid("columns"), "logSoftmaxBackward 5 by 3") { () throws(SoftmaxKernelsError) in
      try LogSoftmax.backward(output: x, outputGradient: x, columns: 3)
    }
    var values = x
    assertUntouched(&values, "inout softmax 5 by 2 changed the array on error") { values in
      assertThrows(invalid("columns"), "inout softmax 5 by 2") { () throws(SoftmaxKernelsError) in try Softmax.forward(&values, columns: 2) }
    }
  }

  // MARK: - Aliasing

  func testPartialOverlapOfInputAndOutput() {
    var storage = [Float](repeating: Float(sentinel), count: 40)
    for i in 0..<20 { storage[i] = Float(i) / 4 }
    assertUntouched(&storage, "a call that threw wrote to memory") { storage in
      storage.withUnsafeMutableBufferPointer { b in
        let input = UnsafeBufferPointer(rebasing: b[0..<20])
        let shifted = UnsafeMutableBufferPointer(rebasing: b[5..<25])
        assertThrows(invalid("output"), "output starts inside the input") { () throws(SoftmaxKernelsError) in
          try Softmax.forward(input, into: shifted)
        }
        assertThrows(invalid("output"), "input starts inside the output") { () throws(SoftmaxKernelsError) in
          try LogSoftmax.forward(UnsafeBufferPointer(rebasing: b[5..<25]), into: UnsafeMutableBufferPointer(rebasing: b[0..<20]))
        }
        assertThrows(invalid("output"), "rows API, shifted by one element") { () throws(SoftmaxKernelsError) in
          try Softmax.forward(Rows(input, rows: 4, columns: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: b[1..<21]), rows: 4, columns: 5))
        }
        // Same start, different strides: not "the same rows".
        assertThrows(invalid("output"), "same start, different strides") { () throws(SoftmaxKernelsError) in
          try Softmax.forward(Rows(input, rows: 2, columns: 5, rowStride: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: b[0..<20]), rows: 2, columns: 5, rowStride: 8))
        }
        // Backward: dx partially over y, and partially over g.
        let y = UnsafeBufferPointer(rebasing: b[0..<20]), g = UnsafeBufferPointer(rebasing: b[20..<40])
        assertThrows(invalid("inputGradient"), "dx over part of y") { () throws(SoftmaxKernelsError) in
          try Softmax.backward(output: Rows(y, rows: 4, columns: 5), outputGradient: Rows(g, rows: 4, columns: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: b[10..<30]), rows: 4, columns: 5))
        }
        assertThrows(invalid("inputGradient"), "dx over part of g") { () throws(SoftmaxKernelsError) in
          try LogSoftmax.backward(output: Rows(y, rows: 4, columns: 5), outputGradient: Rows(g, rows: 4, columns: 5), into: MutableRows(UnsafeMutableBufferPointer(rebasing: b[19..<39]), rows: 4, columns: 5))
        }
      }
    }
  }

  // MARK: - ISA

  func testUnsupportedISA() throws {
    guard let above = ISALevel.allCases.first(where: { $0 > ISALevel.supported }) else {
      throw XCTSkip("this CPU supports every level (\(ISALevel.supported))")
    }
    let options = SoftmaxOptions(execution: ExecutionOptions(isa: above))
    let expected = SoftmaxKernelsError.unsupportedISA(requested: above, supported: ISALevel.supported)
    withBuffers("isa \(above)") { x, y in
      assertThrows(expected, "softmax rows") { () throws(SoftmaxKernelsError) in
        try Softmax.forward(Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
      }
      assertThrows(expected, "logSoftmax buffer") { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, into: y, options: options) }
      assertThrows(expected, "logSumExp rows") { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(Rows(x, rows: 4, columns: 5), into: y, options: options)
      }
      assertThrows(expected, "softmaxBackward") { () throws(SoftmaxKernelsError) in
        try Softmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
      }
      assertThrows(expected, "logSoftmaxBackward") { () throws(SoftmaxKernelsError) in
        try LogSoftmax.backward(output: Rows(x, rows: 4, columns: 5), outputGradient: Rows(x, rows: 4, columns: 5), into: MutableRows(y, rows: 4, columns: 5), options: options)
      }
    }
    assertThrows(expected, "softmax array") { () throws(SoftmaxKernelsError) in try Softmax.forward([1.0, 2.0], options: options) }
    assertThrows(expected, "logSumExp array") { () throws(SoftmaxKernelsError) in try LogSumExp.forward([Float(1)], options: options) }
    // Also for empty input: the level is checked whatever the shape.
    assertThrows(expected, "softmax empty array") { () throws(SoftmaxKernelsError) in try Softmax.forward([Float](), options: options) }
  }

  // MARK: - Messages

  func testErrorDescriptionsNameTheArgument() {
    let cases: [(SoftmaxKernelsError, [String])] = [
      (.countMismatch(argument: "output", expected: 5, actual: 4), ["output", "5", "4"]),
      (.bufferTooSmall(argument: "input", required: 22, actual: 20), ["input", "22", "20"]),
      (.strideTooSmall(argument: "inputRowStride", stride: 3, columns: 4), ["inputRowStride", "3", "4"]),
      (.invalidArgument(argument: "threads", reason: "0 is not a positive thread count"), ["threads", "0 is not"]),
      (.unsupportedISA(requested: .x86_64_v4, supported: .x86_64_v3), ["x86-64-v4", "x86-64-v3"]),
    ]
    for (error, parts) in cases {
      for part in parts {
        XCTAssertTrue(error.description.contains(part), "\(error.description) does not mention \(part)")
      }
    }
  }
}
