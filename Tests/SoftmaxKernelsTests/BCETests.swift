import Foundation
import SoftmaxKernels
import XCTest

/// Binary cross-entropy with logits against a reference written from PyTorch's formula
/// (`aten/src/ATen/native/Loss.cpp`, `binary_cross_entropy_with_logits`), evaluated in Double.
final class BCETests: SoftmaxKernelsTestCase {
  /// PyTorch: `max_val = (-x).clamp_min(0)`, `log_weight = (p - 1) y + 1`,
  /// `loss = (1 - y) x + log_weight (log(exp(-max_val) + exp(-x - max_val)) + max_val)`, times w.
  /// Evaluated in Double it cancels for confident predictions (x + (-x + tiny)), so the tests
  /// compare the kernels with the algebraically equal `w [(1 - y) softplus(x) + p y softplus(-x)]`
  /// in Float80 (`referenceLoss`) and check separately that the two agree.
  static func pyTorchLoss(_ x: Double, _ y: Double, _ w: Double, _ p: Double) -> Double {
    let m = max(-x, 0)
    let logWeight = (p - 1) * y + 1
    return w * ((1 - y) * x + logWeight * (Foundation.log(Foundation.exp(-m) + Foundation.exp(-x - m)) + m))
  }

  static func referenceLoss(_ x: Double, _ y: Double, _ w: Double, _ p: Double) -> Double {
    let (x, y, w, p) = (Wide(x), Wide(y), Wide(w), Wide(p))
    if x.isInfinite {
      let vanishing = x > 0 ? 1 - y : p * y  // the term whose softplus is 0
      return Double(vanishing == 0 && (x > 0 ? p * y : 1 - y) == 0 ? 0 : w * (x > 0 ? (1 - y) * x : -p * y * x))
    }
    return Double(w * ((1 - y) * sigRefSoftplusExact(x) + p * y * sigRefSoftplusExact(-x)))
  }

  /// `w [sigmoid(x) (1 + (p - 1) y) - p y] = w [(1 - y) sigmoid(x) - p y sigmoid(-x)]`, and the
  /// scale of its two terms (for tolerances).
  static func referenceGradient(_ x: Double, _ y: Double, _ w: Double, _ p: Double) -> (Double, Double) {
    let (x, y, w, p) = (Wide(x), Wide(y), Wide(w), Wide(p))
    let s = sigRefSigmoid(x), sm = sigRefSigmoid(-x)
    return (Double(w * ((1 - y) * s - p * y * sm)), Double(abs(w) * ((1 - y) * s + p * y * sm)))
  }

  /// The reference above is PyTorch's formula: they agree to the rounding of PyTorch's form.
  func testReferenceIsPyTorchFormula() {
    var random = SeededRandom(seed: 1, stream: .xorshift64Star)
    for _ in 0..<10_000 {
      let x = random.uniform(-30, 30), y = random.uniform(0, 1) < 0.3 ? 1 : random.uniform(0, 1)
      let w = random.uniform(0, 2), p = random.uniform(0.2, 5)
      let a = Self.pyTorchLoss(x, y, w, p), b = Self.referenceLoss(x, y, w, p)
      XCTAssertEqual(a, b, accuracy: 8 * 0x1p-53 * w * (1 + p) * (abs(x) + 1), "x \(x) y \(y)")
    }
  }

  struct Case {
    var x: [Double], y: [Double], w: [Double]?, p: [Double]?
  }

  static func makeCase(rows: Int, columns: Int, seed: UInt64, weighted: Bool, posWeighted: Bool) -> Case {
    var random = SeededRandom(seed: seed, stream: .xorshift64Star)
    let n = rows * columns
    let x = random.row(Double.self, n, -25, 25)
    let y = (0..<n).map { i -> Double in
      switch i % 3 {
      case 0: return 0
      case 1: return 1
      default: return random.uniform(0, 1)
      }
    }
    let w = weighted ? random.row(Double.self, n, 0, 2) : nil
    let p = posWeighted ? random.row(Double.self, columns, 0.25, 4) : nil
    return Case(x: x, y: y, w: w, p: p)
  }

