// The forms every function offers (strided rows, contiguous buffers, Span, Array, in place) give
// bitwise the same results, at every level: they are written once per protocol, and this test
// runs that one implementation through every conformer.

import SoftmaxKernels
import XCTest

final class FormsTests: SoftmaxKernelsTestCase {
  /// 3 rows of 37 (odd: a vector body and a tail at every level), inputs in [-6, 6].
  private static let (rows, columns) = (3, 37)

  private func input(_ seed: UInt64) -> [Float] {
    var random = SeededRandom(seed: seed)
    return (0..<Self.rows * Self.columns).map { _ in Float(random.uniform(-6, 6)) }
  }

  /// Every forward form of `F` against its Array form; `context` names the function.
  private func checkForward<F: RowwiseFunction>(_: F.Type, _ options: F.Options) throws {
    let (r, c) = (Self.rows, Self.columns)
    let x = input(1)
    let expected = try F.forward(x, columns: c, options: options)
    var inPlaceArray = x
    try F.forward(&inPlaceArray, columns: c, options: options)
    XCTAssertEqual(inPlaceArray, expected, "\(F.self) Array in place")
    var spanOut = [Float](repeating: .nan, count: x.count)
    var outSpan = spanOut.mutableSpan
    try F.forward(x.span, columns: c, into: &outSpan, options: options)
    _ = consume outSpan
    XCTAssertEqual(spanOut, expected, "\(F.self) Span")
    // Strided: rows 5 apart in both buffers, padding left untouched.
    let stride = c + 5
    var strided = [Float](repeating: 0, count: (r - 1) * stride + c)
    for i in 0..<r { for j in 0..<c { strided[i * stride + j] = x[i * c + j] } }
    var out = [Float](repeating: -7, count: strided.count)
    try strided.withUnsafeBufferPointer { (xb) throws in
      try out.withUnsafeMutableBufferPointer { (yb) throws in
        try F.forward(
          Rows(xb, rows: r, columns: c, rowStride: stride),
          into: MutableRows(yb, rows: r, columns: c, rowStride: stride), options: options)
      }
    }
    for i in 0..<r {
      XCTAssertEqual(Array(out[(i * stride)..<(i * stride + c)]), Array(expected[(i * c)..<(i * c + c)]), "\(F.self) strided row \(i)")
      if i < r - 1 { XCTAssertEqual(Array(out[(i * stride + c)..<((i + 1) * stride)]), [Float](repeating: -7, count: 5), "\(F.self) padding") }
    }
  }

  private func checkBackward<F: RowwiseGradient>(_: F.Type, _ options: F.Options) throws {
    let c = Self.columns
    let y = try F.forward(input(2), columns: c, options: options), g = input(3)
    let expected = try F.backward(output: y, outputGradient: g, columns: c, options: options)
    var spanOut = [Float](repeating: .nan, count: y.count)
    var outSpan = spanOut.mutableSpan
    try F.backward(output: y.span, outputGradient: g.span, columns: c, into: &outSpan, options: options)
    _ = consume outSpan
    XCTAssertEqual(spanOut, expected, "\(F.self) backward Span")
    XCTAssertThrowsError(try F.backward(output: y, outputGradient: Array(g.dropLast()), columns: c, options: options))
  }

  private func checkElementwise<F: ElementwiseGradient>(_: F.Type, _ options: F.Options) throws {
    let (r, c) = (Self.rows, Self.columns)
    let x = input(4), g = input(5)
    let expected = try F.forward(x, options: options)
    var inPlace = x
    try F.forward(&inPlace, options: options)
    XCTAssertEqual(inPlace, expected, "\(F.self) in place")
    let stride = c + 3
    var strided = [Float](repeating: 0, count: (r - 1) * stride + c)
    for i in 0..<r { for j in 0..<c { strided[i * stride + j] = x[i * c + j] } }
    var out = [Float](repeating: -7, count: r * c)
    try strided.withUnsafeBufferPointer { (xb) throws in
      try out.withUnsafeMutableBufferPointer { (yb) throws in
        try F.forward(Rows(xb, rows: r, columns: c, rowStride: stride), into: MutableRows(yb, rows: r, columns: c), options: options)
      }
    }
    XCTAssertEqual(out, expected, "\(F.self) strided rows")
    let dx = try F.backward(input: x, outputGradient: g, options: options)
    var spanOut = [Float](repeating: .nan, count: x.count)
    var outSpan = spanOut.mutableSpan
    try F.backward(input: x.span, outputGradient: g.span, into: &outSpan, options: options)
    _ = consume outSpan
    XCTAssertEqual(spanOut, dx, "\(F.self) backward Span")
  }

