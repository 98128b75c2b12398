import Foundation
import SoftmaxKernels
import XCTest

/// Sigmoid attention and softplus attention (LSSA / LSSAR) against float64 references written
/// from ../shared/SPEC.md §6.6 and §6.7, and their gradients by finite differences.
final class AttentionWeightTests: SoftmaxKernelsTestCase {
  func testSigmoidAttention() throws {
    var random = SeededRandom(seed: 31, stream: .xorshift64Star)
    let (rows, columns, stride) = (5, 37, 41)
    var scores = random.row(Float.self, rows * stride, -8, 8)
    scores[3] = -.infinity  // masked
    try forEachLevel { level in
      for (scale, bias, length) in [(Float(0.125), nil as Float?, nil as Int?), (1, 2, nil), (0.5, nil, 4096)] {
        var out = [Float](repeating: 99, count: rows * columns)
        try scores.withUnsafeBufferPointer { s in
          try out.withUnsafeMutableBufferPointer { o in
            try SigmoidAttention.forward(Rows(s, rows: rows, columns: columns, rowStride: stride), into: MutableRows(o, rows: rows, columns: columns), options: SigmoidAttentionOptions(scale: Double(scale), bias: bias.map { Double($0) }, sequenceLength: length, execution: ExecutionOptions(isa: level)))
          }
        }
        let b = bias.map(Double.init) ?? -Foundation.log(Double(length ?? columns))
        for i in 0..<rows {
          for j in 0..<columns {
            // The Float pre-activation u = scale s + b is rounded (relative 2^-24 at most twice),
            // which moves sigmoid(u) by up to |u| (1 - sigmoid(u)) of those units.
            let u = Double(scale) * Double(scores[i * stride + j]) + b
            let ref = sigRefSigmoid(u)
            let allowed = 5 + 2 * abs(u) * (1 - ref)
            XCTAssertLessThanOrEqual(ulpError(out[i * columns + j], ref), allowed, "\(level) \(i) \(j)")
          }
        }
        XCTAssertEqual(out[3], 0)
        // Backward from the output, in place over the upstream gradient.
        var g = random.row(Float.self, rows * columns, -1, 1)
        let g0 = g
        try out.withUnsafeBufferPointer { p in
          try g.withUnsafeMutableBufferPointer { d in
            try SigmoidAttention.backward(output: Rows(p, rows: rows, columns: columns), outputGradient: Rows(UnsafeBufferPointer(d), rows: rows, columns: columns), into: MutableRows(d, rows: rows, columns: columns), options: SigmoidAttentionOptions(scale: Double(scale), execution: ExecutionOptions(isa: level)))
          }
        }
        for k in 0..<g.count {
          let p = Double(out[k])
          XCTAssertEqual(Double(g[k]), Double(scale) * Double(g0[k]) * p * (1 - p), accuracy: 1e-6)
        }
      }
    }
    XCTAssertEqual(try SigmoidAttention.forward([Float(0)], columns: 1), [0.5])
    assertThrows(invalid("sequenceLength")) { _ = try SigmoidAttention.forward([Float](), columns: 1, options: SigmoidAttentionOptions(sequenceLength: 0)) }
  }

  // MARK: - Softplus attention

  struct Config {
    var causal: Bool, offset: Int, headDimension: Int?, constant: Double, power: Double?, offsetRows: Int
  }

  /// Direct float64 evaluation of LSSA / LSSAR (no max normalisation: Double does not overflow
  /// at these sizes).
  static func reference(_ s: [Double], rows: Int, columns: Int, _ c: Config) -> [Double] {
    var out = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows {
      let query = i + c.offset
      let visible = c.causal ? min(columns, query + 1) : columns
      let n = Double(visible)
      let scale = c.headDimension.map { Foundation.log(Double($0)) * Foundation.log(n) } ?? c.constant
      var f = (0..<visible).map { sigRefSoftplusExact(scale * s[i * columns + $0]) }
      let total = f.reduce(0, +)
      f = f.map { $0 / (total + 1e-8) }
      if let p = c.power {
        let o: Double = query < c.offsetRows ? 0 : 1
        let u = f.map { Foundation.pow(max($0 * n - o, 0), p) }
        let sum = u.reduce(0, +)
        f = u.map { sum > 0 ? $0 / sum : 0 }
      }
      for j in 0..<visible { out[i * columns + j] = f[j] }
    }
    return out
  }

