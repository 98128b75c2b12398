// Cross-entropy of 16-bit logits: the same arithmetic as Float logits (bitwise, every option,
// level and target kind), the gradient rounded once, against float64, in place, and errors.

import SoftmaxKernels
import XCTest

final class HalfPrecisionCrossEntropyTests: SoftmaxKernelsTestCase {
  /// What one cross-entropy call returns, for comparison.
  struct Outcome: Equatable {
    var loss: UInt32, zLoss: UInt32, accuracy: Double?
    var rowLosses: [UInt32], rowLogSumExp: [UInt32], rowArgmax: [Int]
  }

  /// Every option combination that changes the arithmetic.
  let optionSets: [(String, CrossEntropyOptions, weighted: Bool)] = {
    var sets: [(String, CrossEntropyOptions, weighted: Bool)] = []
    for reduction in [LossReduction.mean, .sum, .none] {
      for (eps, z, cap) in [(0.0, 0.0, nil as Double?), (0.1, 0.0, nil), (0.0, 1e-4, nil), (0.05, 1e-3, 30.0), (0.0, 0.0, 5.0)] {
        for weighted in [false, true] {
          var o = CrossEntropyOptions()
          o.reduction = reduction
          o.labelSmoothing = eps
          o.zLossScale = z
          o.softcap = cap
          o.ignoreIndex = 3
          sets.append(("\(reduction) eps=\(eps) z=\(z) cap=\(cap.map { "\($0)" } ?? "-") w=\(weighted)", o, weighted))
        }
      }
    }
    return sets
  }()

