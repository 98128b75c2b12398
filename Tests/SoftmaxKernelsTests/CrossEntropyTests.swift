import Foundation
import SoftmaxKernels
import XCTest

final class CrossEntropyTests: SoftmaxKernelsTestCase {
  func check<T: KernelScalar>(
    _: T.Type, rows: Int, classes: Int, weighted: Bool, eps: Double, ignore: Int,
    reduction: LossReduction, zLoss: Double, level: ISALevel, seed: UInt64
  ) throws {
    var rng = SeededRandom(seed: seed)
    let x: [T] = rng.row(T.self, rows * classes, -8, 8)
    var targets = (0..<rows).map { _ in Int(rng.next() % UInt64(classes)) }
    if rows > 2 { targets[1] = ignore }  // one ignored row (when ignore is in range, a class)
    let w: [T]? = weighted ? rng.row(T.self, classes, 0.5, 2) : nil
    let ref = CrossEntropyReference.integer(
      x.map(Double.init), targets, classes, weights: w?.map(Double.init), eps: eps, ignore: ignore,
      reduction: reduction, zLoss: zLoss)
    let options = CrossEntropyOptions(reduction: reduction, ignoreIndex: ignore, labelSmoothing: eps, zLossScale: zLoss, execution: ExecutionOptions(isa: level))
    var rowLosses = [T](repeating: .nan, count: rows)
    var gradient = [T](repeating: .nan, count: x.count)
    let result = try x.withUnsafeBufferPointer { xb in
      try targets.withUnsafeBufferPointer { tb in
        try rowLosses.withUnsafeMutableBufferPointer { lb in
          try gradient.withUnsafeMutableBufferPointer { gb in
            if let w {
              return try w.withUnsafeBufferPointer { wb in
                try CrossEntropy.lossAndGradient(
                  logits: Rows(xb, rows: rows, columns: classes), targets: tb, classWeights: wb,
                  gradient: MutableRows(gb, rows: rows, columns: classes), rowLosses: lb, options: options)
              }
            }
            return try CrossEntropy.lossAndGradient(
              logits: Rows(xb, rows: rows, columns: classes), targets: tb,
              gradient: MutableRows(gb, rows: rows, columns: classes), rowLosses: lb, options: options)
          }
        }
      }
    }
    let what = "\(T.self) \(rows)x\(classes) w=\(weighted) eps=\(eps) ignore=\(ignore) \(reduction) z=\(zLoss) \(level)"
    let tol = T.self == Float.self ? 2e-6 : 1e-12
    XCTAssertEqual(Double(result.loss), ref.loss, accuracy: tol * max(1, abs(ref.loss)), what)
    for r in 0..<rows {
      XCTAssertEqual(Double(rowLosses[r]), ref.rows[r], accuracy: tol * max(1, abs(ref.rows[r])), "\(what) row \(r)")
    }
    let (atol, rtol) = Bounds.gradient(T.self)
    var worst = Worst()
    for i in 0..<x.count {
      let v = Double(gradient[i]), r = ref.gradient[i]
      worst.update(toleranceRatio(v, r, atol: atol, rtol: rtol), i, v, r)
    }
    XCTAssertLessThanOrEqual(worst.error, 1, "\(what): gradient beyond atol + rtol |ref| (in units of it: \(worst))")
  }

  func testAgainstReferenceAllOptions() throws {
    var seed: UInt64 = 1
    try forEachLevel { level in
      for (rows, classes) in [(1, 1), (3, 5), (7, 17), (16, 33), (5, 1000)] {
        for weighted in [false, true] {
          for eps in [0.0, 0.1] {
            for reduction in LossReduction.allCases {
              for zLoss in [0.0, 1e-4] {
                seed += 1
                try check(Float.self, rows: rows, classes: classes, weighted: weighted, eps: eps,
                          ignore: -100, reduction: reduction, zLoss: zLoss, level: level, seed: seed)
                try check(Double.self, rows: rows, classes: classes, weighted: weighted, eps: eps,
                          ignore: -100, reduction: reduction, zLoss: zLoss, level: level, seed: seed)
              }
            }
          }
        }
      }
      // ignoreIndex inside [0, C): a sample mask; the class stays in the softmax.
      try check(Float.self, rows: 9, classes: 6, weighted: true, eps: 0.2, ignore: 2,
                reduction: .mean, zLoss: 0, level: level, seed: 99)
    }
  }

