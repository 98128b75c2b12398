// The three forms of the fused losses of the sigmoid family (buffers, Span, Array) are thin
// layers over one kernel call: they give bitwise the same loss, parameter gradients and
// gradient.

import SoftmaxKernels
import XCTest

final class BCEAndSigLIPFormsTests: SoftmaxKernelsTestCase {
  func testLossAndGradientFormsAreBitwiseEqual() throws {
    try check(Float.self)
    try check(Double.self)
  }

  /// The bits of a result and its gradient (an absent parameter gradient adds no bytes).
  private func bits<T: KernelScalar>(_ result: LossResult<T>, _ gradient: [T]) -> BitSnapshot {
    var s = BitSnapshot()
    s.add("loss", result.loss)
    s.add("zLoss", result.zLoss)
    s.add("accuracy", result.accuracy)
    s.add("logTemperatureGradient", [result.logTemperatureGradient].compactMap { $0 })
    s.add("biasGradient", [result.biasGradient].compactMap { $0 })
    s.add("gradient", gradient)
    return s
  }

  private func check<T: KernelScalar>(_: T.Type) throws {
    var random = SeededRandom(seed: 31, stream: .xorshift64Star)
    let (rows, columns) = (9, 13)
    let n = rows * columns
    let x: [T] = random.row(T.self, n, -8, 8), y: [T] = random.row(T.self, n, 0, 1)
    let w: [T] = random.row(T.self, n, 0, 2), p: [T] = random.row(T.self, columns, 0.5, 3)
    let s: [T] = random.row(T.self, n, -1, 1)
    let (g, tPrime, b): (T, T, T) = (0.75, 1.5, -2)
    try forEachLevel { level in
      let execution = ExecutionOptions(isa: level)
      for reduction in [LossReduction.mean, .sum] {
        let o = BinaryCrossEntropyOptions(reduction: reduction, execution: execution)
        let array = try BinaryCrossEntropy.lossAndGradient(
          logits: x, targets: y, weight: w, posWeight: p, lossGradient: g, options: o)
        var spanGradient = [T](repeating: .nan, count: n)
        var dxSpan = spanGradient.mutableSpan
        let span = try BinaryCrossEntropy.lossAndGradient(
          logits: x.span, targets: y.span, weight: w.span, posWeight: p.span, lossGradient: g,
          gradient: &dxSpan, options: o)
        var bufferGradient = [T](repeating: .nan, count: n)
        let buffer = try x.withUnsafeBufferPointer { xb in
          try y.withUnsafeBufferPointer { yb in
            try w.withUnsafeBufferPointer { wb in
              try p.withUnsafeBufferPointer { pb in
                try bufferGradient.withUnsafeMutableBufferPointer { db in
                  try BinaryCrossEntropy.lossAndGradient(
                    logits: xb, targets: yb, weight: wb, posWeight: pb, lossGradient: g, gradient: db, options: o)
                }
              }
            }
          }
        }
        let reference = bits(array.result, array.gradient)
        XCTAssertEqual(bits(span, spanGradient).differences(from: reference), [], "BCE Span \(reduction)")
        XCTAssertEqual(bits(buffer, bufferGradient).differences(from: reference), [], "BCE buffers \(reduction)")
      }
      // SigLIP: a 9 x 13 block, positives off the diagonal (offset 2 of 0...4), every scalar
      // argument and option set.
      let sigLIPOptions = SigLIPOptions(positiveOffset: 2, batchSize: 11, execution: execution)
      let array = try SigLIP.lossAndGradient(
        similarities: s, columns: columns, logTemperature: tPrime, bias: b, lossGradient: g,
        options: sigLIPOptions)
      var spanGradient = [T](repeating: .nan, count: n)
      var dsSpan = spanGradient.mutableSpan
      let span = try SigLIP.lossAndGradient(
        similarities: s.span, columns: columns, logTemperature: tPrime, bias: b, lossGradient: g,
        gradient: &dsSpan, options: sigLIPOptions)
      var bufferGradient = [T](repeating: .nan, count: n)
      let buffer = try s.withUnsafeBufferPointer { sb in
        try bufferGradient.withUnsafeMutableBufferPointer { db in
          try SigLIP.lossAndGradient(
            similarities: Rows(sb, rows: rows, columns: columns), logTemperature: tPrime, bias: b,
            lossGradient: g, gradient: MutableRows(db, rows: rows, columns: columns),
            options: sigLIPOptions)
        }
      }
      XCTAssertNotNil(array.result.logTemperatureGradient)
      XCTAssertNotNil(array.result.biasGradient)
      let reference = bits(array.result, array.gradient)
      XCTAssertEqual(bits(span, spanGradient).differences(from: reference), [], "SigLIP Span")
      XCTAssertEqual(bits(buffer, bufferGradient).differences(from: reference), [], "SigLIP buffers")
    }
  }
}