  /// Loss, per-row outputs and gradient of 16-bit logits are those of the same call on the
  /// logits widened to Float (the kernels share all their arithmetic), the gradient rounded once:
  /// bitwise, for class and probability targets, every option, every level, lengths around the
  /// vector boundaries, several threads.
  func testHalfLogitsComputeAsTheirFloatValues() throws {
    var rng = SeededRandom(seed: 5150)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in [1, 15, 16, 17, 100, 1025] {
          let rows = 7
          let x = halfRow(H.self, rows * columns, range: 12, quantum: 64, &rng)
          let xf = x.map(\.float)
          var targets = (0..<rows).map { _ in Int.random(in: 0..<columns, using: &rng) }
          targets[2] = 3  // the ignore index of the options (a valid class when columns > 3)
          let weights = (0..<columns).map { _ in Float.random(in: 0.5...2, using: &rng) }
          var probabilities = (0..<rows * columns).map { _ in Float.random(in: 0...1, using: &rng) }
          for r in 0..<rows {
            let s = probabilities[r * columns..<(r + 1) * columns].reduce(0, +)
            for i in 0..<columns { probabilities[r * columns + i] /= s }
          }
          for (name, options0, weighted) in optionSets {
            for threads in [1, 2] {
              var options = options0
              options.execution = ExecutionOptions(threads: threads, isa: level)
              for probabilityTargets in [false, true] {
                let context = "\(name) C=\(columns) t=\(threads) probabilities=\(probabilityTargets)"
                let (half, halfGradient) = try run(x, xf: nil, rows, columns, targets, probabilityTargets ? probabilities : nil, weighted ? weights : nil, options)
                let (float, floatGradient) = try run(xf, xf: nil, rows, columns, targets, probabilityTargets ? probabilities : nil, weighted ? weights : nil, options)
                XCTAssertEqual(half, float, context)
                let rounded = floatGradient.map { H($0).bits }
                if let i = (0..<halfGradient.count).first(where: { halfGradient[$0].bits != rounded[$0] }) {
                  XCTFail("\(context): gradient[\(i)] \(halfGradient[i].float) is not \(floatGradient[i]) rounded")
                }
              }
            }
          }
        }
      }
    }
  }

  /// One call of loss + gradient (+ row losses, log-sum-exp, argmax) on logits stored as `L`.
  private func run<L>(
    _ x: [L], xf _: [Float]?, _ rows: Int, _ columns: Int, _ targets: [Int], _ probabilities: [Float]?,
    _ weights: [Float]?, _ options: CrossEntropyOptions
  ) throws -> (Outcome, [L]) {
    var gradient = x
    var rowLosses = [Float](repeating: .nan, count: rows), lse = rowLosses
    var argmax = [Int](repeating: -9, count: rows)
    let result: LossResult<Float> = try x.withUnsafeBufferPointer { xp in
      try gradient.withUnsafeMutableBufferPointer { gp in
        try rowLosses.withUnsafeMutableBufferPointer { lp in
          try lse.withUnsafeMutableBufferPointer { sp in
            try argmax.withUnsafeMutableBufferPointer { ap in
              try targets.withUnsafeBufferPointer { tp in
                try (weights ?? []).withUnsafeBufferPointer { wp in
                  try (probabilities ?? []).withUnsafeBufferPointer { pp in
                    let w = weights == nil ? nil : wp
                    let logits = Rows(xp, rows: rows, columns: columns)
                    let g = MutableRows(gp, rows: rows, columns: columns)
                    let p = Rows(pp, rows: rows, columns: columns)
                    switch (x, probabilities) {
                    case (is [Float], nil):
                      return try CrossEntropy.lossAndGradient(
                        logits: logits as! Rows<Float>, targets: tp, classWeights: w, gradient: g as! MutableRows<Float>,
                        rowLosses: lp, rowLogSumExp: sp, rowArgmax: ap, options: options)
                    case (is [Float], _):
                      return try CrossEntropy.lossAndGradient(
                        logits: logits as! Rows<Float>, probabilities: p, classWeights: w, gradient: g as! MutableRows<Float>,
                        rowLosses: lp, rowLogSumExp: sp, options: options)
                    default:
                      return try halfCall(logits, g, tp, probabilities == nil ? nil : p, w, lp, sp, ap, options)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    let outcome = Outcome(
      loss: result.loss.bitPattern, zLoss: result.zLoss.bitPattern, accuracy: result.accuracy,
      rowLosses: rowLosses.map(\.bitPattern), rowLogSumExp: lse.map(\.bitPattern),
      rowArgmax: probabilities == nil ? argmax : [])
    return (outcome, gradient)
  }

  private func halfCall<L>(
    _ logits: Rows<L>, _ g: MutableRows<L>, _ tp: UnsafeBufferPointer<Int>, _ p: Rows<Float>?,
    _ w: UnsafeBufferPointer<Float>?, _ lp: UnsafeMutableBufferPointer<Float>, _ sp: UnsafeMutableBufferPointer<Float>,
    _ ap: UnsafeMutableBufferPointer<Int>, _ options: CrossEntropyOptions
  ) throws -> LossResult<Float> {
    func call<H: HalfPrecisionStorage>(_: H.Type) throws -> LossResult<Float> {
      let x = logits as! Rows<H>, gradient = g as! MutableRows<H>
      if let p {
        return try CrossEntropy.lossAndGradient(
          logits: x, probabilities: p, classWeights: w, gradient: gradient, rowLosses: lp, rowLogSumExp: sp, options: options)
      }
      return try CrossEntropy.lossAndGradient(
        logits: x, targets: tp, classWeights: w, gradient: gradient, rowLosses: lp, rowLogSumExp: sp, rowArgmax: ap,
        options: options)
    }
    if L.self == BFloat16.self { return try call(BFloat16.self) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    if L.self == Float16.self { return try call(Float16.self) }
    #endif
    fatalError("not a 16-bit type: \(L.self)")
  }

  /// Against float64: the loss within the Float bound of the 16-bit logits' exact loss, each
  /// gradient entry within 1 ulp of the 16-bit type plus the Float bound; the forms (loss only,
  /// row losses, arrays) agree with the fused call.
  func testHalfCrossEntropyAgainstFloat64() throws {
    var rng = SeededRandom(seed: 61)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        let (rows, columns) = (9, 1000)
        let x = halfRow(H.self, rows * columns, &rng)
        let targets = (0..<rows).map { _ in Int.random(in: 0..<columns, using: &rng) }
        let options = CrossEntropyOptions(execution: ExecutionOptions(isa: level))
        let (result, gradient) = try CrossEntropy.lossAndGradient(logits: x, targets: targets, columns: columns, options: options)
        let ref = CrossEntropyReference.integer(
          x.map { Double($0.float) }, targets, columns, weights: nil, eps: 0, ignore: -100, reduction: .mean, zLoss: 0)
        XCTAssertLessThanOrEqual(Swift.abs(Double(result.loss) - ref.loss), 2e-6 * max(1, Swift.abs(ref.loss)))
        var worst = 0.0
        for i in gradient.indices {
          let bound = H.ulp(at: ref.gradient[i]) + 1e-7 + 1e-5 * Swift.abs(ref.gradient[i])
          worst = max(worst, H.ulpError(gradient[i], ref.gradient[i]))
          if Swift.abs(Double(gradient[i].float) - ref.gradient[i]) > bound {
            XCTFail("gradient[\(i)] \(gradient[i].float) vs \(ref.gradient[i])")
            break
          }
        }
        XCTAssertLessThanOrEqual(worst, 1.01, "largest gradient error in ulp of \(H.name)")
        let lossOnly = try CrossEntropy.loss(logits: x, targets: targets, columns: columns, options: options)
        XCTAssertEqual(lossOnly.loss, result.loss)
        var perRow = [Float](repeating: .nan, count: rows)
        try x.withUnsafeBufferPointer { xp in
          try targets.withUnsafeBufferPointer { tp in
            try perRow.withUnsafeMutableBufferPointer { lp in
              try CrossEntropy.rowLosses(logits: Rows(xp, rows: rows, columns: columns), targets: tp, into: lp, options: options)
            }
          }
        }
        for r in 0..<rows {
          XCTAssertLessThanOrEqual(Swift.abs(Double(perRow[r]) - ref.rows[r]), 2e-6 * max(1, ref.rows[r]), "row \(r)")
        }
        // In place: the gradient over the logits gives the same bits.
        var inPlace = x
        _ = try inPlace.withUnsafeMutableBufferPointer { gp in
          try targets.withUnsafeBufferPointer { tp in
            let g = MutableRows(gp, rows: rows, columns: columns)
            return try CrossEntropy.lossAndGradient(logits: g.readOnly, targets: tp, gradient: g, options: options)
          }
        }
        XCTAssertEqual(inPlace.map(\.bits), gradient.map(\.bits), "in place")
      }
    }
  }

  /// Bad arguments throw naming the argument and write nothing: a target out of range, a
  /// gradient of the wrong shape, a gradient overlapping the class weights.
  func testHalfCrossEntropyErrors() {
    let x = (0..<40).map { BFloat16(Float($0 % 7)) }
    var gradient = [BFloat16](repeating: BFloat16(-1), count: 40)
    let before = gradient.map(\.bits)
    x.withUnsafeBufferPointer { xp in
      gradient.withUnsafeMutableBufferPointer { gp in
        let logits = Rows(xp, rows: 4, columns: 10)
        [0, 1, 10, 2].withUnsafeBufferPointer { tp in
          assertThrows(invalid("targets", reasonContaining: "row 2")) {
            try CrossEntropy.lossAndGradient(logits: logits, targets: tp, gradient: MutableRows(gp, rows: 4, columns: 10))
          }
        }
        [0, 1, 2, 3].withUnsafeBufferPointer { tp in
          assertThrows(invalid("gradient")) {
            try CrossEntropy.lossAndGradient(logits: logits, targets: tp, gradient: MutableRows(gp, rows: 5, columns: 8))
          }
        }
      }
    }
    XCTAssertEqual(gradient.map(\.bits), before, "a throwing call wrote")
  }
}

/// Streaming stores of 16-bit outputs (32-byte vectors): bitwise the ordinary stores at every
/// element offset of a 64-byte line, nothing outside the output written (an outside review
/// found the head before the first 64-byte boundary longer than a vector, a trap).
final class HalfPrecisionStreamingTests: SoftmaxKernelsTestCase {
  func testHalfOutputsStreamBitwiseAtEveryAlignment() throws {
    var rng = SeededRandom(seed: 3232)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      for columns in [1, 15, 16, 17, 31, 32, 33, 100, 1000] {
        let rows = 2
        let x = halfRow(H.self, rows * columns, &rng)
        let targets = (0..<rows).map { _ in Int.random(in: 0..<columns, using: &rng) }
        try forEachAlgorithmAndLevel { options in
          for offset in 0..<32 {
            var results: [[UInt16]] = []
            var floats: [[UInt32]] = []
            for streaming in [false, true] {
              var o = options
              o.execution.streamingStores = streaming
              results.append(try written(x, rows, columns, offset, H(Float(-7))) { input, out in
                try Softmax.forward(input, into: out, options: o)
              }.map(\.bits))
              results.append(try written(x, rows, columns, offset, H(Float(-7))) { input, out in
                try LogSoftmax.forward(input, into: out, options: o)
              }.map(\.bits))
              floats.append(try written(x, rows, columns, offset, Float(-7)) { input, out in
                try Softmax.forward(input, into: out, options: o)
              }.map(\.bitPattern))
              var ce = CrossEntropyOptions(execution: o.execution)
              ce.reduction = .sum
              results.append(try written(x, rows, columns, offset, H(Float(-7))) { input, out in
                _ = try targets.withUnsafeBufferPointer { tp in
                  try CrossEntropy.lossAndGradient(logits: input, targets: tp, gradient: out, options: ce)
                }
              }.map(\.bits))
            }
            XCTAssertEqual(results[0..<3], results[3..<6], "columns \(columns) offset \(offset) \(describe(options))")
            XCTAssertEqual(floats[0], floats[1], "Float output, columns \(columns) offset \(offset)")
          }
        }
      }
    }
  }

  /// The output of `body` written at element `offset` of a larger buffer filled with `fill`,
  /// whose other elements must stay `fill`.
  private func written<H: HalfType, O: BitwiseCopyable & Equatable>(
    _ x: [H], _ rows: Int, _ columns: Int, _ offset: Int, _ fill: O,
    _ body: (Rows<H>, MutableRows<O>) throws -> Void
  ) throws -> [O] {
    var buffer = [O](repeating: fill, count: x.count + offset + 64)
    try x.withUnsafeBufferPointer { xb in
      try buffer.withUnsafeMutableBufferPointer { b in
        let out = UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)])
        try body(Rows(xb, rows: rows, columns: columns), MutableRows(out, rows: rows, columns: columns))
      }
    }
    let outside = buffer[..<offset] + buffer[(offset + x.count)...]
    XCTAssertTrue(outside.allSatisfy { $0 == fill }, "written outside the output (offset \(offset))")
    return Array(buffer[offset..<(offset + x.count)])
  }
}