  func testInPlaceGradientOverLogits() throws {
    var rng = SeededRandom(seed: 5)
    let rows = 4, classes = 37
    let x: [Float] = rng.row(Float.self, rows * classes, -5, 5)
    let targets = [0, 36, 5, 17]
    let (result, gradient) = try CrossEntropy.lossAndGradient(logits: x, targets: targets, columns: classes)
    var inPlace = x
    let l2 = try inPlace.withUnsafeMutableBufferPointer { b in
      try targets.withUnsafeBufferPointer { t in
        let inPlaceRows = MutableRows(b, rows: rows, columns: classes)
        return try CrossEntropy.lossAndGradient(logits: inPlaceRows.readOnly, targets: t, gradient: inPlaceRows).loss
      }
    }
    XCTAssertEqual(result.loss, l2)
    XCTAssertEqual(gradient, inPlace)
  }

  /// The buffer (`Rows`), `Span` and Array forms give bitwise the same result, gradient and row
  /// losses, for integer and probability targets, on one odd shape (7 x 13), at every level.
  func forms<T: KernelScalar>(_: T.Type) throws {
    let rows = 7, columns = 13
    var rng = SeededRandom(seed: 31)
    let x: [T] = rng.row(T.self, rows * columns, -6, 6), w: [T] = rng.row(T.self, columns, 0.5, 2)
    let y = (0..<rows).map { _ in Int(rng.next() % UInt64(columns)) }
    let q: [T] = rng.row(T.self, rows * columns, 0.1, 1)
    let p = q.indices.map { i in q[i] / q[i / columns * columns..<(i / columns + 1) * columns].reduce(0, +) }
    /// Result, gradient and row losses as bytes.
    typealias Bits = [UInt8]
    func bits(_ r: LossResult<T>, _ g: [T], _ l: [T]) -> Bits { ([r.loss, r.zLoss] + g + l).withUnsafeBytes { Array($0) } }
    func arrays(_ soft: Bool, _ o: CrossEntropyOptions) throws -> Bits {
      let (r, g) = try soft
        ? CrossEntropy.lossAndGradient(logits: x, probabilities: p, classWeights: w, columns: columns, options: o)
        : CrossEntropy.lossAndGradient(logits: x, targets: y, classWeights: w, columns: columns, options: o)
      XCTAssertTrue(r.loss.isFinite && r.zLoss > 0 && g.allSatisfy { $0.isFinite }, "\(T.self) soft \(soft)")
      return bits(r, g, try soft
        ? CrossEntropy.rowLosses(logits: x, probabilities: p, classWeights: w, columns: columns, options: o)
        : CrossEntropy.rowLosses(logits: x, targets: y, classWeights: w, columns: columns, options: o))
    }
    func spans(_ soft: Bool, _ o: CrossEntropyOptions) throws -> Bits {
      var g = [T](repeating: .nan, count: x.count), l = [T](repeating: .nan, count: rows)
      var gs = g.mutableSpan, ls = l.mutableSpan
      let (xs, ps, ws) = (x.span, p.span, w.span)
      let r = try soft
        ? CrossEntropy.lossAndGradient(logits: xs, probabilities: ps, classWeights: ws, columns: columns, gradient: &gs, options: o)
        : CrossEntropy.lossAndGradient(logits: xs, targets: y.span, classWeights: ws, columns: columns, gradient: &gs, options: o)
      try soft
        ? CrossEntropy.rowLosses(logits: xs, probabilities: ps, classWeights: ws, columns: columns, into: &ls, options: o)
        : CrossEntropy.rowLosses(logits: xs, targets: y.span, classWeights: ws, columns: columns, into: &ls, options: o)
      return bits(r, g, l)
    }
    func buffers(_ soft: Bool, _ o: CrossEntropyOptions) throws -> Bits {
      var g = [T](repeating: .nan, count: x.count), l = [T](repeating: .nan, count: rows)
      let r = try x.withUnsafeBufferPointer { xb in
        try p.withUnsafeBufferPointer { pb in
          try y.withUnsafeBufferPointer { yb in
            try w.withUnsafeBufferPointer { wb in
              try g.withUnsafeMutableBufferPointer { gb in
                try l.withUnsafeMutableBufferPointer { lb in
                  let (xr, pr) = (Rows(xb, rows: rows, columns: columns), Rows(pb, rows: rows, columns: columns))
                  let gr = MutableRows(gb, rows: rows, columns: columns)
                  try soft
                    ? CrossEntropy.rowLosses(logits: xr, probabilities: pr, classWeights: wb, into: lb, options: o)
                    : CrossEntropy.rowLosses(logits: xr, targets: yb, classWeights: wb, into: lb, options: o)
                  return try soft
                    ? CrossEntropy.lossAndGradient(logits: xr, probabilities: pr, classWeights: wb, gradient: gr, options: o)
                    : CrossEntropy.lossAndGradient(logits: xr, targets: yb, classWeights: wb, gradient: gr, options: o)
                }
              }
            }
          }
        }
      }
      return bits(r, g, l)
    }
    try forEachLevel { level in
      let o = CrossEntropyOptions(
        labelSmoothing: 0.1, zLossScale: 1e-4, softcap: 20, execution: ExecutionOptions(isa: level))
      for soft in [false, true] {
        let what = "\(T.self) \(soft ? "probability" : "class") targets"
        let reference = try arrays(soft, o)
        XCTAssertEqual(try spans(soft, o), reference, "Span vs Array, \(what)")
        XCTAssertEqual(try buffers(soft, o), reference, "Rows vs Array, \(what)")
      }
    }
  }

