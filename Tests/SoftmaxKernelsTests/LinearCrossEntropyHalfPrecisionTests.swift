// Linear + cross-entropy of 16-bit embeddings and classifier: the same computation as the Float
// path on the widened inputs, each gradient entry rounded once. The Float path is checked against
// the materialised Double reference (LinearCrossEntropyTests), so the 16-bit results are within
// that bound plus half an ulp of the 16-bit type.

import SoftmaxKernels
import XCTest

/// Everything one 16-bit call returns.
struct LinearHalfResult<H: HalfType> {
  var result: LossResult<Float>
  var rows: [Float], lse: [Float], dE: [H], dC: [H], dBias: [H]
}

/// The 16-bit call on `p`'s inputs rounded to `H` (`p` itself must hold `H` values).
func runLinearHalf<H: HalfType>(
  _: H.Type, _ p: LinearProblem, _ o: LinearCrossEntropyOptions, gradient: Bool, lossGradient: Float = 1
) throws -> LinearHalfResult<H> {
  let e = p.e.map { H($0) }, c = p.c.map { H($0) }, bias = p.bias?.map { H($0) }
  let poison = H(Float.nan)
  var rows = [Float](repeating: .nan, count: p.n), lse = rows
  var dE = [H](repeating: poison, count: p.n * p.d), dC = [H](repeating: poison, count: p.v * p.d)
  var dBias = [H](repeating: poison, count: p.v)
  let result = try e.withUnsafeBufferPointer { e in
    try c.withUnsafeBufferPointer { c in
      try withOptionalBuffer(bias) { bias in
        try p.targets.withUnsafeBufferPointer { y in
          try rows.withUnsafeMutableBufferPointer { rowsBuffer in
            try lse.withUnsafeMutableBufferPointer { lseBuffer in
              let eRows = Rows(e, rows: p.n, columns: p.d), cRows = Rows(c, rows: p.v, columns: p.d)
              guard gradient else {
                return try LinearCrossEntropy.loss(
                  embeddings: eRows, classifier: cRows, bias: bias, targets: y, rowLosses: rowsBuffer,
                  rowLogSumExp: lseBuffer, options: o)
              }
              return try dE.withUnsafeMutableBufferPointer { dEBuffer in
                try dC.withUnsafeMutableBufferPointer { dCBuffer in
                  try dBias.withUnsafeMutableBufferPointer { dBiasBuffer in
                    try LinearCrossEntropy.lossAndGradient(
                      embeddings: eRows, classifier: cRows, bias: bias, targets: y, lossGradient: lossGradient,
                      embeddingsGradient: MutableRows(dEBuffer, rows: p.n, columns: p.d),
                      classifierGradient: MutableRows(dCBuffer, rows: p.v, columns: p.d),
                      biasGradient: dBiasBuffer, rowLosses: rowsBuffer, rowLogSumExp: lseBuffer, options: o)
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return LinearHalfResult(result: result, rows: rows, lse: lse, dE: dE, dC: dC, dBias: dBias)
}

extension LinearProblem {
  /// The problem with its inputs rounded to `H` (and held as the `Float` values they are).
  func rounded<H: HalfType>(to _: H.Type) -> LinearProblem {
    var p = self
    p.e = e.map { H($0).float }
    p.c = c.map { H($0).float }
    p.bias = bias?.map { H($0).float }
    return p
  }
}

final class LinearCrossEntropyHalfPrecisionTests: SoftmaxKernelsTestCase {
  /// Index of the first entry of `half` that is not `float` rounded to `H` (NaN matches NaN).
  private func firstUnrounded<H: HalfType>(_ half: [H], _ float: [Float]) -> Int? {
    if half.count != float.count { return min(half.count, float.count) }
    return half.indices.first { i in
      let expected = H(float[i])
      return float[i].isNaN ? !half[i].float.isNaN : half[i].bits != expected.bits
    }
  }

  private func compare<H: HalfType>(
    _: H.Type, _ p: LinearProblem, _ o: LinearCrossEntropyOptions, lossGradient: Float, _ label: String
  ) throws {
    let q = p.rounded(to: H.self)
    let float = try runLinear(q, o, gradient: true, lossGradient: lossGradient)
    let half = try runLinearHalf(H.self, q, o, gradient: true, lossGradient: lossGradient)
    let forward = try runLinearHalf(H.self, q, o, gradient: false)
    let context = "\(H.name) \(label)"
    XCTAssertEqual(half.result.loss.bitPattern, float.result.loss.bitPattern, context)
    XCTAssertEqual(half.result.zLoss.bitPattern, float.result.zLoss.bitPattern, context)
    XCTAssertEqual(forward.result.loss.bitPattern, float.result.loss.bitPattern, context)
    XCTAssertNil(firstDifference(half.rows, float.rows), context)
    XCTAssertNil(firstDifference(half.lse, float.lse), context)
    XCTAssertNil(firstDifference(forward.rows, float.rows), context)
    if let i = firstUnrounded(half.dE, float.dE) { XCTFail("\(context): dE[\(i)] \(half.dE[i].float) vs \(float.dE[i])") }
    if let i = firstUnrounded(half.dC, float.dC) { XCTFail("\(context): dC[\(i)] \(half.dC[i].float) vs \(float.dC[i])") }
    if let i = firstUnrounded(half.dBias, float.dBias) {
      XCTFail("\(context): dBias[\(i)] \(half.dBias[i].float) vs \(float.dBias[i])")
    }
  }

  /// Every shape around the tiles, every option set, every level, 1-3 threads (and 3 token
  /// blocks x 3 class blocks at every thread count): the loss, per-token losses and log-sum-exp
  /// bitwise those of the Float path on the widened inputs, and each gradient entry that
  /// path's value rounded once to nearest even.
  func testIsTheFloatPathRoundedOnce() throws {
    func run<H: HalfType>(_ type: H.Type) throws {
      try forEachLevel { level in
        for (s, shape) in LinearCrossEntropyTests.shapes.enumerated() {
          for (name, options, bias) in LinearCrossEntropyTests.optionSets {
            let p = LinearProblem(n: shape.n, d: shape.d, v: shape.v, seed: UInt64(100 + s), bias: bias, ignoring: options.ignoreIndex)
            var o = options
            o.execution = ExecutionOptions(threads: 1 + s % 3, isa: level)
            try compare(H.self, p, o, lossGradient: s % 2 == 0 ? 1 : -0.75, "\(name) \(shape) \(level)")
          }
        }
        let p = LinearProblem(n: 300, d: 37, v: 600, seed: 5, bias: true, ignoring: -100)
        for threads in [1, 2, 3] {
          let o = LinearCrossEntropyOptions(
            labelSmoothing: 0.1, zLossScale: 1e-4, execution: ExecutionOptions(threads: threads, isa: level))
          try compare(H.self, p, o, lossGradient: 1, "300 x 37 x 600, \(threads) threads, \(level)")
        }
      }
    }
    for type in halfTypes { try run(type) }
  }

  /// The gradient filter and large (shifted) logits take the same path.
  func testShiftedLogitsAndGradientFilter() throws {
    func run<H: HalfType>(_ type: H.Type) throws {
      try forEachLevel { level in
        var p = LinearProblem(n: 140, d: 24, v: 300, seed: 9, bias: true, spread: 12)
        p.bias = p.bias!.map { $0 + 1000 }
        var o = LinearCrossEntropyOptions(labelSmoothing: 0.1, execution: ExecutionOptions(threads: 2, isa: level))
        try compare(H.self, p, o, lossGradient: 1, "shifted \(level)")
        o.gradientFilter = 0x1p-8
        try compare(H.self, p, o, lossGradient: 1, "filtered \(level)")
      }
    }
    for type in halfTypes { try run(type) }
  }

  /// The Array forms return what the buffer forms write.
  func testArrayForms() throws {
    func run<H: HalfType>(_ type: H.Type) throws {
      let p = LinearProblem(n: 9, d: 5, v: 11, seed: 12, bias: true)
      let o = LinearCrossEntropyOptions(labelSmoothing: 0.1)
      let buffer = try runLinearHalf(H.self, p, o, gradient: true, lossGradient: 2)
      let e = p.e.map { H($0) }, c = p.c.map { H($0) }, bias = p.bias!.map { H($0) }
      let loss = try LinearCrossEntropy.loss(embeddings: e, classifier: c, dimension: p.d, bias: bias, targets: p.targets, options: o)
      XCTAssertEqual(loss, buffer.result, H.name)
      let g = try LinearCrossEntropy.lossAndGradient(
        embeddings: e, classifier: c, dimension: p.d, bias: bias, targets: p.targets, lossGradient: 2, options: o)
      XCTAssertEqual(g.result, buffer.result, H.name)
      XCTAssertEqual(g.embeddings.map(\.bits), buffer.dE.map(\.bits), H.name)
      XCTAssertEqual(g.classifier.map(\.bits), buffer.dC.map(\.bits), H.name)
      XCTAssertEqual(g.bias.map(\.bits), buffer.dBias.map(\.bits), H.name)
      assertThrows(invalid("classifier")) {
        try LinearCrossEntropy.loss(embeddings: e, classifier: Array(c.dropLast()), dimension: p.d, targets: p.targets)
      }
    }
    for type in halfTypes { try run(type) }
  }

  /// A bad argument throws, naming it, and writes none of the 16-bit outputs.
  func testErrorsWriteNothing() {
    func run<H: HalfType>(_ type: H.Type) {
      let p = LinearProblem(n: 6, d: 4, v: 5, seed: 1, bias: true)
      let e = p.e.map { H($0) }, c = p.c.map { H($0) }
      let mark = H(Float(sentinel))
      for (targets, dCColumns, expected) in [
        ([0, 1, 2, 5, 0, 0], p.d, invalid("targets", reasonContaining: "token 3")),
        (p.targets, p.d - 1, invalid("classifierGradient")),
      ] {
        var dE = [H](repeating: mark, count: p.n * p.d), dC = [H](repeating: mark, count: p.v * p.d)
        var dBias = [H](repeating: mark, count: p.v)
        e.withUnsafeBufferPointer { eb in
          c.withUnsafeBufferPointer { cb in
            targets.withUnsafeBufferPointer { yb in
              dE.withUnsafeMutableBufferPointer { dEb in
                dC.withUnsafeMutableBufferPointer { dCb in
                  dBias.withUnsafeMutableBufferPointer { db in
                    assertThrows(expected) {
                      try LinearCrossEntropy.lossAndGradient(
                        embeddings: Rows(eb, rows: p.n, columns: p.d), classifier: Rows(cb, rows: p.v, columns: p.d),
                        targets: yb, embeddingsGradient: MutableRows(dEb, rows: p.n, columns: p.d),
                        classifierGradient: MutableRows(dCb, rows: p.v, columns: dCColumns), biasGradient: db)
                    }
                  }
                }
              }
            }
          }
        }
        XCTAssertTrue(dE.allSatisfy { $0 == mark } && dC.allSatisfy { $0 == mark } && dBias.allSatisfy { $0 == mark }, "\(H.name) \(expected)")
      }
    }
    for type in halfTypes { run(type) }
  }
}
