import Foundation
import SoftmaxKernels
import XCTest

/// Float64 reference of PyTorch's `cross_entropy` (LossNLL.cpp semantics, ../shared/SPEC.md
/// §3.1-3.4) and of its gradient, written from the formulas, not from the library.
enum CrossEntropyReference {
  static func logSoftmax(_ x: [Double]) -> [Double] {
    let m = x.max()!
    let lse = m + log(x.reduce(0) { $0 + exp($1 - m) })
    return x.map { $0 - lse }
  }

  /// (reduced loss, per-row losses, gradient of the reduced loss) for integer targets.
  static func integer(
    _ x: [Double], _ targets: [Int], _ c: Int, weights: [Double]?, eps: Double,
    ignore: Int, reduction: LossReduction, zLoss: Double
  ) -> (loss: Double, rows: [Double], gradient: [Double]) {
    let n = targets.count
    var rowLoss = [Double](repeating: 0, count: n)
    var grad = [Double](repeating: 0, count: x.count)
    let w = weights ?? [Double](repeating: 1, count: c)
    let totalW = w.reduce(0, +)
    var denom = 0.0, valid = 0
    for r in 0..<n where targets[r] != ignore { denom += w[targets[r]]; valid += 1 }
    // Log-softmax and log-sum-exp of every row that is not ignored.
    let logProbabilities = (0..<n).map { r -> (z: [Double], lse: Double)? in
      if targets[r] == ignore { return nil }
      let row = Array(x[r * c..<(r + 1) * c])
      let z = logSoftmax(row)
      return (z, row[0] - z[0])
    }
    var nllSum = 0.0, zSum = 0.0
    for r in 0..<n {
      guard let (z, lse) = logProbabilities[r] else { continue }
      let y = targets[r]
      var l = -(1 - eps) * w[y] * z[y]
      if eps > 0 { l += -eps / Double(c) * (0..<c).reduce(0) { $0 + w[$1] * z[$1] } }
      nllSum += l
      zSum += lse * lse
      rowLoss[r] = l + zLoss * lse * lse
    }
    let loss: Double
    let s: Double, zs: Double
    switch reduction {
    case .mean:
      loss = nllSum / denom + (zLoss > 0 ? zLoss * zSum / Double(valid) : 0)
      (s, zs) = (1 / denom, 1 / Double(valid))
    case .sum, .none:
      loss = nllSum + zLoss * zSum
      (s, zs) = (1, 1)
    }
    for r in 0..<n {
      guard let (z, lse) = logProbabilities[r] else { continue }
      let y = targets[r]
      for i in 0..<c {
        let p = exp(z[i])
        var g = s * ((1 - eps) * w[y] * (p - (i == y ? 1 : 0)) + eps / Double(c) * (totalW * p - w[i]))
        g += zs * 2 * zLoss * lse * p
        grad[r * c + i] = g
      }
    }
    return (loss, rowLoss, grad)
  }
}

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
                  logits: xb, rows: rows, columns: classes, targets: tb, classWeights: wb,
                  options: options, gradient: gb, rowLosses: lb)
              }
            }
            return try CrossEntropy.lossAndGradient(
              logits: xb, rows: rows, columns: classes, targets: tb, options: options,
              gradient: gb, rowLosses: lb)
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
    let (loss, gradient) = try CrossEntropy.lossAndGradient(logits: x, targets: targets, classes: classes)
    var inPlace = x
    let l2 = try inPlace.withUnsafeMutableBufferPointer { b in
      try targets.withUnsafeBufferPointer { t in
        try CrossEntropy.lossAndGradient(
          logits: UnsafeBufferPointer(b), rows: rows, columns: classes, targets: t, gradient: b).loss
      }
    }
    XCTAssertEqual(loss, l2)
    XCTAssertEqual(gradient, inPlace)
  }

  func testEdgeCases() throws {
    // All targets ignored with mean: NaN by default, 0 with the option.
    let x: [Float] = [1, 2, 3, 4, 5, 6]
    XCTAssertTrue(try CrossEntropy.loss(logits: x, targets: [-100, -100], classes: 3).isNaN)
    XCTAssertEqual(try CrossEntropy.loss(
      logits: x, targets: [-100, -100], classes: 3, options: CrossEntropyOptions(zeroWhenNoValidTargets: true)), 0)
    XCTAssertEqual(try CrossEntropy.loss(
      logits: x, targets: [-100, -100], classes: 3, options: CrossEntropyOptions(reduction: .sum)), 0)
    // No rows: mean NaN, sum 0.
    XCTAssertTrue(try CrossEntropy.loss(logits: [Float](), targets: [], classes: 3).isNaN)
    XCTAssertEqual(try CrossEntropy.loss(logits: [Float](), targets: [], classes: 3, options: CrossEntropyOptions(reduction: .sum)), 0)
    // -inf at the target: +inf loss, finite gradient (p_y - 1 = -1).
    let (l, g) = try CrossEntropy.lossAndGradient(logits: [-.infinity, 0, 1] as [Float], targets: [0], classes: 3)
    XCTAssertEqual(l, .infinity)
    XCTAssertEqual(g[0], -1)
    XCTAssertTrue(g.allSatisfy { $0.isFinite })
    // -inf at a non-target class: exact zero probability there.
    let (l2, g2) = try CrossEntropy.lossAndGradient(logits: [-.infinity, 0, 0] as [Float], targets: [1], classes: 3)
    XCTAssertEqual(l2, Float(log(2.0)), accuracy: 1e-7)
    XCTAssertEqual(g2, [0, -0.5, 0.5])
    // -inf logits with smoothing: +inf.
    XCTAssertEqual(try CrossEntropy.loss(
      logits: [-.infinity, 0, 0] as [Float], targets: [1], classes: 3,
      options: CrossEntropyOptions(labelSmoothing: 0.1)), .infinity)
    // NaN / +inf logit, all -inf row: NaN loss and gradient.
    for row: [Float] in [[.nan, 0, 1], [.infinity, 0, 1], [-.infinity, -.infinity, -.infinity]] {
      let (l3, g3) = try CrossEntropy.lossAndGradient(logits: row, targets: [1], classes: 3)
      XCTAssertTrue(l3.isNaN, "\(row)")
      XCTAssertTrue(g3.allSatisfy { $0.isNaN }, "\(row)")
    }
    // Huge equal logits (pytorch/pytorch#11752): log 2, not 0.
    XCTAssertEqual(try CrossEntropy.loss(logits: [1e8, 1e8] as [Float], targets: [0], classes: 2), Float(log(2.0)), accuracy: 1e-7)
    XCTAssertEqual(try CrossEntropy.loss(logits: [1e30, -1e30] as [Float], targets: [1], classes: 2), 2e30, accuracy: 1e24)
  }

  func testSoftmaxCollapseRegimeKeepsALoss() throws {
    // Margin 30 over 9 other classes: float32 log_softmax at the target rounds to exactly 0
    // (PyTorch float32 gives loss 0 and gradient 0); the log1p form keeps 9 e^-30.
    var x = [Float](repeating: 0, count: 10)
    x[3] = 30
    let (loss, gradient) = try CrossEntropy.lossAndGradient(logits: x, targets: [3], classes: 10)
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
      logits: x, probabilities: t, classes: classes, options: CrossEntropyOptions(labelSmoothing: eps))
    XCTAssertEqual(loss, refLoss, accuracy: 1e-12 * abs(refLoss))
    // Gradient by central finite differences on the Double path.
    var g = [Double](repeating: 0, count: x.count)
    _ = try x.withUnsafeBufferPointer { xb in
      try t.withUnsafeBufferPointer { tb in
        try g.withUnsafeMutableBufferPointer { gb in
          try CrossEntropy.lossAndGradient(
            logits: xb, rows: rows, columns: classes, probabilities: tb,
            options: CrossEntropyOptions(labelSmoothing: eps), gradient: gb)
        }
      }
    }
    for i in [0, 7, 20, 50, 113] {
      var xp = x, xm = x
      xp[i] += 1e-6
      xm[i] -= 1e-6
      let fd = (try CrossEntropy.loss(logits: xp, probabilities: t, classes: classes, options: CrossEntropyOptions(labelSmoothing: eps))
        - CrossEntropy.loss(logits: xm, probabilities: t, classes: classes, options: CrossEntropyOptions(labelSmoothing: eps))) / 2e-6
      XCTAssertEqual(g[i], fd, accuracy: 1e-7, "index \(i)")
    }
  }

  func testAccuracyAndArgmax() throws {
    let x: [Float] = [0, 5, 1, 9, 2, 2, 3, 3, 1]
    var argmax = [Int](repeating: -7, count: 3)
    let r = try x.withUnsafeBufferPointer { xb in
      try [1, 0, 0].withUnsafeBufferPointer { tb in
        try argmax.withUnsafeMutableBufferPointer { ab in
          try CrossEntropy.loss(logits: xb, rows: 3, columns: 3, targets: tb, rowArgmax: ab)
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
    let loss = try CrossEntropy.loss(logits: x, targets: targets, classes: classes)
    XCTAssertEqual(Double(loss), ref.loss, accuracy: 1e-6 * ref.loss)
  }

  func testBadArgumentsThrowAndWriteNothing() {
    let x: [Float] = [1, 2, 3, 4]
    assertThrows(invalid("targets", reasonContaining: "row 1")) {
      try CrossEntropy.loss(logits: x, targets: [0, 2], classes: 2)
    }
    assertThrows(.countMismatch(argument: "classWeights", expected: 2, actual: 1)) {
      try CrossEntropy.loss(logits: x, targets: [0, 1], classes: 2, classWeights: [1])
    }
    for eps in [-0.1, 1.5, Double.nan] {
      assertThrows(invalid("labelSmoothing"), "labelSmoothing \(eps)") {
        try CrossEntropy.loss(logits: x, targets: [0, 1], classes: 2, options: CrossEntropyOptions(labelSmoothing: eps))
      }
    }
    // Nothing written on a throw: the gradient keeps its sentinel.
    var g = [Float](repeating: 42, count: 4)
    assertUntouched(&g, "gradient of a bad target") { g in
      x.withUnsafeBufferPointer { xb in
        [0, 5].withUnsafeBufferPointer { tb in
          g.withUnsafeMutableBufferPointer { gb in
            assertThrows(invalid("targets")) {
              try CrossEntropy.lossAndGradient(logits: xb, rows: 2, columns: 2, targets: tb, gradient: gb)
            }
          }
        }
      }
    }
  }
}

final class CrossEntropySoftcapTests: SoftmaxKernelsTestCase {
  /// Soft-capping `c tanh(x / c)` against the float64 reference applied to capped logits, with
  /// the chain factor `1 - tanh^2` on the gradient, for every ISA level; and by finite
  /// differences on the Double path.
  func testSoftcapAgainstReference() throws {
    var rng = SeededRandom(seed: 77)
    let rows = 5, classes = 37, cap = 30.0
    try forEachLevel { level in
      for weighted in [false, true] {
        let x: [Float] = rng.row(Float.self, rows * classes, -80, 80)
        let targets = (0..<rows).map { _ in Int(rng.next() % UInt64(classes)) }
        let w: [Float]? = weighted ? rng.row(Float.self, classes, 0.5, 2) : nil
        let capped = x.map { cap * tanh(Double($0) / cap) }
        let ref = CrossEntropyReference.integer(
          capped, targets, classes, weights: w?.map(Double.init), eps: 0.1, ignore: -100,
          reduction: .mean, zLoss: 1e-4)
        let options = CrossEntropyOptions(labelSmoothing: 0.1, zLossScale: 1e-4, softcap: cap, execution: ExecutionOptions(isa: level))
        let (loss, gradient) = try CrossEntropy.lossAndGradient(
          logits: x, targets: targets, classes: classes, classWeights: w, options: options)
        XCTAssertEqual(Double(loss), ref.loss, accuracy: 2e-6 * max(1, ref.loss), "\(level) w=\(weighted)")
        for i in 0..<x.count {
          let t = tanh(Double(x[i]) / cap)
          let expected = ref.gradient[i] * (1 - t * t)
          XCTAssertEqual(Double(gradient[i]), expected, accuracy: 1e-7 + 1e-5 * abs(expected), "\(level) i \(i)")
        }
      }
    }
    // Finite differences (Double), and +-inf logits capped to +-c.
    let xd: [Double] = rng.row(Double.self, 2 * 9, -50, 50)
    let o = CrossEntropyOptions(softcap: 20)
    let (_, g) = try CrossEntropy.lossAndGradient(logits: xd, targets: [3, 8], classes: 9, options: o)
    for i in [0, 3, 9, 17] {
      var xp = xd, xm = xd
      xp[i] += 1e-6
      xm[i] -= 1e-6
      let fd = (try CrossEntropy.loss(logits: xp, targets: [3, 8], classes: 9, options: o)
        - CrossEntropy.loss(logits: xm, targets: [3, 8], classes: 9, options: o)) / 2e-6
      XCTAssertEqual(g[i], fd, accuracy: 1e-7, "index \(i)")
    }
    let infinite = try CrossEntropy.loss(
      logits: [.infinity, 0, -.infinity] as [Float], targets: [1], classes: 3, options: CrossEntropyOptions(softcap: 5))
    let expected = log(exp(5.0) + 1 + exp(-5.0))
    XCTAssertEqual(Double(infinite), expected, accuracy: 1e-6)
    // A non-positive or infinite cap throws before anything is written.
    for bad in [0.0, -1, .infinity, .nan] {
      assertThrows(invalid("softcap"), "softcap \(bad)") {
        try CrossEntropy.loss(logits: [1, 2] as [Float], targets: [0], classes: 2, options: CrossEntropyOptions(softcap: bad))
      }
    }
  }
}
