import Foundation
import SoftmaxKernels
import XCTest

/// The spherical Z-loss (de Brebisson & Vincent 2016) and StableMax (Prieto et al. 2025)
/// against float64 references and finite differences.
final class SphericalZLossTests: SoftmaxKernelsTestCase {
  static func reference(_ o: [Double], _ c: Int, a: Double, b: Double, eps: Double = 1e-12) -> Double {
    let d = Double(o.count)
    let mean = o.reduce(0, +) / d
    let sd = (o.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / d + eps).squareRoot()
    let u = a * (b - (o[c] - mean) / sd)
    return (max(u, 0) + log1p(exp(-abs(u)))) / a
  }

  func testLossAndGradientAgainstReference() throws {
    var rng = SeededRandom(seed: 21)
    try forEachLevel { level in
      for (rows, columns) in [(1, 2), (3, 17), (5, 100), (2, 1000)] {
        let x: [Double] = rng.row(Double.self, rows * columns, -3, 3)
        let targets = (0..<rows).map { _ in Int(rng.next() % UInt64(columns)) }
        let (a, b) = (0.7, 2.5)
        let (loss, _, grad) = try runClassIndexLoss(
          SphericalZLoss.self, x, rows: rows, columns: columns, targets: targets, reduction: .mean,
          execution: ExecutionOptions(isa: level), SphericalZLossOptions(a: a, b: b))
        var ref = 0.0
        for r in 0..<rows { ref += Self.reference(Array(x[r * columns..<(r + 1) * columns]), targets[r], a: a, b: b) }
        ref /= Double(rows)
        XCTAssertEqual(loss, ref, accuracy: 1e-12 * max(1, ref), "\(rows)x\(columns) \(level)")
        // Central finite differences of the mean loss.
        for i in Set([0, x.count / 2, x.count - 1, targets[0]]) {
          func f(_ v: [Double]) -> Double {
            var s = 0.0
            for r in 0..<rows { s += Self.reference(Array(v[r * columns..<(r + 1) * columns]), targets[r], a: a, b: b) }
            return s / Double(rows)
          }
          var xp = x, xm = x
          xp[i] += 1e-6
          xm[i] -= 1e-6
          XCTAssertEqual(grad[i], (f(xp) - f(xm)) / 2e-6, accuracy: 1e-7, "index \(i), \(rows)x\(columns) \(level)")
        }
        // Shift and scale invariance of the loss, zero-sum gradient (shift invariance).
        for r in 0..<rows {
          let g = grad[r * columns..<(r + 1) * columns].reduce(0, +)
          XCTAssertEqual(g, 0, accuracy: 1e-12)
        }
      }
    }
  }

  func testFloatMatchesReferenceAndInvariance() throws {
    var rng = SeededRandom(seed: 8)
    let columns = 4096
    let x: [Float] = rng.row(Float.self, columns, -8, 8)
    let loss = try x.withUnsafeBufferPointer { xb in
      try [17].withUnsafeBufferPointer { tb in
        try SphericalZLoss.loss(logits: Rows(vector: xb), targets: tb, options: SphericalZLossOptions(a: 1, b: 3)).loss
      }
    }
    let ref = Self.reference(x.map(Double.init), 17, a: 1, b: 3)
    XCTAssertEqual(Double(loss), ref, accuracy: 1e-5 * ref)
    let shifted = x.map { 3 * $0 + 100 }
    let loss2 = try shifted.withUnsafeBufferPointer { xb in
      try [17].withUnsafeBufferPointer { tb in
        try SphericalZLoss.loss(logits: Rows(vector: xb), targets: tb, options: SphericalZLossOptions(a: 1, b: 3)).loss
      }
    }
    XCTAssertEqual(Double(loss2), ref, accuracy: 1e-4 * ref)
  }

