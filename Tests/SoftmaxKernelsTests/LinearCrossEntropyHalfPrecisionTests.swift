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

  /// An ignored token contributes nothing to the gradients even when its embedding is NaN or
  /// infinite (an outside review: every entry of dC and dbias was NaN); the same result as with
  /// its embedding set to 0, its own dE row 0; Float and 16-bit, with and without the filter.
  func testIgnoredNonFiniteEmbeddingAddsNothing() throws {
    func run<H: HalfType>(_ type: H.Type) throws {
      try forEachLevel { level in
        let ignored = 37
        var p = LinearProblem(n: 140, d: 20, v: 300, seed: 21, bias: true).rounded(to: H.self)
        p.targets[ignored] = -100
        var zeroed = p
        for k in 0..<p.d { zeroed.e[ignored * p.d + k] = 0 }
        for filter in [nil, 0x1p-12] as [Double?] {
          for poison in [Float.nan, .infinity] {
            var poisoned = p
            poisoned.e[ignored * p.d + 3] = poison
            let o = LinearCrossEntropyOptions(gradientFilter: filter, execution: ExecutionOptions(threads: 2, isa: level))
            let expected = try runLinear(zeroed, o, gradient: true)
            let float = try runLinear(poisoned, o, gradient: true)
            let half = try runLinearHalf(H.self, poisoned, o, gradient: true)
            let context = "\(H.name) \(poison) filter \(String(describing: filter)) \(level)"
            XCTAssertEqual(float.result.loss.bitPattern, expected.result.loss.bitPattern, context)
            XCTAssertNil(firstDifference(float.dC, expected.dC), context)
            XCTAssertNil(firstDifference(float.dBias, expected.dBias), context)
            XCTAssertNil(firstDifference(float.dE, expected.dE), context)
            XCTAssertTrue(float.dE[(ignored * p.d)..<((ignored + 1) * p.d)].allSatisfy { $0 == 0 }, context)
            if let i = firstUnrounded(half.dC, expected.dC) { XCTFail("\(context): dC[\(i)]") }
            if let i = firstUnrounded(half.dBias, expected.dBias) { XCTFail("\(context): dBias[\(i)]") }
            if let i = firstUnrounded(half.dE, expected.dE) { XCTFail("\(context): dE[\(i)]") }
          }
        }
      }
    }
    for type in halfTypes { try run(type) }
  }

  /// D = 0 with gradient buffers that have no address: the logits are the bias (an outside
  /// review: the 16-bit call trapped on the missing address).
  func testNoDimensionWithoutAddresses() throws {
    func run<H: HalfType>(_ type: H.Type) throws {
      let bias: [Float] = [0.5, -1, 2, 0.25], targets = [2, 0, 3]
      let expected = log(bias.map { exp(Double($0)) }.reduce(0, +)) - targets.map { Double(bias[$0]) }.reduce(0, +) / 3
      let biasH = bias.map { H($0) }
      var dBias = [H](repeating: H(Float.nan), count: 4)
      let result = try biasH.withUnsafeBufferPointer { b in
        try targets.withUnsafeBufferPointer { y in
          try dBias.withUnsafeMutableBufferPointer { db in
            try LinearCrossEntropy.lossAndGradient(
              embeddings: Rows(UnsafeBufferPointer<H>(start: nil, count: 0), rows: 3, columns: 0),
              classifier: Rows(UnsafeBufferPointer<H>(start: nil, count: 0), rows: 4, columns: 0), bias: b,
              targets: y, embeddingsGradient: MutableRows(UnsafeMutableBufferPointer<H>(start: nil, count: 0), rows: 3, columns: 0),
              classifierGradient: MutableRows(UnsafeMutableBufferPointer<H>(start: nil, count: 0), rows: 4, columns: 0),
              biasGradient: db)
          }
        }
      }
      XCTAssertEqual(Double(result.loss), expected, accuracy: 1e-6, H.name)
      // dbias_v = mean over tokens of p_v - [v = y]: every token has the same softmax.
      let z = bias.map { exp(Double($0)) }, total = z.reduce(0, +)
      for v in 0..<4 {
        let g = z[v] / total - Double(targets.filter { $0 == v }.count) / 3
        XCTAssertEqual(Double(dBias[v].float), g, accuracy: 1e-6 + abs(g) * 0x1p-7, "\(H.name) dbias[\(v)]")
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
