// Bitwise reproducibility across thread counts: every kernel gives the same bits at 1, 2, 3 and
// 7 threads, on one row long enough to be split into chunks, on a few long rows (each split),
// and on many rows (whole rows per thread), at every ISA level, in Float and Double.
//
// When the work is split (Execution.swift, SoftmaxDriver.swift, Sigmoid.swift):
// - `ExecutionPlan.threads = max(1, min(threads, elements / 2^16))`: a call uses `t` threads
//   only when it has at least `t * 65536` elements, so 7 threads need 458752 elements;
// - softmax family (`ExecutionPlan.run`): with `rows >= 4 t` or `columns < 65536`, whole rows
//   per thread; otherwise every row is split into `t` chunks of `ceil(columns / t)` rounded up
//   to 64 (`Chunker`), whose partial states are merged in chunk order;
// - losses with rows (cross-entropy, StableMax, Z-loss, SigLIP, attention weights):
//   `min(t, rows)` contiguous row ranges; partial sums merged in range order;
// - element-wise kernels (sigmoid family, binary cross-entropy): `t` chunks of `ceil(n / t)`
//   rounded up to 64, partial sums added in chunk order.
//
// Outputs are compared as bytes (the `bitPattern`s), so NaN payloads and the sign of zero count.

import Foundation
import SoftmaxKernels
import XCTest

// MARK: - Snapshots of a call's outputs

/// Every output of one call, as raw bytes.
struct BitSnapshot {
  enum Kind { case float, double, int }
  struct Part {
    var name: String
    var kind: Kind
    var bytes: [UInt8]
  }
  var parts: [Part] = []

  mutating func add<T>(_ name: String, _ values: [T]) {
    let kind: Kind = T.self == Float.self ? .float : T.self == Double.self ? .double : .int
    precondition(kind != .int || T.self == Int.self, "unsupported element type \(T.self)")
    let bytes = values.withUnsafeBytes { raw in
      [UInt8](unsafeUninitializedCapacity: raw.count) { out, n in
        if raw.count > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: raw) }
        n = raw.count
      }
    }
    parts.append(Part(name: name, kind: kind, bytes: bytes))
  }

  mutating func add<T: BinaryFloatingPoint>(_ name: String, _ value: T) { add(name, [value]) }

  /// An optional Double (cross-entropy accuracy): NaN bits stand for nil.
  mutating func add(_ name: String, _ value: Double?) {
    add(name, [value ?? Double(nan: 0x7FF, signaling: false)])
  }

  /// Descriptions of the parts of `other` that differ from this snapshot's.
  func differences(from other: BitSnapshot) -> [String] {
    guard parts.count == other.parts.count else { return ["\(parts.count) vs \(other.parts.count) outputs"] }
    var result: [String] = []
    for (a, b) in zip(parts, other.parts) {
      guard a.bytes.count == b.bytes.count else {
        result.append("\(a.name): \(a.bytes.count) vs \(b.bytes.count) bytes")
        continue
      }
      let same = a.bytes.withUnsafeBytes { pa in
        b.bytes.withUnsafeBytes { pb in
          a.bytes.isEmpty || memcmp(pa.baseAddress!, pb.baseAddress!, a.bytes.count) == 0
        }
      }
      if same { continue }
      let size = a.kind == .float ? 4 : 8
      let n = a.bytes.count / size
      var differing: [Int] = []
      var count = 0
      a.bytes.withUnsafeBytes { pa in
        b.bytes.withUnsafeBytes { pb in
          for i in 0..<n where memcmp(pa.baseAddress! + i * size, pb.baseAddress! + i * size, size) != 0 {
            count += 1
            if differing.count < 4 { differing.append(i) }
          }
        }
      }
      let shown = differing.map { i in "[\(i)] \(a.describe(i)) vs \(b.describe(i))" }
      result.append("\(a.name): \(count) of \(n) elements differ: " + shown.joined(separator: ", "))
    }
    return result
  }
}

extension BitSnapshot.Part {
  func describe(_ i: Int) -> String {
    bytes.withUnsafeBytes { raw in
      switch kind {
      case .float:
        let v = raw.load(fromByteOffset: 4 * i, as: Float.self)
        return "\(v) (0x\(String(v.bitPattern, radix: 16)))"
      case .double:
        let v = raw.load(fromByteOffset: 8 * i, as: Double.self)
        return "\(v) (0x\(String(v.bitPattern, radix: 16)))"
      case .int:
        return "\(raw.load(fromByteOffset: 8 * i, as: Int.self))"
      }
    }
  }
}