  func testGradientCoefficientsMatchDenseGradient() throws {
    let o: [Double] = [0.3, -1.2, 2.5, 0.0, 1.1, -0.4]
    let c = 2
    let s = SphericalZLoss.lossAndGradientCoefficients(
      sum: o.reduce(0, +), sumOfSquares: o.reduce(0) { $0 + $1 * $1 }, targetOutput: o[c],
      columns: o.count, a: 1.5, b: 1)
    var grad = [Double](repeating: 0, count: o.count)
    let loss = try o.withUnsafeBufferPointer { xb in
      try [c].withUnsafeBufferPointer { tb in
        try grad.withUnsafeMutableBufferPointer { gb in
          try SphericalZLoss.lossAndGradient(
            logits: Rows(vector: xb), targets: tb, gradient: MutableRows(vector: gb),
            options: SphericalZLossOptions(a: 1.5, b: 1)).loss
        }
      }
    }
    XCTAssertEqual(s.loss, loss, accuracy: 1e-12)
    for k in 0..<o.count {
      XCTAssertEqual(s.alpha + s.beta * o[k] + (k == c ? s.gamma : 0), grad[k], accuracy: 1e-12, "k = \(k)")
    }
  }

  /// The Array and Span forms (the Array forms call the Span forms) give bitwise the results of
  /// the `Rows` form.
  func testFormsAgree() throws {
    let (x, y) = FormsInput.make(Double.self, seed: 12)
    try FormsInput.assertArrayForms(
      rowsForm: runClassIndexLoss(SphericalZLoss.self,
        x, rows: FormsInput.rows, columns: FormsInput.columns, targets: y,
        reduction: .mean, lossGradient: 0.5, execution: ExecutionOptions(), SphericalZLossOptions(a: 0.7, b: 2.5)),
      lossAndGradient: SphericalZLoss.lossAndGradient(
        logits: x, targets: y, columns: FormsInput.columns, lossGradient: 0.5,
        options: SphericalZLossOptions(a: 0.7, b: 2.5)),
      loss: SphericalZLoss.loss(
        logits: x, targets: y, columns: FormsInput.columns, options: SphericalZLossOptions(a: 0.7, b: 2.5)),
      rowLosses: SphericalZLoss.rowLosses(
        logits: x, targets: y, columns: FormsInput.columns, options: SphericalZLossOptions(a: 0.7, b: 2.5)))
  }

  /// Rows of two entries: `z_c = +-1` and the exact gradient `(g / sigma)([k = c] - 1/2 - z_c z_k / 2)`
  /// cancels to 0 (up to `epsilon`), so its computed value is rounding noise of the scale
  /// `|g| / sigma`, not within `1e-5 |ref|`: the documented bound adds `4 u |g| / sigma`
  /// (`u` the unit roundoff). Measured here, every level and type.
  func testTwoEntryRowsGradientWithinTheScaleTerm() throws {
    func check<T: KernelScalar>(_: T.Type, _ level: ISALevel) throws -> Double {
      var rng = SeededRandom(seed: 77)
      let rows = 64, (a, b) = (0.7, 2.5)
      // Spreads from 16 down to 2e-4 (small sigma: large |g| / sigma), centres 0 to 2000.
      let x: [T] = (0..<rows).flatMap { r -> [T] in
        let (spread, centre) = ([8.0, 1e-1, 1e-4][r % 3], 1000 * Double(r % 3))
        return rng.row(Double.self, 2, -spread, spread).map { T(centre + $0) }
      }
      let targets = (0..<rows).map { $0 % 2 }
      let (_, _, gradient) = try runClassIndexLoss(
        SphericalZLoss.self, x, rows: rows, columns: 2, targets: targets,
        execution: ExecutionOptions(isa: level), SphericalZLossOptions(a: a, b: b))
      let u = Bounds.isFloat(T.self) ? 0x1p-24 : 0x1p-53
      let (atol, rtol) = LossBounds.gradient(T.self)
      var worst = 0.0
      for r in 0..<rows {
        let row = [Double(x[2 * r]), Double(x[2 * r + 1])]
        let ref = sphericalZLossWide(row, target: targets[r], a: a, b: b, epsilon: 1e-12, scale: 1).gradient
        let sigma = (abs(row[1] - row[0]) / 2 * abs(row[1] - row[0]) / 2 + 1e-12).squareRoot()
        let z = (row[targets[r]] - (row[0] + row[1]) / 2) / sigma
        let g = 1 / (1 + exp(-a * (b - z)))  // |dL/dz_c|
        for k in 0..<2 {
          let e = abs(Double(gradient[2 * r + k]) - ref[k]) - (atol + rtol * abs(ref[k]))
          worst = max(worst, e / (u * g / sigma))
        }
      }
      XCTAssertLessThanOrEqual(worst, 4, "\(T.self) \(level): beyond 4 u |g| / sigma")
      return worst
    }
    try forEachLevel { level in
      let (f, d) = (try check(Float.self, level), try check(Double.self, level))
      print(String(format: "Z-loss, rows of two entries, %@: worst %.2f (Float), %.2f (Double) units of u |g| / sigma", "\(level)", f, d))
    }
  }