  func testFormsAgreeBitwiseFloat() throws { try forms(Float.self) }
  func testFormsAgreeBitwiseDouble() throws { try forms(Double.self) }

  func testEdgeCases() throws {
    // All targets ignored with mean: NaN by default, 0 with the option.
    let x: [Float] = [1, 2, 3, 4, 5, 6]
    XCTAssertTrue(try CrossEntropy.loss(logits: x, targets: [-100, -100], columns: 3).loss.isNaN)
    XCTAssertEqual(try CrossEntropy.loss(
      logits: x, targets: [-100, -100], columns: 3, options: CrossEntropyOptions(zeroWhenNoValidTargets: true)).loss, 0)
    XCTAssertEqual(try CrossEntropy.loss(
      logits: x, targets: [-100, -100], columns: 3, options: CrossEntropyOptions(reduction: .sum)).loss, 0)
    // No rows: mean NaN, sum 0.
    XCTAssertTrue(try CrossEntropy.loss(logits: [Float](), targets: [], columns: 3).loss.isNaN)
    XCTAssertEqual(try CrossEntropy.loss(logits: [Float](), targets: [], columns: 3, options: CrossEntropyOptions(reduction: .sum)).loss, 0)
    // -inf at the target: +inf loss, finite gradient (p_y - 1 = -1).
    let (l, g) = try CrossEntropy.lossAndGradient(logits: [-.infinity, 0, 1] as [Float], targets: [0], columns: 3)
    XCTAssertEqual(l.loss, .infinity)
    XCTAssertEqual(g[0], -1)
    XCTAssertTrue(g.allSatisfy { $0.isFinite })
    // -inf at a non-target class: exact zero probability there.
    let (l2, g2) = try CrossEntropy.lossAndGradient(logits: [-.infinity, 0, 0] as [Float], targets: [1], columns: 3)
    XCTAssertEqual(l2.loss, Float(log(2.0)), accuracy: 1e-7)
    XCTAssertEqual(g2, [0, -0.5, 0.5])
    // -inf logits with smoothing: +inf.
    XCTAssertEqual(try CrossEntropy.loss(
      logits: [-.infinity, 0, 0] as [Float], targets: [1], columns: 3,
      options: CrossEntropyOptions(labelSmoothing: 0.1)).loss, .infinity)
    // NaN / +inf logit, all -inf row: NaN loss and gradient.
    for row: [Float] in [[.nan, 0, 1], [.infinity, 0, 1], [-.infinity, -.infinity, -.infinity]] {
      let (l3, g3) = try CrossEntropy.lossAndGradient(logits: row, targets: [1], columns: 3)
      XCTAssertTrue(l3.loss.isNaN, "\(row)")
      XCTAssertTrue(g3.allSatisfy { $0.isNaN }, "\(row)")
    }
    // Huge equal logits (pytorch/pytorch#11752): log 2, not 0.
    XCTAssertEqual(try CrossEntropy.loss(logits: [1e8, 1e8] as [Float], targets: [0], columns: 2).loss, Float(log(2.0)), accuracy: 1e-7)
    XCTAssertEqual(try CrossEntropy.loss(logits: [1e30, -1e30] as [Float], targets: [1], columns: 2).loss, 2e30, accuracy: 1e24)
  }