// MARK: - Tests

final class ReproducibilityTests: SoftmaxKernelsTestCase {
  static let threadCounts = [1, 2, 3, 7]

  /// Shapes: one long row, split into up to 7 chunks (4 x 65536 + 67 entries: at most 4; 7 x
  /// 65536 + 1029: 7; neither a multiple of 64 nor of a vector); three long rows, each split;
  /// many rows, whole rows per thread (61 >= 4 x 7). All have >= 7 x 65536 elements except the
  /// first.
  static let shapes: [(rows: Int, columns: Int)] = [
    (1, 4 * 65_536 + 67), (1, 7 * 65_536 + 1_029), (3, 163_851), (61, 8_191),
  ]

  /// Calls `run(threads)` at every thread count and fails for each one whose outputs are not
  /// the bits of the one-thread call.
  func assertReproducible(
    _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line,
    _ run: (Int) throws -> BitSnapshot
  ) rethrows {
    let reference = try run(1)
    for t in Self.threadCounts.dropFirst() {
      let d = reference.differences(from: try run(t))
      if !d.isEmpty {
        XCTFail("\(what()): \(t) threads vs 1: " + d.joined(separator: "; "), file: file, line: line)
      }
    }
  }

  /// Uniform entries in [lo, hi) with special values planted: in rows of the many-rows shape,
  /// row 1 has `-inf` entries, row 2 is all `-inf` (masked), row 3 holds a NaN, row 4 a dominant
  /// entry and a -0; long rows get `-inf` at a few places, one of them a chunk boundary.
  static func input<T: KernelScalar>(
    _: T.Type, rows: Int, columns: Int, seed: UInt64, _ lo: Double = -8, _ hi: Double = 8,
    specials: Bool = true
  ) -> [T] {
    var rng = SeededRandom(seed: seed ^ UInt64(rows * columns))
    var x: [T] = rng.row(T.self, rows * columns, lo, hi)
    guard specials else { return x }
    if rows >= 5 {
      for j in stride(from: 3, to: columns, by: 97) { x[columns + j] = -.infinity }
      for j in 0..<columns { x[2 * columns + j] = -.infinity }
      x[3 * columns + columns / 2] = .nan
      x[4 * columns + 5] = 40
      x[4 * columns + 6] = -0.0
    } else {
      for r in 0..<rows {
        for j in [0, 65_536, columns / 3, columns - 1] where j < columns { x[r * columns + j] = -.infinity }
      }
    }
    return x
  }

  // MARK: Softmax family