  func check<T: KernelScalar>(_: T.Type, tolerance: Double) throws {
    for (rows, columns) in [(1, 1), (3, 5), (37, 19), (8, 64), (2, 1000)] {
      for (weighted, posWeighted) in [(false, false), (true, false), (false, true), (true, true)] {
        let c = Self.makeCase(rows: rows, columns: columns, seed: UInt64(rows * 1000 + columns), weighted: weighted, posWeighted: posWeighted)
        let x = c.x.map { T($0) }, y = c.y.map { T($0) }
        let w = c.w.map { $0.map { T($0) } }, p = c.p.map { $0.map { T($0) } }
        let n = x.count
        var refLoss = [Double](), refGrad = [Double](), gradScale = [Double]()
        for i in 0..<n {
          let (xi, yi) = (Double(x[i]), Double(y[i]))
          let wi = w.map { Double($0[i]) } ?? 1, pi = p.map { Double($0[i % columns]) } ?? 1
          refLoss.append(Self.referenceLoss(xi, yi, wi, pi))
          let (g, s) = Self.referenceGradient(xi, yi, wi, pi)
          refGrad.append(g)
          gradScale.append(s)
        }
        let sum = refLoss.reduce(0, +)
        try forEachLevel { level in
          let context = "\(T.self) \(rows)x\(columns) w \(weighted) p \(posWeighted) \(level)"
          let none = try BinaryCrossEntropy.rowLosses(
            logits: x, targets: y, weight: w, posWeight: p, options: BinaryCrossEntropyOptions(execution: ExecutionOptions(isa: level)))
          for i in 0..<n {
            XCTAssertEqual(Double(none[i]), refLoss[i], accuracy: tolerance * abs(refLoss[i]) + 1e-300, "\(context) i \(i)")
          }
          // `.none` in loss / lossAndGradient: the sum of the per-element losses, as `.sum`.
          for reduction in LossReduction.allCases {
            let options = BinaryCrossEntropyOptions(reduction: reduction, execution: ExecutionOptions(isa: level))
            let expected = reduction == .mean ? sum / Double(n) : sum
            let (result, grad) = try BinaryCrossEntropy.lossAndGradient(logits: x, targets: y, weight: w, posWeight: p, options: options)
            let loss = result.loss
            XCTAssertEqual(Double(loss), expected, accuracy: tolerance * abs(expected), context)
            XCTAssertEqual(Double(try BinaryCrossEntropy.loss(logits: x, targets: y, weight: w, posWeight: p, options: options).loss), Double(loss))
            let k = reduction == .mean ? 1 / Double(n) : 1
            for i in 0..<n {
              XCTAssertEqual(Double(grad[i]), k * refGrad[i], accuracy: tolerance * k * gradScale[i] + 1e-300, "\(context) \(reduction) i \(i)")
            }
            // An upstream gradient of 2.5 (buffer form) gives 2.5x the gradient, the same loss.
            var dx = [T](repeating: 0, count: n)
            let scaled = try x.withUnsafeBufferPointer { xp in
              try y.withUnsafeBufferPointer { yp in
                try withOptionalBuffer(w) { wp in
                  try withOptionalBuffer(p) { pp in
                    try dx.withUnsafeMutableBufferPointer { d in
                      try BinaryCrossEntropy.lossAndGradient(
                        logits: xp, targets: yp, weight: wp, posWeight: pp, lossGradient: 2.5,
                        gradient: d, options: options)
                    }
                  }
                }
              }
            }
            XCTAssertEqual(scaled, result, context)
            for i in 0..<n {
              XCTAssertEqual(Double(dx[i]), 2.5 * Double(grad[i]), accuracy: 1e-6 * abs(Double(grad[i])) + 1e-300, context)
            }
          }
        }
      }
    }
  }

  func testFloatAgainstPyTorchFormula() throws { try check(Float.self, tolerance: 8 * 0x1p-24) }
  func testDoubleAgainstPyTorchFormula() throws { try check(Double.self, tolerance: 1e-13) }

