// Linear + cross-entropy without the logits, against the materialised path: logits as a
// Double matrix product, then the Double cross-entropy reference and its gradient pushed
// through the product (dE = G C, dC = G^T E), at every level and thread count.

import Foundation
import SoftmaxKernels
import XCTest

/// A problem: `n x d` embeddings, `v x d` classifier, optional bias, targets.
struct LinearProblem {
  var n: Int, d: Int, v: Int
  var e: [Float], c: [Float], bias: [Float]?, targets: [Int]

  init(n: Int, d: Int, v: Int, seed: UInt64, bias: Bool = false, spread: Double = 3, ignoring: Int? = nil) {
    var g = SeededRandom(seed: seed)
    (self.n, self.d, self.v) = (n, d, v)
    // Logits of about +-spread: E and C entries scaled by the dimension.
    let a = spread / Double(max(1, d)).squareRoot()
    e = g.row(Float.self, n * d, -a, a).map { $0 * 1.7 }
    c = g.row(Float.self, v * d, -1, 1)
    self.bias = bias ? g.row(Float.self, v, -1, 1) : nil
    targets = (0..<n).map { _ in Int(g.next() % UInt64(v)) }
    if let ignoring { for k in stride(from: 1, to: n, by: 4) { targets[k] = ignoring } }
  }

  /// The Double logits and, per token, the bound of the Float logits' error: `D 2^-24
  /// sum_d |E C|` for the dot product, plus the rounding of the bias addition.
  func logits() -> (z: [Double], bound: [Double]) {
    var z = [Double](repeating: 0, count: n * v), bound = [Double](repeating: 0, count: n)
    for i in 0..<n {
      for k in 0..<v {
        var s = 0.0, m = 0.0
        for j in 0..<d {
          let p = Double(e[i * d + j]) * Double(c[k * d + j])
          s += p
          m += abs(p)
        }
        s += Double(bias?[k] ?? 0)
        z[i * v + k] = s
        bound[i] = max(bound[i], Double(d + 1) * 0x1p-24 * (m + abs(s)))
      }
    }
    return (z, bound)
  }
}

/// The materialised path in Double and the bounds of the Float results against it.
struct LinearReference {
  var loss: Double, lossBound: Double
  var rows: [Double], rowBounds: [Double], lse: [Double]
  var dE: [Double], dEBound: [Double], dC: [Double], dCBound: [Double], dBias: [Double], dBiasBound: [Double]