  func softmaxFamily<T: KernelScalar>(_: T.Type) throws {
    for (rows, columns) in Self.shapes {
      let x = Self.input(T.self, rows: rows, columns: columns, seed: 1)
      var rng = SeededRandom(seed: 2)
      let g: [T] = rng.row(T.self, rows * columns, -1, 1)
      try forEachLevel { level in
        let shape = "\(typeName(T.self)) \(rows) x \(columns) isa=\(level)"
        for algorithm in SoftmaxAlgorithm.allCases {
          func options(_ t: Int) -> SoftmaxOptions {
            SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: t, isa: level))
          }
          try assertReproducible("softmax \(shape) alg=\(algorithm)") { t in
            var s = BitSnapshot()
            s.add("softmax", try Softmax.forward(x, columns: columns, options: options(t)))
            return s
          }
          try assertReproducible("logSoftmax \(shape) alg=\(algorithm)") { t in
            var s = BitSnapshot()
            s.add("logSoftmax", try LogSoftmax.forward(x, columns: columns, options: options(t)))
            return s
          }
          try assertReproducible("logSumExp \(shape) alg=\(algorithm)") { t in
            var s = BitSnapshot()
            s.add("logSumExp", try LogSumExp.forward(x, columns: columns, options: options(t)))
            return s
          }
        }
        // The backward passes take the forward outputs (one thread) and an upstream gradient.
        let y = try Softmax.forward(x, columns: columns, options: SoftmaxOptions(execution: ExecutionOptions(threads: 1, isa: level)))
        let z = try LogSoftmax.forward(x, columns: columns, options: SoftmaxOptions(execution: ExecutionOptions(threads: 1, isa: level)))
        try assertReproducible("softmaxBackward \(shape)") { t in
          var s = BitSnapshot()
          s.add("inputGradient", try Softmax.backward(output: y, outputGradient: g, columns: columns, options: SoftmaxOptions(execution: ExecutionOptions(threads: t, isa: level))))
          return s
        }
        try assertReproducible("logSoftmaxBackward \(shape)") { t in
          var s = BitSnapshot()
          s.add("inputGradient", try LogSoftmax.backward(output: z, outputGradient: g, columns: columns, options: SoftmaxOptions(execution: ExecutionOptions(threads: t, isa: level))))
          return s
        }
      }
    }
  }

  func testSoftmaxFamilyFloat() throws { try softmaxFamily(Float.self) }
  func testSoftmaxFamilyDouble() throws { try softmaxFamily(Double.self) }

  // MARK: Cross-entropy

  /// Loss shapes: many rows (whole rows per thread), a few long rows, one long row.
  static let lossShapes: [(rows: Int, columns: Int)] = [(61, 8_191), (5, 100_003), (1, 7 * 65_536 + 1_029)]

  func crossEntropy<T: KernelScalar>(_: T.Type) throws {
    for (rows, columns) in Self.lossShapes {
      let x = Self.input(T.self, rows: rows, columns: columns, seed: 3, -10, 10, specials: false)
      var rng = SeededRandom(seed: 4)
      var targets = (0..<rows).map { _ in Int(rng.next() % UInt64(columns)) }
      if rows > 2 { targets[2] = -100 }  // an ignored row (default ignore index)
      var targets7 = targets  // ignore index 7: rows 1, 2 and 3 ignored
      for r in 1..<min(rows, 4) { targets7[r] = 7 }
      let weights: [T] = rng.row(T.self, columns, 0.5, 2)
      let rowScale: [T] = rng.row(T.self, rows, -2, 2)
      let q: [T] = rng.row(T.self, rows * columns, -4, 4)
      let probabilities = try Softmax.forward(q, columns: columns, options: SoftmaxOptions(execution: ExecutionOptions(threads: 1)))

      let combos: [(String, CrossEntropyOptions, weighted: Bool, ignore7: Bool, perRow: Bool)] = [
        ("default", CrossEntropyOptions(), false, false, false),
        ("sum smoothing=0.1 zLoss=1e-4 weights",
         CrossEntropyOptions(reduction: .sum, labelSmoothing: 0.1, zLossScale: 1e-4), true, false, false),
        ("none softcap=30 ignoreIndex=7 rowLossGradients",
         CrossEntropyOptions(reduction: .none, ignoreIndex: 7, softcap: 30), false, true, true),
        ("mean smoothing=0.05 zLoss=1e-3 softcap=15 weights",
         CrossEntropyOptions(labelSmoothing: 0.05, zLossScale: 1e-3, softcap: 15), true, false, false),
      ]
      try forEachLevel { level in
        let shape = "\(typeName(T.self)) \(rows) x \(columns) isa=\(level)"
        for (name, base, weighted, ignore7, perRow) in combos {
          let y = ignore7 ? targets7 : targets
          func run(_ t: Int, probabilityTargets: Bool, gradient withGradient: Bool) throws -> BitSnapshot {
            var o = base
            o.execution.threads = t
            o.execution.isa = level
            var losses = [T](repeating: 0, count: rows)
            var lse = [T](repeating: 0, count: rows)
            var argmax = [Int](repeating: 0, count: rows)
            var gradient = [T](repeating: 0, count: withGradient ? rows * columns : 0)
            let result: LossResult<T> = try x.withUnsafeBufferPointer { xb in
              try y.withUnsafeBufferPointer { yb in
                try probabilities.withUnsafeBufferPointer { pb in
                  try weights.withUnsafeBufferPointer { wb in
                    try rowScale.withUnsafeBufferPointer { sb in
                      try losses.withUnsafeMutableBufferPointer { lb in
                        try lse.withUnsafeMutableBufferPointer { eb in
                          try argmax.withUnsafeMutableBufferPointer { ab in
                            try gradient.withUnsafeMutableBufferPointer { gb in
                              let w = weighted ? wb : nil
                              let s = perRow ? sb : nil
                              let logits = Rows(xb, rows: rows, columns: columns)
                              let p = Rows(pb, rows: rows, columns: columns)
                              let g = MutableRows(gb, rows: rows, columns: columns)
                              switch (probabilityTargets, withGradient) {
                              case (false, false):
                                return try CrossEntropy.loss(
                                  logits: logits, targets: yb, classWeights: w, rowLosses: lb, rowLogSumExp: eb,
                                  rowArgmax: ab, options: o)
                              case (false, true):
                                return try CrossEntropy.lossAndGradient(
                                  logits: logits, targets: yb, classWeights: w, lossGradient: T(0.75),
                                  rowLossGradients: s, gradient: g, rowLosses: lb, rowLogSumExp: eb, rowArgmax: ab,
                                  options: o)
                              case (true, false):
                                return try CrossEntropy.loss(
                                  logits: logits, probabilities: p, classWeights: w, rowLosses: lb,
                                  rowLogSumExp: eb, options: o)
                              case (true, true):
                                return try CrossEntropy.lossAndGradient(
                                  logits: logits, probabilities: p, classWeights: w, lossGradient: T(0.75),
                                  rowLossGradients: s, gradient: g, rowLosses: lb, rowLogSumExp: eb, options: o)
                              }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
            var s = BitSnapshot()
            s.add("loss", result.loss)
            s.add("zLoss", result.zLoss)
            s.add("accuracy", result.accuracy)
            s.add("rowLosses", losses)
            s.add("rowLogSumExp", lse)
            if !probabilityTargets { s.add("rowArgmax", argmax) }
            s.add("gradient", gradient)
            return s
          }
          for probabilityTargets in [false, true] {
            for withGradient in [false, true] {
              let what = "CrossEntropy.\(withGradient ? "lossAndGradient" : "loss")"
                + " \(probabilityTargets ? "probability" : "class") targets, \(name), \(shape)"
              try assertReproducible(what) { t in
                try run(t, probabilityTargets: probabilityTargets, gradient: withGradient)
              }
            }
          }
        }
      }
    }
  }

  func testCrossEntropyFloat() throws { try crossEntropy(Float.self) }
  func testCrossEntropyDouble() throws { try crossEntropy(Double.self) }

  // MARK: StableMax and the spherical Z-loss

  func stableMaxAndZLoss<T: KernelScalar>(_: T.Type) throws {
    for (rows, columns) in Self.lossShapes {
      let x = Self.input(T.self, rows: rows, columns: columns, seed: 5, -10, 10, specials: false)
      var rng = SeededRandom(seed: 6)
      let targets = (0..<rows).map { _ in Int(rng.next() % UInt64(columns)) }
      try forEachLevel { level in
        let shape = "\(typeName(T.self)) \(rows) x \(columns) isa=\(level)"
        for logarithm in [false, true] {
          try assertReproducible("StableMax.\(logarithm ? "logStableMax" : "stableMax") \(shape)") { t in
            let o = ExecutionOptions(threads: t, isa: level)
            var s = BitSnapshot()
            s.add("output", logarithm
              ? try LogStableMax.forward(x, columns: columns, options: o)
              : try StableMax.forward(x, columns: columns, options: o))
            return s
          }
        }
        for reduction in [LossReduction.mean, .sum] {
          let losses: [(String, (Int) throws -> (loss: T, rowLosses: [T], gradient: [T]))] = [
            ("StableMaxCrossEntropy.lossAndGradient", { t in
              try runClassIndexLoss(StableMaxCrossEntropy.self,
                x, rows: rows, columns: columns, targets: targets, reduction: reduction, lossGradient: T(0.5),
                execution: ExecutionOptions(threads: t, isa: level))
            }),
            ("SphericalZLoss.lossAndGradient a=1 b=3", { t in
              try runClassIndexLoss(SphericalZLoss.self,
                x, rows: rows, columns: columns, targets: targets, reduction: reduction,
                lossGradient: T(0.5), execution: ExecutionOptions(threads: t, isa: level), SphericalZLossOptions(a: 1, b: 3))
            }),
          ]
          for (name, run) in losses {
            try assertReproducible("\(name) reduction=\(reduction) \(shape)") { t in
              let (loss, rowLosses, gradient) = try run(t)
              var s = BitSnapshot()
              s.add("loss", loss)
              s.add("rowLosses", rowLosses)
              s.add("gradient", gradient)
              return s
            }
          }
        }
      }
    }
  }

  func testStableMaxAndZLossFloat() throws { try stableMaxAndZLoss(Float.self) }
  func testStableMaxAndZLossDouble() throws { try stableMaxAndZLoss(Double.self) }

  // MARK: Element-wise: sigmoid family and binary cross-entropy

  /// 1021 x 451 = 460471 elements (7 threads; odd, so no chunk ends on a vector).
  static let elementwiseCount = 1_021 * 451
  static let posWeightCount = 451

  func elementwise<T: KernelScalar>(_: T.Type) throws {
    let n = Self.elementwiseCount
    var x = Self.input(T.self, rows: 1, columns: n, seed: 7, -30, 30, specials: false)
    // Special values at a few places (NaN, infinities, signed zeros, huge).
    for (i, v) in [(11, T.nan), (12, T.infinity), (13, -T.infinity), (14, T(0)), (15, -T(0)),
                   (65_536, T(1e30)), (n / 2, -T(1e30)), (n - 1, T.nan)] {
      x[i] = v
    }
    var rng = SeededRandom(seed: 8)
    let g: [T] = rng.row(T.self, n, -1, 1)
    let targets: [T] = rng.row(T.self, n, 0, 1)
    let weight: [T] = rng.row(T.self, n, 0, 2)
    let posWeight: [T] = rng.row(T.self, Self.posWeightCount, 0.5, 3)
    let finiteX = x.map { $0.isFinite ? $0 : 0 }
    try forEachLevel { level in
      let shape = "\(typeName(T.self)) n=\(n) isa=\(level)"
      func o(_ t: Int) -> ExecutionOptions { ExecutionOptions(threads: t, isa: level) }
      let unary: [(String, (Int) throws -> [T])] = [
        ("sigmoid", { t in try Sigmoid.forward(x, options: o(t)) }),
        ("logSigmoid", { t in try LogSigmoid.forward(x, options: o(t)) }),
        ("softplus beta=2 threshold=10", { t in try Softplus.forward(x, options: SoftplusOptions(beta: Double(2), threshold: Double(10), execution: o(t))) }),
        ("sigmoidBackward", { t in try Sigmoid.backward(input: x, outputGradient: g, options: o(t)) }),
        ("logSigmoidBackward", { t in try LogSigmoid.backward(input: x, outputGradient: g, options: o(t)) }),
        ("softplusBackward beta=2 threshold=10", { t in
          try Softplus.backward(input: x, outputGradient: g, options: SoftplusOptions(beta: Double(2), threshold: Double(10), execution: o(t)))
        }),
      ]
      for (name, f) in unary {
        try assertReproducible("Sigmoid.\(name) \(shape)") { t in
          var s = BitSnapshot()
          s.add("output", try f(t))
          return s
        }
      }
      func b(_ t: Int, _ r: LossReduction) -> BinaryCrossEntropyOptions {
        BinaryCrossEntropyOptions(reduction: r, execution: ExecutionOptions(threads: t, isa: level))
      }
      for reduction in [LossReduction.mean, .sum] {
        for weighted in [false, true] {
          let w = weighted ? weight : nil, p = weighted ? posWeight : nil
          let what = "reduction=\(reduction)\(weighted ? " weight posWeight" : "") \(shape)"
          try assertReproducible("BinaryCrossEntropy.loss \(what)") { t in
            var s = BitSnapshot()
            s.add("loss", try BinaryCrossEntropy.loss(
              logits: finiteX, targets: targets, weight: w, posWeight: p, options: b(t, reduction)).loss)
            return s
          }
          try assertReproducible("BinaryCrossEntropy.lossAndGradient \(what)") { t in
            let (result, gradient) = try BinaryCrossEntropy.lossAndGradient(
              logits: finiteX, targets: targets, weight: w, posWeight: p, options: b(t, reduction))
            var s = BitSnapshot()
            s.add("loss", result.loss)
            s.add("gradient", gradient)
            return s
          }
        }
      }
      try assertReproducible("BinaryCrossEntropy.rowLosses weight posWeight \(shape)") { t in
        var s = BitSnapshot()
        s.add("rowLosses", try BinaryCrossEntropy.rowLosses(
          logits: x, targets: targets, weight: weight, posWeight: posWeight, options: b(t, .none)))
        return s
      }
      try assertReproducible("BinaryCrossEntropy.backward rowLossGradients \(shape)") { t in
        var dx = [T](repeating: 0, count: n)
        try x.withUnsafeBufferPointer { xb in
          try targets.withUnsafeBufferPointer { yb in
            try g.withUnsafeBufferPointer { gb in
              try dx.withUnsafeMutableBufferPointer { db in
                try BinaryCrossEntropy.backward(
                  logits: xb, targets: yb, rowLossGradients: gb, gradient: db, options: b(t, .none))
              }
            }
          }
        }
        var s = BitSnapshot()
        s.add("gradient", dx)
        return s
      }
    }
  }

  func testElementwiseFloat() throws { try elementwise(Float.self) }
  func testElementwiseDouble() throws { try elementwise(Double.self) }

  // MARK: SigLIP and attention weights

  func sigLIPAndAttention<T: KernelScalar>(_: T.Type) throws {
    // SigLIP: a 701 x 701 similarity matrix (491401 elements: 7 threads).
    let count = 701
    let similarities = Self.input(T.self, rows: count, columns: count, seed: 9, -1, 1, specials: false)
    try forEachLevel { level in
      try assertReproducible("SigLIP.lossAndGradient \(typeName(T.self)) \(count) x \(count) isa=\(level)") { t in
        let (result, gradient) = try SigLIP.lossAndGradient(
          similarities: similarities, columns: count,
          options: SigLIPOptions(execution: ExecutionOptions(threads: t, isa: level)))
        var s = BitSnapshot()
        s.add("loss", result.loss)
        s.add("logTemperatureGradient", try XCTUnwrap(result.logTemperatureGradient))
        s.add("biasGradient", try XCTUnwrap(result.biasGradient))
        s.add("gradient", gradient)
        return s
      }
    }
    // Attention weights: many rows, and few rows (fewer than threads: min(t, rows) ranges).
    for (rows, columns) in [(61, 8_191), (5, 100_003)] {
      let scores = Self.input(T.self, rows: rows, columns: columns, seed: 10, -6, 6, specials: false)
      var rng = SeededRandom(seed: 11)
      let g: [T] = rng.row(T.self, rows * columns, -1, 1)
      let offset = columns - rows
      try forEachLevel { level in
        let shape = "\(typeName(T.self)) \(rows) x \(columns) isa=\(level)"
        func o(_ t: Int) -> ExecutionOptions { ExecutionOptions(threads: t, isa: level) }
        try assertReproducible("AttentionWeights.sigmoid \(shape)") { t in
          var s = BitSnapshot()
          s.add("output", try SigmoidAttention.forward(scores, columns: columns, options: SigmoidAttentionOptions(scale: Double(T(0.125)), execution: o(t))))
          return s
        }
        let p = try SigmoidAttention.forward(scores, columns: columns, options: SigmoidAttentionOptions(execution: o(1)))
        try assertReproducible("AttentionWeights.sigmoidBackward \(shape)") { t in
          var dx = [T](repeating: 0, count: rows * columns)
          try p.withUnsafeBufferPointer { pb in
            try g.withUnsafeBufferPointer { gb in
              try dx.withUnsafeMutableBufferPointer { db in
                try SigmoidAttention.backward(output: Rows(pb, rows: rows, columns: columns), outputGradient: Rows(gb, rows: rows, columns: columns), into: MutableRows(db, rows: rows, columns: columns), options: SigmoidAttentionOptions(scale: Double(T(0.125)), execution: o(t)))
              }
            }
          }
          var s = BitSnapshot()
          s.add("inputGradient", dx)
          return s
        }
        let variants: [(String, SoftplusAttention.Scale, Bool, SoftplusAttention.Reweighting?)] = [
          ("lengthDependent(64) causal reweighting", .lengthDependent(headDimension: 64), true,
           SoftplusAttention.Reweighting()),
          ("constant(0.5) not causal", .constant(0.5), false, nil),
        ]
        for (name, scale, causal, reweighting) in variants {
          let queryOffset = causal ? offset : 0
          try assertReproducible("AttentionWeights.softplus \(name) \(shape)") { t in
            var s = BitSnapshot()
            s.add("output", try SoftplusAttention.forward(scores, columns: columns, options: SoftplusAttentionOptions(scale: scale, causal: causal, queryOffset: queryOffset, reweighting: reweighting, execution: o(t))))
            return s
          }
          let y = try SoftplusAttention.forward(scores, columns: columns, options: SoftplusAttentionOptions(scale: scale, causal: causal, queryOffset: queryOffset, reweighting: reweighting, execution: o(1)))
          try assertReproducible("AttentionWeights.softplusBackward \(name) \(shape)") { t in
            var s = BitSnapshot()
            s.add("inputGradient", try AttentionWeightTests.softplusBackward(
              rows: rows, columns: columns, scores: scores, output: y, outputGradient: g, scale: scale,
              causal: causal, queryOffset: queryOffset, reweighting: reweighting, options: o(t)))
            return s
          }
        }
      }
    }
  }

  func testSigLIPAndAttentionFloat() throws { try sigLIPAndAttention(Float.self) }
  func testSigLIPAndAttentionDouble() throws { try sigLIPAndAttention(Double.self) }
}