  /// Reduction `none` with a per-element upstream gradient, by central finite differences.
  func testGradientByFiniteDifferences() throws {
    let c = Self.makeCase(rows: 4, columns: 9, seed: 99, weighted: true, posWeighted: true)
    var random = SeededRandom(seed: 4, stream: .xorshift64Star)
    let g = random.row(Double.self, c.x.count, -1, 1)
    let h = 1e-6
    let options = BinaryCrossEntropyOptions(reduction: .none)
    let lp = try BinaryCrossEntropy.rowLosses(logits: c.x.map { $0 + h }, targets: c.y, weight: c.w, posWeight: c.p)
    let lm = try BinaryCrossEntropy.rowLosses(logits: c.x.map { $0 - h }, targets: c.y, weight: c.w, posWeight: c.p)
    var dx = [Double](repeating: .nan, count: c.x.count)
    try c.x.withUnsafeBufferPointer { x in
      try c.y.withUnsafeBufferPointer { y in
        try c.w!.withUnsafeBufferPointer { w in
          try c.p!.withUnsafeBufferPointer { p in
            try g.withUnsafeBufferPointer { gp in
              try dx.withUnsafeMutableBufferPointer { d in
                try BinaryCrossEntropy.backward(
                  logits: x, targets: y, weight: w, posWeight: p, rowLossGradients: gp, gradient: d,
                  options: options)
              }
            }
          }
        }
      }
    }
    for i in 0..<c.x.count {
      let fd = g[i] * (lp[i] - lm[i]) / (2 * h)
      XCTAssertEqual(dx[i], fd, accuracy: 1e-6 * max(1, abs(fd)), "i \(i)")
    }
  }

  /// Infinite logits with hard labels: the vanishing term is 0, not 0 x inf; NaN propagates;
  /// empty inputs; long means accurate; threads.
  func testEdgeCasesAndLongMean() throws {
    try forEachLevel { level in
      let o = BinaryCrossEntropyOptions(execution: ExecutionOptions(isa: level))
      let x: [Float] = [.infinity, .infinity, -.infinity, -.infinity, .nan, 0, 1e30, -1e30]
      let y: [Float] = [1, 0, 0, 1, 1, 0.5, 1, 0]
      let l = try BinaryCrossEntropy.rowLosses(logits: x, targets: y, options: o)
      XCTAssertEqual(Array(l[0..<4]), [0, .infinity, 0, .infinity], "\(level)")
      XCTAssertTrue(l[4].isNaN)
      XCTAssertEqual(l[5], Float(M_LN2))
      XCTAssertEqual(l[6], 0)
      XCTAssertEqual(l[7], 0)
      let (_, g) = try BinaryCrossEntropy.lossAndGradient(logits: x, targets: y, options: BinaryCrossEntropyOptions(reduction: .sum, execution: ExecutionOptions(isa: level)))
      XCTAssertEqual(Array(g[0..<4]), [0, 1, 0, -1], "\(level)")
      XCTAssertTrue(g[4].isNaN)
      XCTAssertEqual(g[5], 0)
      XCTAssertTrue(try BinaryCrossEntropy.loss(logits: [Float](), targets: [], options: o).loss.isNaN)
      XCTAssertEqual(try BinaryCrossEntropy.loss(logits: [Float](), targets: [], options: BinaryCrossEntropyOptions(reduction: .sum, execution: ExecutionOptions(isa: level))).loss, 0)
    }
    // Mean over 2^20 elements (threads 1 and 2): within 1e-6 of the Double sum.
    var random = SeededRandom(seed: 8, stream: .xorshift64Star)
    let n = 1 << 20
    let x = random.row(Float.self, n, -6, 6)
    let y = random.row(Float.self, n, 0, 1)
    var sum = 0.0
    for i in 0..<n { sum += Self.referenceLoss(Double(x[i]), Double(y[i]), 1, 1) }
    for threads in [1, 2] {
      let options = BinaryCrossEntropyOptions(execution: ExecutionOptions(threads: threads))
      let (result, g) = try BinaryCrossEntropy.lossAndGradient(logits: x, targets: y, options: options)
      XCTAssertEqual(Double(result.loss), sum / Double(n), accuracy: 1e-6 * sum / Double(n), "threads \(threads)")
      if threads == 2 {
        XCTAssertEqual(g, try BinaryCrossEntropy.lossAndGradient(logits: x, targets: y, options: BinaryCrossEntropyOptions(execution: ExecutionOptions(threads: 1))).gradient)
      }
    }
    // In place over the logits (Liger-style).
    var logits: [Float] = (0..<100).map { Float($0) / 10 - 5 }
    let targets: [Float] = (0..<100).map { Float($0 % 2) }
    let expected = try BinaryCrossEntropy.lossAndGradient(logits: logits, targets: targets)
    let result = try logits.withUnsafeMutableBufferPointer { xp in
      try targets.withUnsafeBufferPointer { yp in
        try BinaryCrossEntropy.lossAndGradient(logits: UnsafeBufferPointer(xp), targets: yp, gradient: xp)
      }
    }
    XCTAssertEqual(result, expected.result)
    XCTAssertEqual(logits, expected.gradient)
  }