  init(_ p: LinearProblem, _ o: LinearCrossEntropyOptions, lossGradient: Double = 1) {
    var (z, delta) = p.logits()
    let cap = o.softcap
    if let cap {
      // c tanh(z / c): tanh is 1-Lipschitz; the kernel's tanh adds a few units of 2^-24 |c|.
      for i in 0..<z.count { z[i] = cap * tanh(z[i] / cap) }
      for i in 0..<p.n { delta[i] += 8 * 0x1p-24 * cap }
    }
    let r = CrossEntropyReference.integer(
      z, p.targets, p.v, weights: nil, eps: o.labelSmoothing, ignore: o.ignoreIndex,
      reduction: o.reduction, zLoss: o.zLossScale)
    var g = r.gradient.map { $0 * lossGradient }
    if let cap { for i in 0..<g.count { g[i] *= 1 - (z[i] / cap) * (z[i] / cap) } }
    let lse = (0..<p.n).map { i in
      let row = z[(i * p.v)..<((i + 1) * p.v)]
      let m = row.max()!
      return m + log(row.reduce(0) { $0 + exp($1 - m) })
    }
    self.lse = lse
    self.loss = r.loss
    rows = r.rows
    let valid = p.targets.filter { $0 != o.ignoreIndex }.count
    // A row's loss moves by at most 2 delta (lse and z_y each by delta; the smoothing term is
    // an average of such), its z-loss by 2 zLossScale |lse| delta; plus CrossEntropy's own
    // Float bound 2e-6 max(1, |loss|).
    let rowBounds = (0..<p.n).map { i in
      p.targets[i] == o.ignoreIndex
        ? 0 : 2.5 * delta[i] * (1 + 2 * o.zLossScale * abs(lse[i])) + 2e-6 * max(1, abs(r.rows[i]))
    }
    self.rowBounds = rowBounds
    let total = rowBounds.reduce(0, +)
    let loss = r.loss
    lossBound = (o.reduction == .mean ? total / Double(max(1, valid)) : total) + 2e-6 * max(1, abs(loss))
    // Gradient entries: |dg| <= (4 delta + 1e-5)(|g| + |s'| p) with s' the scale of p (z-loss
    // included); a sum of K of them in Float adds (K + 2) 2^-24 sum |g| |other operand|.
    let scaleOfP: [Double] = (0..<p.n).map { i in
      let s = o.reduction == .mean ? 1 / Double(max(1, valid)) : 1
      return abs(lossGradient) * s * (1 + 2 * o.zLossScale * abs(lse[i]))
    }
    func weight(_ i: Int, _ k: Int) -> Double {
      guard p.targets[i] != o.ignoreIndex else { return 0 }
      let prob = exp(z[i * p.v + k] - lse[i])
      return (4 * delta[i] + 1e-5) * (abs(g[i * p.v + k]) + scaleOfP[i] * prob)
    }
    var dE = [Double](repeating: 0, count: p.n * p.d), dEBound = dE
    var dC = [Double](repeating: 0, count: p.v * p.d), dCBound = dC
    var dBias = [Double](repeating: 0, count: p.v), dBiasBound = dBias
    for i in 0..<p.n {
      for k in 0..<p.v {
        let gik = g[i * p.v + k], w = weight(i, k)
        dBias[k] += gik
        dBiasBound[k] += w + Double(p.n + 2) * 0x1p-24 * abs(gik)
        for j in 0..<p.d {
          let ce = Double(p.c[k * p.d + j]), ee = Double(p.e[i * p.d + j])
          dE[i * p.d + j] += gik * ce
          dEBound[i * p.d + j] += w * abs(ce) + Double(p.v + 2) * 0x1p-24 * abs(gik * ce)
          dC[k * p.d + j] += gik * ee
          dCBound[k * p.d + j] += w * abs(ee) + Double(p.n + 2) * 0x1p-24 * abs(gik * ee)
        }
      }
    }
    (self.dE, self.dEBound, self.dC, self.dCBound) = (dE, dEBound, dC, dCBound)
    (self.dBias, self.dBiasBound) = (dBias, dBiasBound)
  }
}

/// Everything one call returns.
struct LinearResult: Equatable {
  var result: LossResult<Float>
  var rows: [Float], lse: [Float], dE: [Float], dC: [Float], dBias: [Float]
}