  static func run<T: KernelScalar>(
    _ s: [T], rows: Int, columns: Int, _ c: Config, level: ISALevel, threads: Int? = nil
  ) throws -> [T] {
    try SoftplusAttention.forward(s, columns: columns, options: SoftplusAttentionOptions(scale: c.headDimension.map { .lengthDependent(headDimension: $0) } ?? .constant(c.constant), causal: c.causal, queryOffset: c.offset, reweighting: c.power.map { SoftplusAttention.Reweighting(power: $0, offsetRows: c.offsetRows) }, execution: ExecutionOptions(threads: threads, isa: level)))
  }

  /// `AttentionWeights.softplusBackward` on arrays: the input gradient (`rows x columns`).
  static func softplusBackward<T: KernelScalar>(
    rows: Int, columns: Int, scores: [T], scoresRowStride: Int? = nil, output: [T], outputGradient: [T],
    scale: SoftplusAttention.Scale, causal: Bool, queryOffset: Int,
    reweighting: SoftplusAttention.Reweighting?, options: ExecutionOptions
  ) throws -> [T] {
    var dx = [T](repeating: .nan, count: rows * columns)
    try scores.withUnsafeBufferPointer { sb in
      try output.withUnsafeBufferPointer { yb in
        try outputGradient.withUnsafeBufferPointer { gb in
          try dx.withUnsafeMutableBufferPointer { db in
            try SoftplusAttention.backward(input: Rows(sb, rows: rows, columns: columns, rowStride: scoresRowStride), output: Rows(yb, rows: rows, columns: columns), outputGradient: Rows(gb, rows: rows, columns: columns), into: MutableRows(db, rows: rows, columns: columns), options: SoftplusAttentionOptions(scale: scale, causal: causal, queryOffset: queryOffset, reweighting: reweighting, execution: options))
          }
        }
      }
    }
    return dx
  }

  static let configs: [Config] = [
    Config(causal: true, offset: 0, headDimension: 64, constant: 0, power: nil, offsetRows: 3),
    Config(causal: false, offset: 0, headDimension: 64, constant: 0, power: nil, offsetRows: 3),
    Config(causal: true, offset: 5, headDimension: nil, constant: 2.5, power: nil, offsetRows: 3),
    Config(causal: true, offset: 0, headDimension: 64, constant: 0, power: 3, offsetRows: 3),
    Config(causal: false, offset: 2, headDimension: 128, constant: 0, power: 15, offsetRows: 3),
    Config(causal: true, offset: 0, headDimension: 64, constant: 0, power: 1.5, offsetRows: 0),
  ]

  func testSoftplusAttentionAgainstReference() throws {
    var random = SeededRandom(seed: 41, stream: .xorshift64Star)
    for (rows, columns) in [(1, 1), (6, 6), (9, 33), (4, 100)] {
      // Scores are cosines of normalised queries and keys: in [-1, 1].
      let s = random.row(Double.self, rows * columns, -1, 1)
      for c in Self.configs {
        let ref = Self.reference(s, rows: rows, columns: columns, c)
        // LSSA: relative error per weight. LSSAR: U = A N - 1 cancels where A N is close to 1,
        // so its error is measured against the row's largest weight.
        let bound = c.power == nil ? 2e-6 : (2 + c.power!) * 1e-6
        try forEachLevel { level in
          let f = try Self.run(s.map { Float($0) }, rows: rows, columns: columns, c, level: level)
          let d = try Self.run(s, rows: rows, columns: columns, c, level: level)
          for k in 0..<ref.count {
            let rowMax = ref[(k / columns * columns)..<(k / columns * columns + columns)].max()!
            let scale = c.power == nil ? ref[k] : rowMax
            let context = "\(rows)x\(columns) \(c) \(level) k \(k)"
            XCTAssertEqual(Double(f[k]), ref[k], accuracy: bound * scale + 1e-30, context)
            XCTAssertEqual(d[k], ref[k], accuracy: 1e-12 * scale + 1e-300, context)
          }
        }
      }
    }
  }

  /// Long rows: (N - 1)^15 overflows Float beyond N = 370; the max normalisation keeps the
  /// re-weighted rows finite and equal to the Double reference. Threads agree bit for bit.
  func testLongRowsDoNotOverflow() throws {
    var random = SeededRandom(seed: 43, stream: .xorshift64Star)
    let (rows, columns) = (3, 4096)
    var s = random.row(Double.self, rows * columns, -0.2, 0.2)
    s[columns + 7] = 1  // a peaked row
    let c = Config(causal: false, offset: 10, headDimension: 64, constant: 0, power: 15, offsetRows: 3)
    let ref = Self.reference(s, rows: rows, columns: columns, c)
    try forEachLevel { level in
      let f = try Self.run(s.map { Float($0) }, rows: rows, columns: columns, c, level: level)
      XCTAssertTrue(f.allSatisfy { $0.isFinite })
      var worst = 0.0
      for i in 0..<rows {
        let row = (i * columns)..<((i + 1) * columns)
        let rowMax = ref[row].max()!
        for k in row { worst = max(worst, abs(Double(f[k]) - ref[k]) / rowMax) }
      }
      print("  LSSAR p = 15, 4096 keys, Float \(level): max error \(worst) x the row's largest weight")
      XCTAssertLessThanOrEqual(worst, 17e-6)
      let big = random.row(Float.self, 64 * 2048, -1, 1)
      let c2 = Config(causal: true, offset: 0, headDimension: 64, constant: 0, power: 3, offsetRows: 3)
      XCTAssertEqual(try Self.run(big, rows: 64, columns: 2048, c2, level: level, threads: 1),
                     try Self.run(big, rows: 64, columns: 2048, c2, level: level, threads: 2))
    }
  }