  /// `.none` in `loss` / `lossAndGradient` (every form) no longer throws: the loss is the sum
  /// of the per-element losses (`rowLosses`), bitwise the `.sum` result, and the gradient is
  /// the gradient of that sum (times `lossGradient`).
  func testNoneReductionIsTheSumOfRowLosses() throws {
    let c = Self.makeCase(rows: 5, columns: 7, seed: 12, weighted: true, posWeighted: true)
    let (x, y, w, p) = (c.x.map { Float($0) }, c.y.map { Float($0) }, c.w!.map { Float($0) }, c.p!.map { Float($0) })
    let none = BinaryCrossEntropyOptions(reduction: .none), sum = BinaryCrossEntropyOptions(reduction: .sum)
    let rowLosses = try BinaryCrossEntropy.rowLosses(logits: x, targets: y, weight: w, posWeight: p)
    let total = rowLosses.reduce(0.0) { $0 + Double($1) }
    let loss = try BinaryCrossEntropy.loss(logits: x, targets: y, weight: w, posWeight: p, options: none)
    XCTAssertEqual(Double(loss.loss), total, accuracy: 1e-6 * total)
    XCTAssertEqual(loss, try BinaryCrossEntropy.loss(logits: x, targets: y, weight: w, posWeight: p, options: sum))
    let (result, gradient) = try BinaryCrossEntropy.lossAndGradient(
      logits: x, targets: y, weight: w, posWeight: p, lossGradient: 0.5, options: none)
    let reference = try BinaryCrossEntropy.lossAndGradient(
      logits: x, targets: y, weight: w, posWeight: p, lossGradient: 0.5, options: sum)
    XCTAssertEqual(result, loss)
    XCTAssertEqual(result, reference.result)
    XCTAssertEqual(gradient, reference.gradient)
    // The gradient of the sum is `backward` with every upstream gradient 0.5.
    let upstream = [Float](repeating: 0.5, count: x.count)
    XCTAssertEqual(gradient, try BinaryCrossEntropy.backward(
      logits: x, targets: y, weight: w, posWeight: p, rowLossGradients: upstream))
    // Span and buffer forms.
    XCTAssertEqual(try BinaryCrossEntropy.loss(
      logits: x.span, targets: y.span, weight: w.span, posWeight: p.span, options: none), loss)
    var spanGradient = [Float](repeating: .nan, count: x.count)
    var ds = spanGradient.mutableSpan
    XCTAssertEqual(try BinaryCrossEntropy.lossAndGradient(
      logits: x.span, targets: y.span, weight: w.span, posWeight: p.span, lossGradient: 0.5,
      gradient: &ds, options: none), loss)
    XCTAssertEqual(spanGradient, gradient)
    let buffer = try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        try BinaryCrossEntropy.loss(logits: xb, targets: yb, options: none)
      }
    }
    let unweighted = try BinaryCrossEntropy.rowLosses(logits: x, targets: y).reduce(0.0) { $0 + Double($1) }
    XCTAssertEqual(Double(buffer.loss), unweighted, accuracy: 1e-6 * unweighted)
    // Empty: the sum, 0 (not the mean's NaN).
    XCTAssertEqual(try BinaryCrossEntropy.loss(logits: [Float](), targets: [], options: none).loss, 0)
  }

  /// An output may be the logits' memory (in place) but no other input's, not even exactly,
  /// and not the other output's; nothing is written on a throw.
  func testOutputsOverlappingInputsOtherThanTheLogitsThrow() {
    let x: [Float] = [0.5, -1, 2, 3]
    var scratch: [Float] = [0, 1, 0.5, 1, 1, 1, 1, 1, 1]
    assertUntouched(&scratch, "outputs over inputs") { scratch in
      scratch.withUnsafeMutableBufferPointer { b in
        let targets = UnsafeMutableBufferPointer(rebasing: b[0..<4])
        let weight = UnsafeMutableBufferPointer(rebasing: b[4..<8])
        let shifted = UnsafeMutableBufferPointer(rebasing: b[5..<9])
        x.withUnsafeBufferPointer { xp in
          assertThrows(invalid("gradient"), "gradient = targets") {
            _ = try BinaryCrossEntropy.lossAndGradient(logits: xp, targets: UnsafeBufferPointer(targets), gradient: targets)
          }
          assertThrows(invalid("rowLosses"), "rowLosses = weight") {
            try BinaryCrossEntropy.rowLosses(
              logits: xp, targets: UnsafeBufferPointer(targets), weight: UnsafeBufferPointer(weight), into: weight)
          }
          assertThrows(invalid("rowLosses"), "rowLosses over the end of the weight") {
            try BinaryCrossEntropy.rowLosses(
              logits: xp, targets: UnsafeBufferPointer(targets), weight: UnsafeBufferPointer(weight), into: shifted)
          }
          assertThrows(invalid("gradient"), "gradient over the posWeight") {
            _ = try BinaryCrossEntropy.lossAndGradient(
              logits: xp, targets: UnsafeBufferPointer(targets), posWeight: UnsafeBufferPointer(rebasing: b[4..<6]),
              gradient: shifted)
          }
          assertThrows(invalid("gradient"), "backward: gradient = targets") {
            try BinaryCrossEntropy.backward(
              logits: xp, targets: UnsafeBufferPointer(targets), rowLossGradients: UnsafeBufferPointer(weight),
              gradient: targets)
          }
          assertThrows(invalid("gradient"), "backward: gradient over the end of the rowLossGradients") {
            try BinaryCrossEntropy.backward(
              logits: xp, targets: UnsafeBufferPointer(targets), rowLossGradients: UnsafeBufferPointer(weight),
              gradient: shifted)
          }
        }
      }
    }
  }

  func testErrorsWriteNothing() throws {
    let x: [Float] = [0.5, -1, 2, 3]
    assertThrows(invalid("targets")) { _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, 1, 1.5, 0]) }
    assertThrows(invalid("targets")) { _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, -0.25, 1, 0]) }
    assertThrows(invalid("targets")) { _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, .nan, 1, 0]) }
    XCTAssertNoThrow(try BinaryCrossEntropy.loss(
      logits: x, targets: [0, 1, 1.5, 0], options: BinaryCrossEntropyOptions(checksTargets: false)))
    assertThrows(.countMismatch(argument: "targets", expected: 4, actual: 3)) {
      _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, 1, 1])
    }
    assertThrows(.countMismatch(argument: "weight", expected: 4, actual: 2)) {
      _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, 1, 1, 0], weight: [1, 2])
    }
    assertThrows(invalid("posWeight")) { _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, 1, 1, 0], posWeight: [1, 2, 3]) }
    assertThrows(invalid("posWeight")) { _ = try BinaryCrossEntropy.loss(logits: x, targets: [0, 1, 1, 0], posWeight: []) }
    assertThrows(.countMismatch(argument: "rowLossGradients", expected: 4, actual: 3)) {
      _ = try BinaryCrossEntropy.backward(logits: x, targets: [0, 1, 1, 0], rowLossGradients: [1, 1, 1])
    }
    // A bad target leaves the gradient buffer untouched.
    var dx: [Float] = [7, 7, 7, 7]
    let targets: [Float] = [0, 1, 2, 0]
    assertUntouched(&dx, "gradient of a bad target") { dx in
      x.withUnsafeBufferPointer { xp in
        targets.withUnsafeBufferPointer { yp in
          dx.withUnsafeMutableBufferPointer { d in
            assertThrows(invalid("targets")) { _ = try BinaryCrossEntropy.lossAndGradient(logits: xp, targets: yp, gradient: d) }
          }
        }
      }
    }
    // Partial overlap of the output with the logits is rejected.
    var buffer: [Float] = [0.5, -1, 2, 3, 4]
    assertUntouched(&buffer, "partially overlapping gradient") { buffer in
      buffer.withUnsafeMutableBufferPointer { b in
        targets.withUnsafeBufferPointer { yp in
          assertThrows(invalid("gradient")) {
            _ = try BinaryCrossEntropy.lossAndGradient(
              logits: UnsafeBufferPointer(rebasing: b[0..<4]), targets: UnsafeBufferPointer(rebasing: yp[0..<4]),
              gradient: UnsafeMutableBufferPointer(rebasing: b[1..<5]),
              options: BinaryCrossEntropyOptions(checksTargets: false))
          }
        }
      }
    }
  }
}
