// Degenerate shapes of every loss (issue 8, defect 4 and its class): one class, one row, rows
// whose targets are all ignored, and rows where `p_y = 1` exactly (the other entries -inf).
// Where the mathematics gives an exact value (0 loss, 0 gradient), the kernels must too.

import Foundation
import SoftmaxKernels
import XCTest

final class LossDegenerateShapeTests: SoftmaxKernelsTestCase {
  /// Values for one-class rows: integers, fractions that round differently in Float and Double
  /// arithmetic (`x + 1`, `1 / (1 - x)`), large and tiny magnitudes.
  static let values: [Double] = [0, 3, -2.5, 3.7, -0.3, 0.1, 1e4 + 0.125, -1e4, 1e-20, -7.3e6]

  func oneClass<T: KernelScalar>(_: T.Type) throws {
    var worst: (stableLoss: Double, stableGradient: Double, ce: Double) = (0, 0, 0)
    try forEachLevel { level in
      for v in Self.values {
        // Three rows of one class each: the loss and gradient are exactly 0 (p = 1).
        let x = [T(v), T(-v), T(v / 3)]
        let targets = [0, 0, 0]
        let options = ExecutionOptions(isa: level)
        let (loss, rowLosses, gradient) = try runClassIndexLoss(StableMaxCrossEntropy.self, x, rows: 3, columns: 1, targets: targets, execution: options)
        worst.stableLoss = max(worst.stableLoss, abs(Double(loss)), rowLosses.map { abs(Double($0)) }.max()!)
        worst.stableGradient = max(worst.stableGradient, gradient.map { abs(Double($0)) }.max()!)
        XCTAssertEqual(loss, 0, "StableMax \(T.self) \(v) \(level)")
        XCTAssertEqual(rowLosses, [0, 0, 0], "StableMax \(T.self) \(v) \(level)")
        XCTAssertEqual(gradient, [0, 0, 0], "StableMax \(T.self) \(v) \(level)")
        // Cross-entropy: 0 with weights, label smoothing, probability targets (t = 1).
        for eps in [0.0, 0.1] {
          for weights: [T]? in [nil, [T(1.5)]] {
            var o = CrossEntropyOptions(reduction: .sum, labelSmoothing: eps, execution: ExecutionOptions(isa: level))
            for probability in [false, true] {
              let out = try runCrossEntropy(
                x, rows: 3, columns: 1, targets: probability ? nil : targets,
                probabilities: probability ? [1, 1, 1] : nil, weights: weights, options: o)
              worst.ce = max(worst.ce, abs(Double(out.loss)), out.gradient.map { abs(Double($0)) }.max()!)
              let at = "cross-entropy \(T.self) \(v) eps \(eps) w \(weights != nil) p \(probability) \(level)"
              XCTAssertEqual(out.loss, 0, at)
              XCTAssertEqual(out.rowLosses, [0, 0, 0], at)
              XCTAssertEqual(out.gradient, [0, 0, 0], at)
              XCTAssertEqual(out.rowLogSumExp, x, at)
            }
            // z-loss: exactly lambda x^2 per row, gradient 2 lambda x (p = 1).
            o.zLossScale = 1e-4
            let z = try runCrossEntropy(x, rows: 3, columns: 1, targets: targets, probabilities: nil, weights: weights, options: o)
            for r in 0..<3 {
              let xr = Double(x[r]), (atol, rtol) = LossBounds.gradient(T.self)
              let bound = LossBounds.crossEntropyLoss(T.self) * max(1, 1e-4 * xr * xr)
              XCTAssertEqual(Double(z.rowLosses[r]), 1e-4 * xr * xr, accuracy: bound, "z \(v)")
              XCTAssertEqual(Double(z.gradient[r]), 2e-4 * xr, accuracy: atol + rtol * abs(2e-4 * xr), "z \(v)")
            }
          }
        }
        // Spherical Z-loss of one class: z = 0, loss softplus(a b) / a, gradient exactly 0.
        let (zl, _, zg) = try runClassIndexLoss(SphericalZLoss.self, x, rows: 3, columns: 1, targets: targets, execution: options, SphericalZLossOptions(a: 1, b: 3))
        XCTAssertEqual(Double(zl), 3 * (3 + log1p(exp(-3.0))), accuracy: 1e-6, "Z-loss \(T.self) \(v)")
        XCTAssertEqual(zg, [0, 0, 0], "Z-loss \(T.self) \(v) \(level)")
      }
    }
    print("one class, \(T.self): StableMax |loss| max \(worst.stableLoss), |gradient| max \(worst.stableGradient); cross-entropy max \(worst.ce)")
  }

  func testOneClassFloat() throws { try oneClass(Float.self) }
  func testOneClassDouble() throws { try oneClass(Double.self) }

