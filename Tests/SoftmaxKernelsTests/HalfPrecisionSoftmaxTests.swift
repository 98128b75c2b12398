// The softmax family on 16-bit rows (Float16, BFloat16): accuracy against a float64 reference
// of the 16-bit inputs, the conversions inside the kernels against the scalar ones, properties,
// special values and argument errors, at every ISA level, for every algorithm.

import SoftmaxKernels
import XCTest

final class HalfPrecisionSoftmaxTests: SoftmaxKernelsTestCase {
  /// Row lengths around every boundary of the kernels' code paths (16 lanes of Float).
  let lengths: [Int] = [1, 2, 3] + [1, 2, 16, 32, 64, 256, 4096].flatMap { v in [16 * v - 1, 16 * v, 16 * v + 1] }

  private func forEachHalfType(_ body: (any HalfType.Type) throws -> Void) rethrows {
    for type in halfTypes {
      try withFailureContext(type.name) { try body(type) }
    }
  }

  // MARK: - Conversions

  /// `BFloat16(_:)` against the nearest value found in Double (ties to the even bit pattern):
  /// every BFloat16 value, every midpoint between neighbours and the Floats next to it, and a
  /// sweep over the Float bit patterns. `Float(_:)` is exact: every BFloat16 goes round trip.
  func testBFloat16ConversionRoundsToNearestEven() {
    func nearest(_ x: Float) -> UInt16 {
      let below = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
      let above = below &+ 1
      // Above the largest finite value the next step is 2^128 (rounding with an unbounded
      // exponent, then overflow to infinity).
      let lo = Double(Float(bitPattern: UInt32(below) << 16))
      let next = Double(Float(bitPattern: UInt32(above) << 16))
      let hi = next.isInfinite ? Double(sign: lo < 0 ? .minus : .plus, exponent: 128, significand: 1) : next
      let v = Double(x)
      if Swift.abs(v - lo) < Swift.abs(hi - v) { return below }
      if Swift.abs(v - lo) > Swift.abs(hi - v) { return above }
      return below & 1 == 0 ? below : above
    }
    var failures = 0
    func check(_ x: Float) {
      let got = BFloat16(x).bitPattern
      let want: UInt16 = x.isNaN ? UInt16(truncatingIfNeeded: (x.bitPattern | 0x0040_0000) >> 16) : nearest(x)
      if got != want && failures < 10 {
        failures += 1
        XCTFail("BFloat16(\(x)) [bits \(String(x.bitPattern, radix: 16))] = \(String(got, radix: 16)), expected \(String(want, radix: 16))")
      }
    }
    for b in 0...UInt32(UInt16.max) {
      let f = Float(BFloat16(bitPattern: UInt16(b)))
      XCTAssertEqual(f.bitPattern, b << 16)
      if !f.isNaN { XCTAssertEqual(BFloat16(f).bitPattern, UInt16(b)) }
      let mid = (b << 16) | 0x8000
      for d: Int64 in [-1, 0, 1] { check(Float(bitPattern: UInt32(truncatingIfNeeded: Int64(mid) + d))) }
    }
    var bits: UInt32 = 0
    while bits < UInt32.max - 40_009 {
      check(Float(bitPattern: bits))
      bits += 40_009
    }
    // The largest finite value and the rounding to infinity above it.
    XCTAssertEqual(BFloat16(Float(bitPattern: 0x7F7F_7FFF)).bitPattern, 0x7F7F)
    XCTAssertEqual(BFloat16(Float(bitPattern: 0x7F7F_8000)).bitPattern, 0x7F80)
    XCTAssertEqual(BFloat16(-.infinity).bitPattern, 0xFF80)
    XCTAssertEqual(BFloat16(-0.0).bitPattern, 0x8000)
    // A NaN whose kept bits are zero stays a NaN (not infinity).
    XCTAssertTrue(Float(BFloat16(Float(bitPattern: 0x7F80_0001))).isNaN)
    XCTAssertEqual(BFloat16(1.5), BFloat16(1.5))
    XCTAssertEqual(BFloat16(0.0), BFloat16(-0.0))
    XCTAssertEqual(BFloat16(0.0).hashValue, BFloat16(-0.0).hashValue)
    XCTAssertNotEqual(BFloat16(.nan), BFloat16(.nan))
    XCTAssertEqual(BFloat16(0.1).description, Float(BFloat16(0.1)).description)
  }