  func testBadArguments() {
    let x = [Float](repeating: 1, count: 4)
    for (target, a, expected) in [(0, 0.0, invalid("a")), (4, 1, invalid("targets"))] {
      assertThrows(expected, "target \(target), a \(a)") {
        try x.withUnsafeBufferPointer { xb in
          try [target].withUnsafeBufferPointer { tb in
            try SphericalZLoss.loss(logits: Rows(vector: xb), targets: tb, options: SphericalZLossOptions(a: a, b: 1))
          }
        }
      }
    }
  }
}

final class StableMaxTests: SoftmaxKernelsTestCase {
  static func s(_ x: Double) -> Double { x >= 0 ? x + 1 : 1 / (1 - x) }

  func testStableMaxAndLogAgainstReference() throws {
    var rng = SeededRandom(seed: 4)
    try forEachLevel { level in
      for n in [1, 5, 16, 17, 33, 1000] {
        let x: [Float] = rng.row(Float.self, n, -20, 20)
        let total = x.reduce(0.0) { $0 + Self.s(Double($1)) }
        let y = try StableMax.forward(x, options: ExecutionOptions(isa: level))
        let z = try LogStableMax.forward(x, options: ExecutionOptions(isa: level))
        for i in 0..<n {
          let ref = Self.s(Double(x[i])) / total
          XCTAssertEqual(Double(y[i]), ref, accuracy: 2e-6 * ref, "n \(n) i \(i) \(level)")
          XCTAssertEqual(Double(z[i]), log(ref), accuracy: 1e-5 * max(1, abs(log(ref))), "n \(n) i \(i) \(level)")
        }
      }
    }
    // Edge cases: -inf gives 0; +inf gives inf/inf = NaN there and 0 elsewhere (as the
    // reference code's s(x) / sum); NaN makes the row NaN.
    XCTAssertEqual(try StableMax.forward([-.infinity, 0] as [Float]), [0, 1])
    let withInfinity = try StableMax.forward([.infinity, 0] as [Float])
    XCTAssertTrue(withInfinity[0].isNaN)
    XCTAssertEqual(withInfinity[1], 0)
    XCTAssertTrue(try StableMax.forward([.nan, 0] as [Float]).allSatisfy { $0.isNaN })
  }

  func testCrossEntropyGradientByFiniteDifferences() throws {
    var rng = SeededRandom(seed: 6)
    let rows = 3, columns = 9
    let x: [Double] = rng.row(Double.self, rows * columns, -4, 4)
    let targets = [0, 4, 8]
    func f(_ v: [Double]) -> Double {
      var total = 0.0
      for r in 0..<rows {
        let row = v[r * columns..<(r + 1) * columns]
        total += log(row.reduce(0) { $0 + Self.s($1) }) - log(Self.s(row[row.startIndex + targets[r]]))
      }
      return total / Double(rows)
    }
    let (loss, _, grad) = try runClassIndexLoss(
      StableMaxCrossEntropy.self, x, rows: rows, columns: columns, targets: targets, reduction: .mean,
      execution: ExecutionOptions())
    XCTAssertEqual(loss, f(x), accuracy: 1e-13)
    for i in 0..<x.count {
      var xp = x, xm = x
      xp[i] += 1e-6
      xm[i] -= 1e-6
      XCTAssertEqual(grad[i], (f(xp) - f(xm)) / 2e-6, accuracy: 1e-8, "index \(i)")
    }
  }