  /// Backward of LSSA and LSSAR by central finite differences (Double), strided rows.
  func testSoftplusBackwardByFiniteDifferences() throws {
    var random = SeededRandom(seed: 47, stream: .xorshift64Star)
    let (rows, columns, stride) = (5, 9, 11)
    let s = random.row(Double.self, rows * stride, -1, 1)
    let g = random.row(Double.self, rows * columns, -1, 1)
    for c in Self.configs {
      try forEachLevel { level in
        let scale: SoftplusAttention.Scale = c.headDimension.map { .lengthDependent(headDimension: $0) } ?? .constant(c.constant)
        let rw = c.power.map { SoftplusAttention.Reweighting(power: $0, offsetRows: c.offsetRows) }
        let options = ExecutionOptions(isa: level)
        func forward(_ s: [Double]) throws -> [Double] {
          var out = [Double](repeating: .nan, count: rows * columns)
          try s.withUnsafeBufferPointer { sp in
            try out.withUnsafeMutableBufferPointer { o in
              try SoftplusAttention.forward(Rows(sp, rows: rows, columns: columns, rowStride: stride), into: MutableRows(o, rows: rows, columns: columns), options: SoftplusAttentionOptions(scale: scale, causal: c.causal, queryOffset: c.offset, reweighting: rw, execution: options))
            }
          }
          return out
        }
        let y = try forward(s)
        let dx = try Self.softplusBackward(
          rows: rows, columns: columns, scores: s, scoresRowStride: stride, output: y, outputGradient: g,
          scale: scale, causal: c.causal, queryOffset: c.offset, reweighting: rw, options: options)
        let h = 1e-6
        for i in 0..<rows {
          for j in 0..<columns {
            var sp = s, sm = s
            sp[i * stride + j] += h
            sm[i * stride + j] -= h
            let yp = try forward(sp), ym = try forward(sm)
            var fd = 0.0
            for k in 0..<columns { fd += g[i * columns + k] * (yp[i * columns + k] - ym[i * columns + k]) / (2 * h) }
            XCTAssertEqual(dx[i * columns + j], fd, accuracy: 1e-6 * max(1, abs(fd)), "\(c) \(level) \(i) \(j)")
          }
        }
      }
    }
  }

  func testSoftplusErrors() {
    let s: [Float] = [0.1, 0.2, 0.3, 0.4]
    assertThrows(invalid("queryOffset")) { _ = try SoftplusAttention.forward(s, columns: 2, options: SoftplusAttentionOptions(scale: .constant(1), queryOffset: -1)) }
    assertThrows(invalid("headDimension")) { _ = try SoftplusAttention.forward(s, columns: 2, options: SoftplusAttentionOptions(scale: .lengthDependent(headDimension: 0))) }
    assertThrows(invalid("reweighting.power")) {
      _ = try SoftplusAttention.forward(s, columns: 2, options: SoftplusAttentionOptions(scale: .constant(1), reweighting: .init(power: 0)))
    }
    assertThrows(invalid("columns")) { _ = try SoftplusAttention.forward(s, columns: 3, options: SoftplusAttentionOptions(scale: .constant(1))) }
    var buffer = [Float](repeating: 0, count: 8)
    buffer.withUnsafeMutableBufferPointer { b in
      assertThrows(invalid("inputGradient")) {
        try SoftplusAttention.backward(input: Rows(UnsafeBufferPointer(rebasing: b[0..<4]), rows: 2, columns: 2), output: Rows(UnsafeBufferPointer(rebasing: b[4..<8]), rows: 2, columns: 2), outputGradient: Rows(UnsafeBufferPointer(rebasing: b[4..<8]), rows: 2, columns: 2), into: MutableRows(UnsafeMutableBufferPointer(rebasing: b[2..<6]), rows: 2, columns: 2), options: SoftplusAttentionOptions(scale: .constant(1)))
      }
    }
  }
}