func runLinear(_ p: LinearProblem, _ o: LinearCrossEntropyOptions, gradient: Bool, lossGradient: Float = 1) throws -> LinearResult {
  var rows = [Float](repeating: .nan, count: p.n), lse = rows
  var dE = [Float](repeating: .nan, count: p.n * p.d), dC = [Float](repeating: .nan, count: p.v * p.d)
  var dBias = [Float](repeating: .nan, count: p.v)
  let result = try p.e.withUnsafeBufferPointer { e in
    try p.c.withUnsafeBufferPointer { c in
      try withOptionalBuffer(p.bias) { bias in
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
  return LinearResult(result: result, rows: rows, lse: lse, dE: dE, dC: dC, dBias: dBias)
}

final class LinearCrossEntropyTests: SoftmaxKernelsTestCase {
  /// Shapes around the register tile (6 rows, 8 / 16 / 32 columns), the token block (128) and
  /// the class block (256).
  static let shapes: [(n: Int, d: Int, v: Int)] = [
    (1, 1, 1), (1, 5, 2), (7, 3, 13), (6, 32, 6), (33, 17, 40), (127, 9, 255), (129, 33, 257),
    (130, 64, 7), (5, 70, 513), (257, 1, 31),
  ]

  static let optionSets: [(String, LinearCrossEntropyOptions, bias: Bool)] = [
    ("default", LinearCrossEntropyOptions(), false),
    ("bias", LinearCrossEntropyOptions(), true),
    ("sum+smoothing", LinearCrossEntropyOptions(reduction: .sum, labelSmoothing: 0.1), true),
    ("zloss+ignore", LinearCrossEntropyOptions(ignoreIndex: -1, zLossScale: 1e-2), false),
    ("softcap", LinearCrossEntropyOptions(labelSmoothing: 0.05, softcap: 2.5), true),
    ("none+all", LinearCrossEntropyOptions(reduction: .none, ignoreIndex: 3, labelSmoothing: 0.2, zLossScale: 1e-3, softcap: 4), true),
  ]

  func check(
    _ p: LinearProblem, _ o: LinearCrossEntropyOptions, _ label: String, lossGradient: Double = 1,
    tally: inout BoundTally
  ) throws {
    let ref = LinearReference(p, o, lossGradient: lossGradient)
    let forward = try runLinear(p, o, gradient: false)
    let full = try runLinear(p, o, gradient: true, lossGradient: Float(lossGradient))
    // The forward outputs do not depend on whether gradients were asked for.
    XCTAssertTrue((firstDifference(forward.rows, full.rows) == nil), "\(label): row losses differ with the gradient")
    XCTAssertEqual(forward.result.loss.bitPattern, full.result.loss.bitPattern, "\(label)")
    tally.note("loss", abs(Double(full.result.loss) - ref.loss), bound: ref.lossBound, "\(label) \(full.result.loss) vs \(ref.loss)")
    for i in 0..<p.n {
      tally.note("row loss", abs(Double(full.rows[i]) - ref.rows[i]), bound: ref.rowBounds[i] + 1e-30, "\(label) token \(i)")
      tally.note("lse", abs(Double(full.lse[i]) - ref.lse[i]), bound: ref.rowBounds[i] + 2e-6 * max(1, abs(ref.lse[i])), "\(label) token \(i)")
    }
    for i in 0..<ref.dE.count {
      tally.note("dE", abs(Double(full.dE[i]) - ref.dE[i]), bound: ref.dEBound[i] + 1e-30, "\(label) [\(i)] \(full.dE[i]) vs \(ref.dE[i])")
    }
    for i in 0..<ref.dC.count {
      tally.note("dC", abs(Double(full.dC[i]) - ref.dC[i]), bound: ref.dCBound[i] + 1e-30, "\(label) [\(i)] \(full.dC[i]) vs \(ref.dC[i])")
    }
    for i in 0..<ref.dBias.count {
      tally.note("dBias", abs(Double(full.dBias[i]) - ref.dBias[i]), bound: ref.dBiasBound[i] + 1e-30, "\(label) [\(i)]")
    }
  }

  func testMatchesTheMaterialisedPath() throws {
    var tally = BoundTally()
    try forEachLevel { level in
      for (s, shape) in Self.shapes.enumerated() {
        for (name, options, bias) in Self.optionSets {
          var o = options
          o.execution = ExecutionOptions(threads: 1 + s % 3, isa: level)
          let p = LinearProblem(n: shape.n, d: shape.d, v: shape.v, seed: UInt64(17 + s), bias: bias, ignoring: o.ignoreIndex)
          try check(p, o, "\(name) \(shape) \(level)", lossGradient: s % 2 == 0 ? 1 : -0.75, tally: &tally)
        }
      }
    }
    tally.check(printing: true)
  }

  func testBitwiseTheSameForEveryThreadCount() throws {
    // 3 token blocks x 3 class blocks: every anti-diagonal, both thread splits.
    let p = LinearProblem(n: 300, d: 37, v: 600, seed: 5, bias: true, ignoring: -100)
    try forEachLevel { level in
      var results: [LinearResult] = []
      for threads in [1, 2, 3] {
        let o = LinearCrossEntropyOptions(labelSmoothing: 0.1, zLossScale: 1e-4, execution: ExecutionOptions(threads: threads, isa: level))
        results.append(try runLinear(p, o, gradient: true))
      }
      for r in results.dropFirst() {
        XCTAssertEqual(r.result.loss.bitPattern, results[0].result.loss.bitPattern)
        XCTAssertTrue((firstDifference(r.rows, results[0].rows) == nil))
        XCTAssertTrue((firstDifference(r.dE, results[0].dE) == nil))
        XCTAssertTrue((firstDifference(r.dC, results[0].dC) == nil))
        XCTAssertTrue((firstDifference(r.dBias, results[0].dBias) == nil))
      }
    }
  }

  /// The reference's gradient is the derivative of its loss (central differences in Double),
  /// so the gradient tests above compare with the right thing.
  func testReferenceGradientByFiniteDifferences() {
    let p = LinearProblem(n: 4, d: 3, v: 5, seed: 9, bias: true)
    for (name, o, _) in Self.optionSets {
      let ref = LinearReference(p, o)
      func loss(_ q: LinearProblem) -> Double { LinearReference(q, o).loss }
      let h = 1e-3
      for j in 0..<p.e.count {
        var plus = p, minus = p
        plus.e[j] += Float(h)
        minus.e[j] -= Float(h)
        let step = Double(plus.e[j]) - Double(minus.e[j])
        let fd = (loss(plus) - loss(minus)) / step
        XCTAssertEqual(fd, ref.dE[j], accuracy: 1e-4 * max(1, abs(fd)), "\(name) dE[\(j)]")
      }
      for j in 0..<p.c.count {
        var plus = p, minus = p
        plus.c[j] += Float(h)
        minus.c[j] -= Float(h)
        let step = Double(plus.c[j]) - Double(minus.c[j])
        let fd = (loss(plus) - loss(minus)) / step
        XCTAssertEqual(fd, ref.dC[j], accuracy: 1e-4 * max(1, abs(fd)), "\(name) dC[\(j)]")
      }
      for j in 0..<p.v {
        var plus = p, minus = p
        plus.bias![j] += Float(h)
        minus.bias![j] -= Float(h)
        let step = Double(plus.bias![j]) - Double(minus.bias![j])
        let fd = (loss(plus) - loss(minus)) / step
        XCTAssertEqual(fd, ref.dBias[j], accuracy: 1e-4 * max(1, abs(fd)), "\(name) dBias[\(j)]")
      }
    }
  }

  /// Shift invariance: a bias of 1e3 on every class leaves the loss and gradients of E and C
  /// where they were (the logits' own rounding at 1e3 aside: the bound grows with |z|).
  func testShiftedLogits() throws {
    var tally = BoundTally()
    try forEachLevel { level in
      var p = LinearProblem(n: 130, d: 20, v: 300, seed: 11, bias: true)
      p.bias = p.bias!.map { $0 + 1000 }
      try check(p, LinearCrossEntropyOptions(labelSmoothing: 0.1, execution: ExecutionOptions(isa: level)), "shifted \(level)", tally: &tally)
    }
    tally.check(printing: true)
  }

  /// A target 30 above every other logit: the loss is about (V - 1) e^-30 and keeps its digits
  /// (log1p of the other classes' sum), where lse - z_y in Float would round it to 0.
  func testDominantTargetKeepsItsDigits() throws {
    try forEachLevel { level in
      let n = 9, d = 4, v = 300
      var p = LinearProblem(n: n, d: d, v: v, seed: 3)
      // Every token's target is class 77, 30 above the others: z_v = C_v[0] + (n / 10) C_v[1].
      p.targets = [Int](repeating: 77, count: n)
      p.e = (0..<n * d).map { i in i % d == 0 ? 1 : i % d == 1 ? Float(i / d) / 10 : 0 }
      p.c = (0..<v * d).map { i in
        let k = i / d
        return i % d == 0 ? (k == 77 ? 30 : Float(k % 7) * 0.01) : i % d == 1 ? Float(k % 5) * 0.01 : 0
      }
      let r = try runLinear(p, LinearCrossEntropyOptions(reduction: .none, execution: ExecutionOptions(isa: level)), gradient: true)
      for i in 0..<n {
        let y = p.targets[i]
        func z(_ k: Int) -> Double { Double(p.c[k * d]) + Double(p.e[i * d + 1]) * Double(p.c[k * d + 1]) }
        let rest = (0..<v).filter { $0 != y }.reduce(0.0) { s, k in s + exp(z(k) - z(y)) }
        let exact = log1p(rest)
        XCTAssertEqual(Double(r.rows[i]), exact, accuracy: 1e-5 * exact, "token \(i)")
        // The target's gradient entry -rest / (1 + rest) shows in dC's first column.
        XCTAssertGreaterThan(r.rows[i], 0)
      }
    }
  }

  func testEveryTargetIgnoredAndNoTokens() throws {
    try forEachLevel { level in
      var p = LinearProblem(n: 10, d: 3, v: 4, seed: 2, bias: true)
      p.targets = [Int](repeating: -100, count: 10)
      let o = LinearCrossEntropyOptions(execution: ExecutionOptions(isa: level))
      let r = try runLinear(p, o, gradient: true)
      XCTAssertTrue(r.result.loss.isNaN)
      XCTAssertTrue(r.dE.allSatisfy { $0 == 0 } && r.dC.allSatisfy { $0 == 0 } && r.dBias.allSatisfy { $0 == 0 })
      XCTAssertTrue(r.rows.allSatisfy { $0 == 0 })
      var zero = o
      zero.zeroWhenNoValidTargets = true
      XCTAssertEqual(try runLinear(p, zero, gradient: false).result.loss, 0)
      let empty = LinearProblem(n: 0, d: 3, v: 4, seed: 2)
      let e = try runLinear(empty, o, gradient: true)
      XCTAssertTrue(e.result.loss.isNaN)
      XCTAssertTrue(e.dC.allSatisfy { $0 == 0 } && e.dBias.allSatisfy { $0 == 0 })
    }
  }

  func testNaNEmbeddingGivesNaNForItsToken() throws {
    try forEachLevel { level in
      var p = LinearProblem(n: 5, d: 3, v: 7, seed: 4)
      p.e[1 * 3 + 2] = .nan
      let r = try runLinear(p, LinearCrossEntropyOptions(reduction: .none, execution: ExecutionOptions(isa: level)), gradient: true)
      XCTAssertTrue(r.rows[1].isNaN)
      XCTAssertFalse(r.rows[0].isNaN || r.rows[2].isNaN)
      XCTAssertTrue(r.dE[3..<6].allSatisfy { $0.isNaN })
      XCTAssertFalse(r.dE[0..<3].contains { $0.isNaN })
    }
  }

  /// Filtering skips whole tiles whose gradient is negligible, and changes nothing else.
  func testGradientFilter() throws {
    try forEachLevel { level in
      // Classes 256... (the second class block) have logits 40 below the first block's.
      let n = 20, d = 2, v = 400
      var p = LinearProblem(n: n, d: d, v: v, seed: 8, bias: true)
      p.bias = (0..<v).map { $0 < 256 ? 0 : -40 }
      p.targets = p.targets.map { $0 % 256 }
      var o = LinearCrossEntropyOptions(execution: ExecutionOptions(isa: level))
      let plain = try runLinear(p, o, gradient: true)
      o.gradientFilter = 0x1p-12
      let filtered = try runLinear(p, o, gradient: true)
      XCTAssertEqual(plain.result.loss.bitPattern, filtered.result.loss.bitPattern)
      XCTAssertNil(firstDifference(Array(plain.dC[0..<(256 * d)]), Array(filtered.dC[0..<(256 * d)])))
      XCTAssertTrue(filtered.dC[(256 * d)...].allSatisfy { $0 == 0 }, "the second class block was not skipped")
      XCTAssertTrue(plain.dC[(256 * d)...].contains { $0 != 0 })
      // Each dropped entry is below f |s|: dE moves by at most f |s| sum_v |C_v|.
      let s = 1 / Float(n)
      for i in 0..<n {
        for j in 0..<d {
          let bound = 0x1p-12 * s * (256..<v).reduce(Float(0)) { $0 + abs(p.c[$1 * d + j]) }
          XCTAssertLessThanOrEqual(abs(plain.dE[i * d + j] - filtered.dE[i * d + j]), bound * 1.01)
        }
      }
    }
  }

  /// Found by an outside review: a class block with no finite logit (NaN and -inf only) was
  /// skipped by the online sum, so its NaN never reached the loss (returned 0).
  func testNaNInABlockWithoutFiniteLogits() throws {
    try forEachLevel { level in
      var p = LinearProblem(n: 3, d: 2, v: 257, seed: 6)
      p.e = [1, 0.5, 0.25, 1, -1, 2]
      for k in 0..<256 { p.c[k * 2] = .nan }
      p.targets = [256, 256, 256]
      let o = LinearCrossEntropyOptions(reduction: .none, execution: ExecutionOptions(isa: level))
      for gradient in [false, true] {
        let r = try runLinear(p, o, gradient: gradient)
        XCTAssertTrue(r.rows.allSatisfy(\.isNaN) && r.lse.allSatisfy(\.isNaN) && r.result.loss.isNaN, "\(r.rows)")
      }
      // -inf everywhere in the first block but one NaN.
      var q = LinearProblem(n: 1, d: 1, v: 257, seed: 6, bias: true)
      q.e = [0]
      q.bias = (0..<257).map { $0 == 3 ? .nan : $0 == 256 ? 0 : -.infinity }
      q.targets = [256]
      XCTAssertTrue(try runLinear(q, o, gradient: false).result.loss.isNaN)
      // Filtering never skips the tile of a NaN token.
      var f = o
      f.gradientFilter = 0.5
      let r = try runLinear(p, f, gradient: true)
      XCTAssertTrue(r.dC.allSatisfy(\.isNaN), "\(r.dC.filter { !$0.isNaN }.count) entries of dC are not NaN")
    }
  }

  /// Found by an outside review: 254 exponentials just below half an ulp of the running sum
  /// were rounded away one by one (9.4e-6 on a loss of 0.97); the sums are now in Double.
  func testManySmallTermsAreNotRoundedAway() throws {
    try forEachLevel { level in
      var p = LinearProblem(n: 1, d: 1, v: 256, seed: 1, bias: true)
      p.e = [0]
      p.c = [Float](repeating: 0, count: 256)
      let small = Float(log(0.999 * 0x1p-24))
      p.bias = [0, -0.5] + [Float](repeating: small, count: 254)
      p.targets = [1]
      for smoothing in [0.0, 0.3] {
        let o = LinearCrossEntropyOptions(labelSmoothing: smoothing, execution: ExecutionOptions(isa: level))
        let z = p.bias!.map(Double.init)
        let lse = log(z.reduce(0) { $0 + exp($1) })
        let exact = (1 - smoothing) * (lse - z[1]) + smoothing * z.reduce(0) { $0 + (lse - $1) } / 256
        let got = Double(try runLinear(p, o, gradient: false).result.loss)
        XCTAssertEqual(got, exact, accuracy: 2e-6 * max(1, exact), "smoothing \(smoothing)")
      }
    }
  }

  /// Found by an outside review: a subnormal soft-cap whose reciprocal overflows gave NaN; it
  /// now throws, here and in `CrossEntropy`.
  func testSubnormalSoftcapThrows() {
    let p = LinearProblem(n: 2, d: 2, v: 3, seed: 1)
    for cap in [1e-39, 1e-45] {
      assertThrows(invalid("softcap", reasonContaining: "reciprocal")) {
        try runLinear(p, LinearCrossEntropyOptions(softcap: cap), gradient: false)
      }
      assertThrows(invalid("softcap", reasonContaining: "reciprocal")) {
        try CrossEntropy.loss(logits: [Float](repeating: 0, count: 6), targets: [0, 1], columns: 3, options: CrossEntropyOptions(softcap: cap))
      }
    }
    XCTAssertNoThrow(try runLinear(p, LinearCrossEntropyOptions(softcap: 1.2e-38), gradient: true))
  }

  func testArrayForms() throws {
    let p = LinearProblem(n: 9, d: 5, v: 11, seed: 12, bias: true)
    let o = LinearCrossEntropyOptions(labelSmoothing: 0.1)
    let buffer = try runLinear(p, o, gradient: true, lossGradient: 2)
    let loss = try LinearCrossEntropy.loss(embeddings: p.e, classifier: p.c, dimension: p.d, bias: p.bias, targets: p.targets, options: o)
    XCTAssertEqual(loss, buffer.result)
    let g = try LinearCrossEntropy.lossAndGradient(
      embeddings: p.e, classifier: p.c, dimension: p.d, bias: p.bias, targets: p.targets, lossGradient: 2, options: o)
    XCTAssertEqual(g.result, buffer.result)
    XCTAssertTrue((firstDifference(g.embeddings, buffer.dE) == nil) && (firstDifference(g.classifier, buffer.dC) == nil) && (firstDifference(g.bias, buffer.dBias) == nil))
    assertThrows(invalid("dimension")) { try LinearCrossEntropy.loss(embeddings: p.e, classifier: p.c, dimension: 0, targets: p.targets) }
    assertThrows(invalid("classifier")) { try LinearCrossEntropy.loss(embeddings: p.e, classifier: Array(p.c.dropLast()), dimension: p.d, targets: p.targets) }
  }

  /// Bad arguments throw, naming the argument, and write nothing.
  func testErrorsWriteNothing() {
    let p = LinearProblem(n: 6, d: 4, v: 5, seed: 1, bias: true)
    var outputs = [Float](repeating: Float(sentinel), count: p.n * p.d + p.v * p.d + p.v + 2 * p.n)
    func call(
      e: [Float]? = nil, c: [Float]? = nil, cRows: Int? = nil, bias: [Float]?? = nil, targets: [Int]? = nil,
      dERows: Int? = nil, dCColumns: Int? = nil, biasGradientCount: Int? = nil, overlap: Bool = false,
      options: LinearCrossEntropyOptions = LinearCrossEntropyOptions(), _ expected: SoftmaxKernelsError
    ) {
      let e = e ?? p.e, c = c ?? p.c, bias = bias ?? p.bias, targets = targets ?? p.targets
      assertUntouched(&outputs, "\(expected)") { out in
        out.withUnsafeMutableBufferPointer { o in
          let base = o.baseAddress!
          let dE = MutableRows(UnsafeMutableBufferPointer(start: base, count: p.n * p.d), rows: dERows ?? p.n, columns: p.d)
          let dCStart = overlap ? base + 2 : base + p.n * p.d
          let dC = MutableRows(UnsafeMutableBufferPointer(start: dCStart, count: p.v * p.d), rows: p.v, columns: dCColumns ?? p.d)
          let dBias = UnsafeMutableBufferPointer(start: base + p.n * p.d + p.v * p.d, count: biasGradientCount ?? p.v)
          let rows = UnsafeMutableBufferPointer(start: dBias.baseAddress! + p.v, count: p.n)
          e.withUnsafeBufferPointer { eb in
            c.withUnsafeBufferPointer { cb in
              withOptionalBuffer(bias) { bb in
                targets.withUnsafeBufferPointer { yb in
                  assertThrows(expected) {
                    try LinearCrossEntropy.lossAndGradient(
                      embeddings: Rows(eb, rows: p.n, columns: p.d), classifier: Rows(cb, rows: cRows ?? p.v, columns: p.d),
                      bias: bb, targets: yb, embeddingsGradient: dE, classifierGradient: dC, biasGradient: dBias,
                      rowLosses: rows, options: options)
                  }
                }
              }
            }
          }
        }
      }
    }
    call(targets: [0, 1, 2, 5, 0, 0], invalid("targets", reasonContaining: "token 3"))
    call(targets: [0, 1, 2], .countMismatch(argument: "targets", expected: 6, actual: 3))
    call(bias: .some([1, 2]), .countMismatch(argument: "bias", expected: 5, actual: 2))
    call(c: Array(p.c.dropLast(4)), .bufferTooSmall(argument: "classifier", required: 20, actual: 16))
    call(dERows: 5, invalid("embeddingsGradient"))
    call(dCColumns: 3, invalid("classifierGradient"))
    call(biasGradientCount: 4, .countMismatch(argument: "biasGradient", expected: 5, actual: 4))
    call(overlap: true, invalid("classifierGradient", reasonContaining: "overlaps"))
    call(options: LinearCrossEntropyOptions(labelSmoothing: 1.5), invalid("labelSmoothing"))
    call(options: LinearCrossEntropyOptions(zLossScale: -1), invalid("zLossScale"))
    call(options: LinearCrossEntropyOptions(softcap: 0), invalid("softcap"))
    call(options: LinearCrossEntropyOptions(gradientFilter: .infinity), invalid("gradientFilter"))
    call(options: LinearCrossEntropyOptions(execution: ExecutionOptions(threads: 0)), invalid("threads"))
    // A negative shape names the matrix (an outside review: "rows" alone).
    call(cRows: -1, invalid("classifier.rows"))
  }
}