  /// The vector conversions inside the kernels are the scalar ones: a 16-bit output is bitwise
  /// the `Float` output of the same call rounded by `H(_:)` (the two calls share all their
  /// arithmetic), for every function, algorithm, level and length, full and partial vectors.
  func testHalfOutputsAreTheFloatOutputsRounded() throws {
    var rng = SeededRandom(seed: 1611)
    try forEachHalfType { type in try check(type) }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachAlgorithmAndLevel { options in
        // The longest rows (65 535 to 65 537) with one algorithm: they take most of the time.
        for n in lengths + [0] where n < 5000 || options.algorithm == .threePassRecompute {
          // Logits over a wide range, so that outputs cover the subnormal range of Float16 and
          // rounding ties of both formats.
          let x = halfRow(H.self, max(n, 1) * 2, range: 60, quantum: 4, &rng)
          for operation in HalfOperation.allCases {
            let (half, float) = try halfForward(operation, Array(x.prefix(2 * n)), columns: n, options: options)
            for (i, (h, f)) in zip(half, float).enumerated() where h.bits != H(f).bits {
              XCTFail("\(operation) n=\(n) [\(i)]: \(h.float) (bits \(h.bits)) is not \(f) rounded (\(H(f).float))")
              break
            }
          }
        }
      }
    }
  }

  // MARK: - Accuracy

  /// Against a float64 reference of the 16-bit inputs: softmax outputs within 1 ulp of the
  /// 16-bit type (its rounding and nothing else), log-softmax and log-sum-exp within 1 ulp plus
  /// the Float bound; the `Float` outputs within the Float bounds. Measured maxima are printed
  /// (see the Accuracy article).
  func testHalfSoftmaxFamilyAgainstTheFloat64Reference() throws {
    var rng = SeededRandom(seed: 2411)
    try forEachHalfType { type in try check(type) }
    func check<H: HalfType>(_: H.Type) throws {
      var worstHalf: [HalfOperation: Double] = [:], worstFloat: [HalfOperation: Double] = [:]
      try forEachAlgorithmAndLevel { options in
        for n in lengths {
          let x = halfRow(H.self, n, &rng)
          let row = x.map { Double($0.float) }
          for operation in HalfOperation.allCases {
            let (half, float) = try halfForward(operation, x, columns: n, options: options)
            let ref = halfReference(operation, row)
            var wh = 0.0, wf = 0.0
            for i in ref.indices {
              let r = ref[i]
              // The Float result's own error, then one rounding to H.
              let floatError: Double
              switch operation {
              case .softmax:
                floatError = Bounds.softmax(Float.self, columns: n) * Swift.abs(r)
                wf = max(wf, Swift.abs(Double(float[i]) - r) / Swift.abs(r))
              case .logSoftmax:
                floatError = Bounds.logSoftmax(Float.self) * max(1, Swift.abs(r))
                wf = max(wf, Swift.abs(Double(float[i]) - r) / max(1, Swift.abs(r)))
              case .logSumExp:
                floatError = 2e-6 * max(1, Swift.abs(r))
                wf = max(wf, Swift.abs(Double(float[i]) - r) / max(1, Swift.abs(r)))
              }
              let e = H.ulpError(half[i], r)
              wh = max(wh, e)
              if Swift.abs(Double(half[i].float) - r) > H.ulp(at: r) + floatError {
                XCTFail("\(operation) n=\(n) [\(i)]: \(half[i].float) vs \(r): \(e) ulp")
                break
              }
            }
            let floatBound =
              switch operation {
              case .softmax: Bounds.softmax(Float.self, columns: n)
              case .logSoftmax: Bounds.logSoftmax(Float.self)
              case .logSumExp: Bounds.logSumExp(Float.self)
              }
            XCTAssertLessThanOrEqual(wf, floatBound, "\(operation) n=\(n): Float output")
            worstHalf[operation] = max(worstHalf[operation] ?? 0, wh)
            worstFloat[operation] = max(worstFloat[operation] ?? 0, wf)
          }
        }
      }
      print("\(H.name) measured: 16-bit outputs (ulp) \(worstHalf.sorted { "\($0.key)" < "\($1.key)" }), Float outputs \(worstFloat.sorted { "\($0.key)" < "\($1.key)" })")
    }
  }

  /// The vector-Jacobian products of 16-bit rows against float64: within 1 ulp of the 16-bit
  /// type plus the Float bound (`1e-7 + 1e-5 |ref|`), in place too; `Float` outputs within the
  /// Float bound.
  func testHalfBackwardAgainstTheFloat64Reference() throws {
    var rng = SeededRandom(seed: 977)
    try forEachHalfType { type in try check(type) }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        let options = SoftmaxOptions(execution: ExecutionOptions(isa: level))
        for n in lengths where n < 5000 {
          let x = halfRow(H.self, n, &rng)
          let g = halfRow(H.self, n, range: 1, &rng)
          for isLog in [false, true] {
            let y: [H] = try isLog ? LogSoftmax.forward(x, options: options) : Softmax.forward(x, options: options)
            let yd = y.map { Double($0.float) }, gd = g.map { Double($0.float) }
            let ref = isLog ? Reference.logSoftmaxBackward(output: yd, gradient: gd) : Reference.softmaxBackward(output: yd, gradient: gd)
            let scale = ref.map { Swift.abs($0) }.max() ?? 1
            var half = [H](repeating: H(Float.nan), count: n), float = [Float](repeating: .nan, count: n)
            try y.withUnsafeBufferPointer { yp in
              try g.withUnsafeBufferPointer { gp in
                let (yr, gr) = (Rows(vector: yp), Rows(vector: gp))
                try half.withUnsafeMutableBufferPointer { hp in
                  if isLog {
                    try LogSoftmax.backward(output: yr, outputGradient: gr, into: MutableRows(vector: hp), options: options)
                  } else {
                    try Softmax.backward(output: yr, outputGradient: gr, into: MutableRows(vector: hp), options: options)
                  }
                }
                try float.withUnsafeMutableBufferPointer { fp in
                  if isLog {
                    try LogSoftmax.backward(output: yr, outputGradient: gr, into: MutableRows(vector: fp), options: options)
                  } else {
                    try Softmax.backward(output: yr, outputGradient: gr, into: MutableRows(vector: fp), options: options)
                  }
                }
              }
            }
            // In place over the upstream gradient: the same bits.
            var inPlace = g
            try inPlace.withUnsafeMutableBufferPointer { gp in
              try y.withUnsafeBufferPointer { yp in
                let rows = MutableRows(vector: gp)
                if isLog {
                  try LogSoftmax.backward(output: Rows(vector: yp), outputGradient: rows.readOnly, into: rows, options: options)
                } else {
                  try Softmax.backward(output: Rows(vector: yp), outputGradient: rows.readOnly, into: rows, options: options)
                }
              }
            }
            XCTAssertEqual(inPlace.map(\.bits), half.map(\.bits), "in place, n=\(n)")
            for i in 0..<n {
              let floatBound = 1e-7 * max(1, scale) + 1e-5 * Swift.abs(ref[i])
              XCTAssertLessThanOrEqual(Swift.abs(Double(float[i]) - ref[i]), floatBound, "Float dx, log=\(isLog) n=\(n) [\(i)]")
              XCTAssertLessThanOrEqual(
                Swift.abs(Double(half[i].float) - ref[i]), H.ulp(at: ref[i]) + floatBound,
                "\(H.name) dx, log=\(isLog) n=\(n) [\(i)]")
              XCTAssertEqual(half[i].bits, H(float[i]).bits, "dx is not the Float dx rounded, n=\(n) [\(i)]")
              if Swift.abs(Double(float[i]) - ref[i]) > floatBound { break }
            }
          }
        }
      }
    }
  }

  // MARK: - Properties

  /// Shift invariance (bitwise: the shift by 8 is exact and leaves every `x - max` unchanged),
  /// all-equal rows (every entry `1/n` rounded once), a dominant entry (its log-probability
  /// keeps its relative accuracy), several rows at once, strided and in place, and threads
  /// (a row split over threads gives the one-thread bits).
  func testHalfRowProperties() throws {
    var rng = SeededRandom(seed: 4099)
    try forEachHalfType { type in try check(type) }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachAlgorithmAndLevel { options in
        for n in [1, 17, 255, 4097] {
          // Multiples of 1/8 in [-8, 8]: x and x + 8 both exact in BFloat16's 8 bits.
          let x = halfRow(H.self, n, range: 8, quantum: 8, &rng)
          let shifted = x.map { H($0.float + 8) }
          for operation in HalfOperation.allCases where operation != .logSumExp {
            let (a, _) = try halfForward(operation, x, columns: n, options: options)
            let (b, _) = try halfForward(operation, shifted, columns: n, options: options)
            if options.algorithm == .twoPass || options.algorithm == .automatic {
              // The two-pass exponential takes x - 0, not x - max: equal within the bound only.
              for (u, v) in zip(a, b) { XCTAssertLessThanOrEqual(H.ulpError(u, Double(v.float)), 2, "\(operation) n=\(n)") }
            } else {
              XCTAssertEqual(a.map(\.bits), b.map(\.bits), "\(operation) n=\(n): not shift invariant")
            }
          }
          // All equal: 1/n everywhere, correctly rounded or its neighbour.
          let equal = [H](repeating: H(Float(3.25)), count: n)
          let (p, _) = try halfForward(.softmax, equal, columns: n, options: options)
          XCTAssertEqual(Set(p.map(\.bits)).count, 1, "all-equal n=\(n): entries differ")
          XCTAssertLessThanOrEqual(H.ulpError(p[0], 1 / Double(n)), 1, "all-equal n=\(n)")
        }
        // A dominant entry: log-softmax of the maximum is -log1p((n - 1) e^-30), not 0.
        let n = 4097
        var dominant = [H](repeating: H(Float(0)), count: n)
        dominant[n / 2] = H(Float(30))
        let (z, zf) = try halfForward(.logSoftmax, dominant, columns: n, options: options)
        let exact = -log1p(Double(n - 1) * exp(-30.0))
        XCTAssertLessThanOrEqual(H.ulpError(z[n / 2], exact), 1, "dominant entry: \(z[n / 2].float) vs \(exact)")
        XCTAssertLessThanOrEqual(Swift.abs(Double(zf[n / 2]) / exact - 1), 2e-6, "dominant entry, Float output")
      }
      // Several rows, strided, against one-row calls; in place; and a long row split over
      // threads, bitwise the one-thread result.
      try forEachLevel { level in
        for operation in HalfOperation.allCases {
          let (rows, columns, stride) = (5, 300, 307)
          let x = halfRow(H.self, rows * stride, &rng)
          let options = SoftmaxOptions(execution: ExecutionOptions(isa: level))
          var expected: [[UInt16]] = []
          for r in 0..<rows {
            expected.append(try halfForward(operation, Array(x[r * stride..<r * stride + columns]), columns: columns, options: options).half.map(\.bits))
          }
          var out = [H](repeating: H(Float(-7)), count: operation == .logSumExp ? rows : rows * stride)
          var inPlace = x
          try x.withUnsafeBufferPointer { xp in
            let input = Rows(xp, rows: rows, columns: columns, rowStride: stride)
            try out.withUnsafeMutableBufferPointer { op in
              switch operation {
              case .softmax: try Softmax.forward(input, into: MutableRows(op, rows: rows, columns: columns, rowStride: stride), options: options)
              case .logSoftmax: try LogSoftmax.forward(input, into: MutableRows(op, rows: rows, columns: columns, rowStride: stride), options: options)
              case .logSumExp: try LogSumExp.forward(input, into: op, options: options)
              }
            }
          }
          try inPlace.withUnsafeMutableBufferPointer { p in
            let rowsView = MutableRows(p, rows: rows, columns: columns, rowStride: stride)
            switch operation {
            case .softmax: try Softmax.forward(rowsView.readOnly, into: rowsView, options: options)
            case .logSoftmax: try LogSoftmax.forward(rowsView.readOnly, into: rowsView, options: options)
            case .logSumExp: break
            }
          }
          for r in 0..<rows {
            if operation == .logSumExp {
              XCTAssertEqual(out[r].bits, expected[r][0], "\(operation) row \(r)")
              continue
            }
            XCTAssertEqual(out[r * stride..<r * stride + columns].map(\.bits), expected[r], "\(operation) strided row \(r)")
            XCTAssertEqual(inPlace[r * stride..<r * stride + columns].map(\.bits), expected[r], "\(operation) in place row \(r)")
            if r < rows - 1 {
              XCTAssertEqual(out[r * stride + columns..<(r + 1) * stride].map(\.bits), Array(repeating: H(Float(-7)).bits, count: stride - columns), "gap written")
              XCTAssertEqual(inPlace[r * stride + columns..<(r + 1) * stride].map(\.bits), x[r * stride + columns..<(r + 1) * stride].map(\.bits), "gap written")
            }
          }
        }
        let long = halfRow(H.self, 300_001, &rng)
        for algorithm in allAlgorithms {
          var results: [[UInt16]] = []
          for threads in [1, 2, 3] {
            let options = SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: threads, isa: level))
            let (h, f) = try halfForward(.logSoftmax, long, columns: long.count, options: options)
            results.append(h.map(\.bits) + f.map { UInt16(truncatingIfNeeded: $0.bitPattern) } + f.map { UInt16($0.bitPattern >> 16) })
          }
          XCTAssertTrue(results.allSatisfy { $0 == results[0] }, "\(algorithm): threads change the bits")
        }
      }
    }
  }

  // MARK: - Special values

  /// NaN (BFloat16 payloads and signalling patterns too), infinities, masked entries and fully
  /// masked rows, under both options; and results beyond the 16-bit range.
  func testHalfSpecialValues() throws {
    try forEachHalfType { type in try check(type) }
    func check<H: HalfType>(_: H.Type) throws {
      let nanPatterns: [UInt16] = H.self == BFloat16.self ? [0x7FC0, 0x7FC1, 0x7F81, 0xFFFF] : [0x7E00, 0x7E01, 0x7C01, 0xFFFF]
      var rows: [[Float]] = [
        [1, -.infinity, 2, -.infinity], [-.infinity, -.infinity, -.infinity], [.infinity, 1, 2],
        [.infinity, .infinity, 0], [-.infinity, .infinity, 3], [0],
      ]
      for n in [5, 40] { rows.append((0..<n).map { $0 == n - 2 ? -.infinity : Float($0 % 7) }) }
      try forEachAlgorithmAndLevel { options in
        for fullyMasked in [false, true] {
          for limit in [false, true] {
            var o = options
            o.fullyMaskedRowIsZero = fullyMasked
            o.positiveInfinityIsLimit = limit
            var cases = rows.map { $0.map { H($0) } }
            for pattern in nanPatterns { cases.append([H(Float(1)), H(bits: pattern)] + [H](repeating: H(Float(2)), count: 20)) }
            for x in cases {
              let row = x.map { Double($0.float) }
              for operation in HalfOperation.allCases {
                let (half, float) = try halfForward(operation, x, columns: x.count, options: o)
                let ref = halfReference(operation, row, options: o)
                for i in ref.indices {
                  XCTAssertLessThanOrEqual(H.ulpError(half[i], ref[i]), 1, "\(operation) \(row) [\(i)] \(describe(o)): \(half[i].float) vs \(ref[i])")
                  let f = Double(float[i])
                  XCTAssertTrue(f.isNaN ? ref[i].isNaN : (f == ref[i] || Swift.abs(f - ref[i]) <= 2e-6 * max(1, Swift.abs(ref[i]))), "\(operation) \(row) [\(i)] Float: \(f) vs \(ref[i])")
                }
              }
            }
          }
        }
      }
      // Beyond the 16-bit range: log-softmax of [65504, -65504] is -131008 at the second entry,
      // -inf in Float16 (beyond its largest finite value), finite in Float and in BFloat16.
      let x = [H(Float(65504)), H(Float(-65504))]
      let (half, float) = try halfForward(.logSoftmax, x, columns: 2, options: SoftmaxOptions())
      let expected = Double(x[1].float) - Double(x[0].float)
      XCTAssertEqual(Double(float[1]), expected)
      if H.self == BFloat16.self {
        XCTAssertLessThanOrEqual(H.ulpError(half[1], expected), 0.5)
      } else {
        XCTAssertEqual(half[1].float, -.infinity)
      }
    }
  }

  // MARK: - Arguments

  /// A `Float` output must not overlap the 16-bit input (no in place across types); shapes and
  /// sizes are checked as for Float; a call that throws writes nothing.
  func testHalfArgumentErrors() throws {
    let x = (0..<64).map { BFloat16(Float($0) / 8) }
    var memory = [Float](repeating: Float(sentinel), count: 64)
    memory.withUnsafeMutableBytes { raw in
      x.withUnsafeBytes { raw.copyMemory(from: $0) }  // the bf16 row in the first 128 bytes
    }
    let before = memory
    memory.withUnsafeMutableBufferPointer { p in
      let raw = UnsafeMutableRawPointer(p.baseAddress!)
      let input = UnsafeBufferPointer(start: raw.assumingMemoryBound(to: BFloat16.self), count: 64)
      let output = UnsafeMutableBufferPointer(start: p.baseAddress! + 16, count: 48)
      assertThrows(invalid("output", reasonContaining: "overlaps")) {
        try Softmax.forward(Rows(input, rows: 1, columns: 48), into: MutableRows(output, rows: 1, columns: 48))
      }
      assertThrows(invalid("output")) {
        try LogSoftmax.forward(Rows(input, rows: 2, columns: 32), into: MutableRows(output, rows: 3, columns: 16))
      }
      assertThrows(.bufferTooSmall(argument: "output", required: 4, actual: 3)) {
        try LogSumExp.forward(Rows(input, rows: 4, columns: 16), into: UnsafeMutableBufferPointer(rebasing: output[0..<3]))
      }
      assertThrows(invalid("inputGradient", reasonContaining: "overlaps")) {
        // The Float gradient starts where the 16-bit rows start: not in place across types.
        let rows = Rows(input, rows: 1, columns: 32)
        let dx = UnsafeMutableBufferPointer(start: p.baseAddress!, count: 32)
        try Softmax.backward(output: rows, outputGradient: rows, into: MutableRows(dx, rows: 1, columns: 32))
      }
    }
    XCTAssertEqual(memory.map(\.bitPattern), before.map(\.bitPattern), "a throwing call wrote")
    assertThrows(.countMismatch(argument: "output", expected: 64, actual: 63)) {
      var y = [BFloat16](repeating: BFloat16(0), count: 63)
      try x.withUnsafeBufferPointer { xp in
        try y.withUnsafeMutableBufferPointer { try Softmax.forward(xp, into: $0) }
      }
    }
  }
}

final class HalfPrecisionDocumentationTests: XCTestCase {
  /// The example of the 16-bit storage article, as written there.
  func testTheArticleExample() throws {
    let logits: [BFloat16] = [2, 1, 0.1, -.infinity].map { BFloat16(Float($0)) }
    let p = try Softmax.forward(logits)
    let lse = try LogSumExp.forward(logits)
    var z = [Float](repeating: 0, count: logits.count)
    try logits.withUnsafeBufferPointer { x in
      try z.withUnsafeMutableBufferPointer { y in try LogSoftmax.forward(x, into: y) }
    }
    let reference = Reference.softmax(logits.map { Double(Float($0)) })
    XCTAssertEqual(p, reference.map { BFloat16(Float($0)) })
    XCTAssertEqual(Float(p[3]), 0)
    XCTAssertEqual(Double(lse), Reference.logSumExp(logits.map { Double(Float($0)) }), accuracy: 1e-6)
    XCTAssertEqual(Double(z[0]), log(reference[0]), accuracy: 1e-6)
    XCTAssertEqual(z[3], -.infinity)
  }
}