  /// The Array and Span forms of the cross-entropy give bitwise the results of the `Rows` form.
  func testCrossEntropyFormsAgree() throws {
    let (x, y) = FormsInput.make(Float.self, seed: 13)
    let columns = FormsInput.columns
    try FormsInput.assertArrayForms(
      rowsForm: runClassIndexLoss(StableMaxCrossEntropy.self,
        x, rows: FormsInput.rows, columns: columns, targets: y, reduction: .mean, lossGradient: 0.5,
        execution: ExecutionOptions()),
      lossAndGradient: StableMaxCrossEntropy.lossAndGradient(logits: x, targets: y, columns: columns, lossGradient: 0.5),
      loss: StableMaxCrossEntropy.loss(logits: x, targets: y, columns: columns),
      rowLosses: StableMaxCrossEntropy.rowLosses(logits: x, targets: y, columns: columns))
  }

  /// The "Softmax Collapse" regime of Prieto et al.: a confidently classified float32 row whose
  /// naive softmax cross-entropy and gradient are exactly 0, while StableMax (and this
  /// package's log1p-based cross-entropy) still give a non-zero gradient.
  func testSoftmaxCollapseRegime() throws {
    var x = [Float](repeating: 0, count: 10)
    x[2] = 40
    // Naive float32 softmax cross-entropy (PyTorch's order of operations): exactly 0.
    let m = x.max()!
    let naiveLogSumExp = m + Foundation.log(x.reduce(Float(0)) { $0 + Foundation.exp($1 - m) })
    XCTAssertEqual(naiveLogSumExp - x[2], 0)
    let naiveTargetGradient = Foundation.exp(x[2] - naiveLogSumExp) - 1
    XCTAssertEqual(naiveTargetGradient, 0)
    // StableMax: non-zero loss and gradient.
    var g = [Float](repeating: .nan, count: 10)
    let loss = try x.withUnsafeBufferPointer { xb in
      try [2].withUnsafeBufferPointer { tb in
        try g.withUnsafeMutableBufferPointer { gb in
          try StableMaxCrossEntropy.lossAndGradient(
            logits: Rows(xb, rows: 1, columns: 10), targets: tb, gradient: MutableRows(gb, rows: 1, columns: 10)).loss
        }
      }
    }
    XCTAssertGreaterThan(loss, 0)
    XCTAssertLessThan(g[2], 0)
    XCTAssertGreaterThan(g[0], 0)
    // The log1p-based softmax cross-entropy: non-zero too (9 e^-40).
    let (ceResult, ceGrad) = try CrossEntropy.lossAndGradient(logits: x, targets: [2], columns: 10)
    let ce = ceResult.loss
    XCTAssertGreaterThan(ce, 0)
    XCTAssertEqual(Double(ce), 9 * exp(-40.0), accuracy: 1e-6 * 9 * exp(-40.0))
    XCTAssertLessThan(ceGrad[2], 0)
    XCTAssertGreaterThan(ceGrad[0], 0)
  }
}

/// The input of the tests that compare the forms of a loss with integer targets: 5 rows of 11.
enum FormsInput {
  static let rows = 5, columns = 11

  /// Logits in `[-3, 3)` and one target per row.
  static func make<T: KernelScalar>(_: T.Type, seed: UInt64) -> (x: [T], y: [Int]) {
    var rng = SeededRandom(seed: seed)
    let x: [T] = rng.row(T.self, rows * columns, -3, 3)
    return (x, (0..<rows).map { _ in Int(rng.next() % UInt64(columns)) })
  }

  /// The Array forms' results (the reduced loss of `.mean` with `lossGradient` 0.5, its
  /// gradient, and the row losses) equal the `Rows` form's.
  static func assertArrayForms<T: KernelScalar>(
    rowsForm: (loss: T, rowLosses: [T], gradient: [T]), lossAndGradient: (result: LossResult<T>, gradient: [T]),
    loss: LossResult<T>, rowLosses: [T], file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(lossAndGradient.result.loss, rowsForm.loss, file: file, line: line)
    XCTAssertEqual(lossAndGradient.gradient, rowsForm.gradient, file: file, line: line)
    XCTAssertEqual(loss.loss, rowsForm.loss, file: file, line: line)
    XCTAssertEqual(rowLosses, rowsForm.rowLosses, file: file, line: line)
  }
}