  /// `p_y = 1` with more classes: every other entry is -inf. Loss and gradient exactly 0.
  func certainTarget<T: KernelScalar>(_: T.Type) throws {
    try forEachLevel { level in
      for n in [2, 17, 40] {
        for v in Self.values {
          var x = [T](repeating: -.infinity, count: n)
          let y = n / 3
          x[y] = T(v)
          let (sl, _, sg) = try runClassIndexLoss(StableMaxCrossEntropy.self, x, rows: 1, columns: n, targets: [y], execution: ExecutionOptions(isa: level))
          XCTAssertEqual(sl, 0, "StableMax \(T.self) n \(n) \(v) \(level)")
          XCTAssertEqual(sg, [T](repeating: 0, count: n), "StableMax \(T.self) n \(n) \(v) \(level)")
          let out = try runCrossEntropy(
            x, rows: 1, columns: n, targets: [y], probabilities: nil, weights: nil,
            options: CrossEntropyOptions(execution: ExecutionOptions(isa: level)))
          XCTAssertEqual(out.loss, 0, "cross-entropy \(T.self) n \(n) \(v) \(level)")
          XCTAssertEqual(out.gradient, [T](repeating: 0, count: n), "cross-entropy \(T.self) n \(n) \(v) \(level)")
          XCTAssertEqual(out.rowLogSumExp, [T(v)])
        }
      }
    }
  }

  func testCertainTargetFloat() throws { try certainTarget(Float.self) }
  func testCertainTargetDouble() throws { try certainTarget(Double.self) }

  /// One row, and rows whose targets are all ignored: `.mean` NaN (or 0 with the option),
  /// `.sum` 0, every row loss and gradient entry exactly 0.
  func ignoredAndOneRow<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 31)
    try forEachLevel { level in
      for n in [1, 5, 1031] {
        let x: [T] = rng.row(T.self, 3 * n, -8, 8)
        for zero in [false, true] {
          for reduction in LossReduction.allCases {
            for eps in [0.0, 0.1] {
              let o = CrossEntropyOptions(reduction: reduction, labelSmoothing: eps, zLossScale: 1e-4, zeroWhenNoValidTargets: zero, execution: ExecutionOptions(isa: level))
              let out = try runCrossEntropy(
                x, rows: 3, columns: n, targets: [-100, -100, -100], probabilities: nil, weights: nil, options: o)
              let at = "\(T.self) C=\(n) \(reduction) eps \(eps) zero \(zero) \(level)"
              if reduction == .mean && !zero { XCTAssertTrue(out.loss.isNaN, at) } else { XCTAssertEqual(out.loss, 0, at) }
              XCTAssertEqual(out.rowLosses, [0, 0, 0], at)
              XCTAssertEqual(out.gradient, [T](repeating: 0, count: 3 * n), at)
            }
          }
        }
        // One row, against the wide reference.
        let row = Array(x[0..<n])
        let c = CrossEntropyCase(reduction: .mean, weights: nil, eps: 0.1, zLoss: 1e-4, ignoreIndex: -100, softcap: nil)
        let ref = CrossEntropyWideReference(rows: [WideRow(row.map { Double($0) })], c, targets: [n - 1], probabilities: nil)
        var o = c.options
        o.execution.isa = level
        let out = try runCrossEntropy(row, rows: 1, columns: n, targets: [n - 1], probabilities: nil, weights: nil, options: o)
        var tally = LossTally()
        tally.loss(Double(out.loss), ref.loss, bound: LossBounds.crossEntropyLoss(T.self), "one row")
        tally.gradient(out.gradient.map { Double($0) }, ref.gradient(row: 0), bound: LossBounds.gradient(T.self), floor: 1e-30, "one row")
        XCTAssertLessThanOrEqual(tally.loss, 1, "\(T.self) C=\(n) \(level): \(tally)")
        XCTAssertLessThanOrEqual(tally.gradient, 1, "\(T.self) C=\(n) \(level): \(tally)")
        let s = stableMaxWide(row.map { Double($0) }, target: 0, scale: 1)
        let (sl, _, sg) = try runClassIndexLoss(StableMaxCrossEntropy.self, row, rows: 1, columns: n, targets: [0], execution: ExecutionOptions(isa: level))
        var st = LossTally()
        st.loss(Double(sl), s.loss, bound: LossBounds.targetLoss(T.self), "one row")
        st.gradient(sg.map { Double($0) }, s.gradient, bound: LossBounds.gradient(T.self), floor: 1e-30, "one row")
        XCTAssertLessThanOrEqual(st.loss, 1, "StableMax \(T.self) C=\(n) \(level): \(st)")
        XCTAssertLessThanOrEqual(st.gradient, 1, "StableMax \(T.self) C=\(n) \(level): \(st)")
      }
    }
  }

  func testIgnoredRowsAndOneRowFloat() throws { try ignoredAndOneRow(Float.self) }
  func testIgnoredRowsAndOneRowDouble() throws { try ignoredAndOneRow(Double.self) }
}