  func testEveryFormAgreesAtEveryLevel() throws {
    try forEachLevel { level in
      let execution = ExecutionOptions(isa: level)
      let softmax = SoftmaxOptions(execution: execution)
      try checkForward(Softmax.self, softmax)
      try checkForward(LogSoftmax.self, softmax)
      try checkForward(StableMax.self, execution)
      try checkForward(LogStableMax.self, execution)
      try checkForward(SigmoidAttention.self, SigmoidAttentionOptions(scale: 0.5, execution: execution))
      try checkForward(SoftplusAttention.self, SoftplusAttentionOptions(scale: .lengthDependent(headDimension: 64), execution: execution))
      try checkBackward(Softmax.self, softmax)
      try checkBackward(LogSoftmax.self, softmax)
      try checkBackward(SigmoidAttention.self, SigmoidAttentionOptions(scale: 0.5, execution: execution))
      try checkElementwise(Sigmoid.self, execution)
      try checkElementwise(LogSigmoid.self, execution)
      try checkElementwise(Softplus.self, SoftplusOptions(beta: 2, execution: execution))
      // Log-sum-exp: the row form, the Span form and the whole-vector form.
      let x = input(6)
      let perRow = try LogSumExp.forward(x, columns: Self.columns, options: softmax)
      var spanOut = [Float](repeating: .nan, count: Self.rows)
      var outSpan = spanOut.mutableSpan
      try LogSumExp.forward(x.span, columns: Self.columns, into: &outSpan, options: softmax)
      _ = consume outSpan
      XCTAssertEqual(spanOut, perRow)
      XCTAssertEqual(try LogSumExp.forward(Array(x.prefix(Self.columns)), options: softmax), perRow[0])
    }
  }

  /// A second matrix of another shape than the first throws, naming it, and writes nothing.
  func testShapeMismatchThrows() {
    let y: [Float] = [0.25, 0.75, 0.5, 0.5], g: [Float] = [1, 2, 3, 4]
    var dx: [Float] = [9, 9, 9, 9]
    y.withUnsafeBufferPointer { yb in
      g.withUnsafeBufferPointer { gb in
        dx.withUnsafeMutableBufferPointer { d in
          assertThrows(invalid("outputGradient", reasonContaining: "expected 2 x 2")) { () throws(SoftmaxKernelsError) in
            try Softmax.backward(
              output: Rows(yb, rows: 2, columns: 2), outputGradient: Rows(gb, rows: 1, columns: 4),
              into: MutableRows(d, rows: 2, columns: 2))
          }
          assertThrows(invalid("inputGradient", reasonContaining: "expected 2 x 2")) { () throws(SoftmaxKernelsError) in
            try Softmax.backward(
              output: Rows(yb, rows: 2, columns: 2), outputGradient: Rows(gb, rows: 2, columns: 2),
              into: MutableRows(d, rows: 4, columns: 1))
          }
        }
      }
    }
    XCTAssertEqual(dx, [9, 9, 9, 9])
  }
}

/// Regressions found by the adversarial review of the API (2026-11-30).
final class APIReviewRegressionTests: SoftmaxKernelsTestCase {
  /// Log-sum-exp's output may not overlap the rows it reads (it was accepted and gave a wrong
  /// second value).
  func testLogSumExpOutputOverlappingTheInputThrows() {
    var x: [Float] = [1, 2, 3, 4, 5, 6]
    x.withUnsafeMutableBufferPointer { p in
      assertThrows(invalid("output", reasonContaining: "overlaps")) { () throws(SoftmaxKernelsError) in
        try LogSumExp.forward(
          Rows(UnsafeBufferPointer(p), rows: 2, columns: 3), into: UnsafeMutableBufferPointer(rebasing: p[3..<5]))
      }
    }
    XCTAssertEqual(x, [1, 2, 3, 4, 5, 6])
  }

  /// Sigmoid attention of nothing is nothing (it threw for the default bias of 0 keys); an
  /// explicit sequence length of 0 still throws.
  func testSigmoidAttentionOfAnEmptyInput() throws {
    XCTAssertEqual(try SigmoidAttention.forward([Float]()), [])
    XCTAssertEqual(try SigmoidAttention.forward([Float](), columns: 1), [])
    assertThrows(invalid("sequenceLength")) {
      _ = try SigmoidAttention.forward([Float](), options: SigmoidAttentionOptions(sequenceLength: 0))
    }
  }