  func testSoftmaxCollapseRegimeKeepsALoss() throws {
    // Margin 30 over 9 other classes: float32 log_softmax at the target rounds to exactly 0
    // (PyTorch float32 gives loss 0 and gradient 0); the log1p form keeps 9 e^-30.
    var x = [Float](repeating: 0, count: 10)
    x[3] = 30
    let (result, gradient) = try CrossEntropy.lossAndGradient(logits: x, targets: [3], columns: 10)
    let loss = result.loss
    let expected = log1p(9 * exp(-30.0))
    XCTAssertEqual(Double(loss), expected, accuracy: 1e-6 * expected)
    XCTAssertGreaterThan(loss, 0)
    XCTAssertEqual(Double(gradient[3]), -expected, accuracy: 1e-5 * expected)
    XCTAssertEqual(Double(gradient[0]), exp(-30.0), accuracy: 1e-5 * exp(-30.0))
    // What the naive float32 formula gives: exactly 0.
    let m = x.max()!
    let s = x.reduce(Float(0)) { $0 + Foundation.exp($1 - m) }
    XCTAssertEqual(m + Foundation.log(s) - x[3], 0)
  }

  func testProbabilityTargets() throws {
    var rng = SeededRandom(seed: 11)
    let rows = 6, classes = 19
    let x: [Double] = rng.row(Double.self, rows * classes, -4, 4)
    var t = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
      let raw = (0..<classes).map { _ in rng.uniform(0, 1) }
      let s = raw.reduce(0, +)
      for c in 0..<classes { t[r * classes + c] = raw[c] / s }
    }
    let eps = 0.1
    var refLoss = 0.0
    for r in 0..<rows {
      let z = CrossEntropyReference.logSoftmax(Array(x[r * classes..<(r + 1) * classes]))
      for c in 0..<classes { refLoss -= (t[r * classes + c] * (1 - eps) + eps / Double(classes)) * z[c] }
    }
    refLoss /= Double(rows)
    let loss = try CrossEntropy.loss(
      logits: x, probabilities: t, columns: classes, options: CrossEntropyOptions(labelSmoothing: eps)).loss
    XCTAssertEqual(loss, refLoss, accuracy: 1e-12 * abs(refLoss))
    // Gradient by central finite differences on the Double path.
    var g = [Double](repeating: 0, count: x.count)
    _ = try x.withUnsafeBufferPointer { xb in
      try t.withUnsafeBufferPointer { tb in
        try g.withUnsafeMutableBufferPointer { gb in
          try CrossEntropy.lossAndGradient(
            logits: Rows(xb, rows: rows, columns: classes), probabilities: Rows(tb, rows: rows, columns: classes),
            gradient: MutableRows(gb, rows: rows, columns: classes),
            options: CrossEntropyOptions(labelSmoothing: eps))
        }
      }
    }
    for i in [0, 7, 20, 50, 113] {
      var xp = x, xm = x
      xp[i] += 1e-6
      xm[i] -= 1e-6
      let fd = (try CrossEntropy.loss(logits: xp, probabilities: t, columns: classes, options: CrossEntropyOptions(labelSmoothing: eps)).loss
        - CrossEntropy.loss(logits: xm, probabilities: t, columns: classes, options: CrossEntropyOptions(labelSmoothing: eps)).loss) / 2e-6
      XCTAssertEqual(g[i], fd, accuracy: 1e-7, "index \(i)")
    }
  }

  func testAccuracyAndArgmax() throws {
    let x: [Float] = [0, 5, 1, 9, 2, 2, 3, 3, 1]
    var argmax = [Int](repeating: -7, count: 3)
    let r = try x.withUnsafeBufferPointer { xb in
      try [1, 0, 0].withUnsafeBufferPointer { tb in
        try argmax.withUnsafeMutableBufferPointer { ab in
          try CrossEntropy.loss(logits: Rows(xb, rows: 3, columns: 3), targets: tb, rowArgmax: ab)
        }
      }
    }
    XCTAssertEqual(argmax, [1, 0, 0])  // ties: the first index
    XCTAssertEqual(r.accuracy!, 1.0)
  }

  func testLongReductionIsAccurate() throws {
    // 8192 rows: the mean accumulates in Double (no float drift).
    let rows = 8192, classes = 64
    var rng = SeededRandom(seed: 3)
    let x: [Float] = rng.row(Float.self, rows * classes, -8, 8)
    let targets = (0..<rows).map { _ in Int(rng.next() % 64) }
    let ref = CrossEntropyReference.integer(
      x.map(Double.init), targets, classes, weights: nil, eps: 0, ignore: -100, reduction: .mean, zLoss: 0)
    let loss = try CrossEntropy.loss(logits: x, targets: targets, columns: classes).loss
    XCTAssertEqual(Double(loss), ref.loss, accuracy: 1e-6 * ref.loss)
  }

  func testBadArgumentsThrowAndWriteNothing() {
    let x: [Float] = [1, 2, 3, 4]
    assertThrows(invalid("targets", reasonContaining: "row 1")) {
      try CrossEntropy.loss(logits: x, targets: [0, 2], columns: 2)
    }
    assertThrows(.countMismatch(argument: "classWeights", expected: 2, actual: 1)) {
      try CrossEntropy.loss(logits: x, targets: [0, 1], classWeights: [1], columns: 2)
    }
    for eps in [-0.1, 1.5, Double.nan] {
      assertThrows(invalid("labelSmoothing"), "labelSmoothing \(eps)") {
        try CrossEntropy.loss(logits: x, targets: [0, 1], columns: 2, options: CrossEntropyOptions(labelSmoothing: eps))
      }
    }
    // Nothing written on a throw: the gradient keeps its sentinel.
    var g = [Float](repeating: 42, count: 4)
    assertUntouched(&g, "gradient of a bad target") { g in
      x.withUnsafeBufferPointer { xb in
        [0, 5].withUnsafeBufferPointer { tb in
          g.withUnsafeMutableBufferPointer { gb in
            assertThrows(invalid("targets")) {
              try CrossEntropy.lossAndGradient(
                logits: Rows(xb, rows: 2, columns: 2), targets: tb, gradient: MutableRows(gb, rows: 2, columns: 2))
            }
          }
        }
      }
    }
  }
}