  /// Double options that do not fit the element type throw instead of giving NaN.
  func testSoftplusAttentionParametersCheckedInTheElementType() {
    let s: [Float] = [0.5, -1, 2, 0.25]
    assertThrows(invalid("scale")) {
      _ = try SoftplusAttention.forward(s, columns: 2, options: SoftplusAttentionOptions(scale: .constant(1e39)))
    }
    assertThrows(invalid("reweighting.power")) {
      _ = try SoftplusAttention.forward(
        s, columns: 2, options: SoftplusAttentionOptions(scale: .constant(1), reweighting: .init(power: 1e39)))
    }
    // Finite in Double: fine.
    XCTAssertNoThrow(try SoftplusAttention.forward(
      s.map(Double.init), columns: 2, options: SoftplusAttentionOptions(scale: .constant(1e39))))
  }

  /// A count mismatch in the softplus-attention backward names the argument, not `columns`.
  func testSoftplusAttentionBackwardCountMismatchNamesTheArgument() {
    let six = [Float](repeating: 1, count: 6)
    assertThrows(.countMismatch(argument: "output", expected: 6, actual: 4)) {
      _ = try SoftplusAttention.backward(input: six, output: [1, 2, 3, 4], outputGradient: six, columns: 3)
    }
    assertThrows(.countMismatch(argument: "outputGradient", expected: 6, actual: 5)) {
      _ = try SoftplusAttention.backward(input: six, output: six, outputGradient: Array(six.prefix(5)), columns: 3)
    }
  }

  /// A negative shape in a `Rows` view is named after the view.
  func testNegativeShapeNamesTheView() {
    let g: [Float] = [1, 2, 3, 4]
    var dx = [Float](repeating: 9, count: 4)
    g.withUnsafeBufferPointer { gb in
      dx.withUnsafeMutableBufferPointer { d in
        assertThrows(invalid("outputGradient")) { () throws(SoftmaxKernelsError) in
          try Softmax.backward(
            output: Rows(gb, rows: 2, columns: 2), outputGradient: Rows(gb, rows: -2, columns: 2),
            into: MutableRows(d, rows: 2, columns: 2))
        }
        assertThrows(invalid("output.columns")) { () throws(SoftmaxKernelsError) in
          try Sigmoid.backward(
            output: Rows(gb, rows: 1, columns: -1), outputGradient: Rows(gb, rows: 1, columns: -1),
            into: MutableRows(d, rows: 1, columns: -1))
        }
      }
    }
    XCTAssertEqual(dx, [9, 9, 9, 9])
  }

  /// `LossResult` can be built outside the package (the review found no public init).
  func testLossResultPublicInit() {
    let r = LossResult<Float>(loss: 1.5, zLoss: 0.25, accuracy: 0.75)
    XCTAssertEqual(r.loss, 1.5)
    XCTAssertEqual(r.zLoss, 0.25)
    XCTAssertEqual(r.accuracy, 0.75)
    XCTAssertNil(r.logTemperatureGradient)
    XCTAssertNil(r.biasGradient)
  }

  /// `Sigmoid.backward(output:)` in its Rows and Span forms equals its Array form.
  func testSigmoidBackwardFromTheOutputForms() throws {
    try forEachLevel { level in
      let o = ExecutionOptions(isa: level)
      let y: [Float] = (0..<37).map { Float($0) / 40 + 0.01 }, g: [Float] = (0..<37).map { Float($0 % 5) - 2 }
      let expected = try Sigmoid.backward(output: y, outputGradient: g, options: o)
      var viaSpan = [Float](repeating: .nan, count: 37)
      var span = viaSpan.mutableSpan
      try Sigmoid.backward(output: y.span, outputGradient: g.span, into: &span, options: o)
      _ = consume span
      XCTAssertEqual(viaSpan, expected)
      var viaRows = [Float](repeating: .nan, count: 37)
      try y.withUnsafeBufferPointer { (yb) throws in
        try g.withUnsafeBufferPointer { (gb) throws in
          try viaRows.withUnsafeMutableBufferPointer { (d) throws in
            try Sigmoid.backward(
              output: Rows(yb, rows: 1, columns: 37), outputGradient: Rows(gb, rows: 1, columns: 37),
              into: MutableRows(d, rows: 1, columns: 37), options: o)
          }
        }
      }
      XCTAssertEqual(viaRows, expected)
    }
  }
}
