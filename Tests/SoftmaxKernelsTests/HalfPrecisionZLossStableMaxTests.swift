// The spherical Z-loss, the StableMax cross-entropy, StableMax and log-StableMax of 16-bit
// rows: the same arithmetic as Float rows (bitwise, every level, thread count and row length
// around the vector width), gradients and 16-bit outputs rounded once, against float64, in
// place, special values and errors that write nothing.

import SoftmaxKernels
import XCTest

final class HalfPrecisionZLossStableMaxTests: SoftmaxKernelsTestCase {
  /// Row lengths around the vector width (16 Float lanes at x86-64-v4, 8 at v3, 4 at the
  /// baseline) and long rows of several windows.
  let columnCounts = [1, 15, 16, 17, 31, 33, 100, 1000]

  /// What one loss call returns: the loss and the row losses as bit patterns, the gradient.
  struct Outcome<G>: Equatable where G: Equatable {
    var loss: UInt32, rowLosses: [UInt32], gradient: [G]
  }

  /// Z-loss option sets that change the arithmetic: the neutral default, sharper and shifted,
  /// and `epsilon` 0 (not for rows of one entry, which then throw).
  let zLossOptionSets: [SphericalZLossOptions] = [
    SphericalZLossOptions(),
    SphericalZLossOptions(a: 2, b: 0.5, varianceEpsilon: 1e-6),
    SphericalZLossOptions(a: 0.7, b: 3, varianceEpsilon: 0, reduction: .sum),
    SphericalZLossOptions(a: 1.5, b: -1, reduction: .none),
  ]

  let stableMaxOptionSets: [StableMaxCrossEntropyOptions] = [
    StableMaxCrossEntropyOptions(), StableMaxCrossEntropyOptions(reduction: .sum),
    StableMaxCrossEntropyOptions(reduction: .none),
  ]

  /// Logits for `rows x columns`: multiples of 1/64 in [-12, 12] (exact in both types), and
  /// one row shifted by 300 (rounded to the type: the Z-loss's centring is tested on it; for
  /// StableMax every entry is then on the linear branch).
  func logits<H: HalfType>(_: H.Type, _ rows: Int, _ columns: Int, _ rng: inout SeededRandom) -> [H] {
    var x = halfRow(H.self, rows * columns, range: 12, quantum: 64, &rng)
    if rows > 3 { for i in 0..<columns { x[3 * columns + i] = H(x[3 * columns + i].float + 300) } }
    return x
  }

  // MARK: Losses

  /// Loss, row losses and gradient of 16-bit logits are those of the same call on the logits
  /// widened to Float, the gradient rounded once: bitwise, every option set, level, thread count
  /// and row length, two upstream gradients; the loss-only call and the Array forms agree.
  func testHalfLossesComputeAsTheirFloatValues() throws {
    var rng = SeededRandom(seed: 1604)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in columnCounts {
          let rows = 5
          let x = logits(H.self, rows, columns, &rng)
          let xf = x.map(\.float)
          let targets = (0..<rows).map { _ in Int.random(in: 0..<columns, using: &rng) }
          for threads in [1, 2] {
            let execution = ExecutionOptions(threads: threads, isa: level)
            for (k, options0) in zLossOptionSets.enumerated() where columns > 1 || options0.varianceEpsilon > 0 {
              var options = options0
              options.execution = execution
              try compare(SphericalZLoss.self, x, xf, rows, columns, targets, options, "zLoss options \(k) C=\(columns) t=\(threads)")
            }
            for (k, options0) in stableMaxOptionSets.enumerated() {
              var options = options0
              options.execution = execution
              try compare(StableMaxCrossEntropy.self, x, xf, rows, columns, targets, options, "stableMaxCE options \(k) C=\(columns) t=\(threads)")
            }
          }
        }
      }
    }
  }

  /// One comparison of `L` on `x` against `L` on its widened values `xf`.
  private func compare<L: HalfPrecisionClassIndexLoss, H: HalfType>(
    _: L.Type, _ x: [H], _ xf: [Float], _ rows: Int, _ columns: Int, _ targets: [Int], _ options: L.Options,
    _ context: String
  ) throws {
    for lossGradient: Float in [1, -0.37] {
      let half = try lossCall(L.self, x, rows, columns, targets, lossGradient, options)
      let float = try lossCall(L.self, xf, rows, columns, targets, lossGradient, options)
      XCTAssertEqual(half.loss, float.loss, "\(context): loss \(Float(bitPattern: half.loss)) vs \(Float(bitPattern: float.loss))")
      XCTAssertEqual(half.rowLosses, float.rowLosses, "\(context): rowLosses")
      if let i = (0..<x.count).first(where: { !sameBits(half.gradient[$0], H(float.gradient[$0])) }) {
        XCTFail("\(context) g=\(lossGradient): gradient[\(i)] \(half.gradient[i].float) is not \(float.gradient[i]) rounded to \(H(float.gradient[i]).float)")
      }
    }
    // The loss alone and the Array forms give the same bits.
    let lossOnly = try L.loss(logits: x, targets: targets, columns: columns, options: options)
    let fused = try L.lossAndGradient(logits: x, targets: targets, columns: columns, lossGradient: 1, options: options)
    let reference = try lossCall(L.self, x, rows, columns, targets, 1, options)
    XCTAssertEqual(lossOnly.loss.bitPattern, reference.loss, "\(context): loss-only Array form")
    XCTAssertEqual(fused.result.loss.bitPattern, reference.loss, "\(context): Array form")
    XCTAssertEqual(fused.gradient.map(\.bits), reference.gradient.map(\.bits), "\(context): Array gradient")
    let perRow = try L.rowLosses(logits: x, targets: targets, columns: columns, options: options)
    XCTAssertEqual(perRow.map(\.bitPattern), reference.rowLosses, "\(context): Array rowLosses")
  }

  /// One `lossAndGradient` call through the strided API on logits stored as `X` (`Float` or a
  /// 16-bit type), with row losses; the gradient in `X`.
  private func lossCall<L: HalfPrecisionClassIndexLoss, X: Equatable>(
    _: L.Type, _ x: [X], _ rows: Int, _ columns: Int, _ targets: [Int], _ lossGradient: Float,
    _ options: L.Options, inPlace: Bool = false
  ) throws -> Outcome<X> {
    var gradient = x
    var rowLosses = [Float](repeating: .nan, count: rows)
    let result: LossResult<Float> = try x.withUnsafeBufferPointer { xp in
      try gradient.withUnsafeMutableBufferPointer { gp in
        try rowLosses.withUnsafeMutableBufferPointer { lp in
          try targets.withUnsafeBufferPointer { tp in
            let g = MutableRows(gp, rows: rows, columns: columns)
            let logits = inPlace ? g.readOnly : Rows(xp, rows: rows, columns: columns)
            func half<H: HalfPrecisionStorage>(_: H.Type) throws -> LossResult<Float> {
              try L.lossAndGradient(
                logits: logits as! Rows<H>, targets: tp, lossGradient: lossGradient, gradient: g as! MutableRows<H>,
                rowLosses: lp, options: options)
            }
            if X.self == Float.self {
              return try L.lossAndGradient(
                logits: logits as! Rows<Float>, targets: tp, lossGradient: lossGradient,
                gradient: g as! MutableRows<Float>, rowLosses: lp, options: options)
            }
            if X.self == BFloat16.self { return try half(BFloat16.self) }
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            if X.self == Float16.self { return try half(Float16.self) }
            #endif
            fatalError("not a storage type: \(X.self)")
          }
        }
      }
    }
    return Outcome(loss: result.loss.bitPattern, rowLosses: rowLosses.map(\.bitPattern), gradient: gradient)
  }

  /// The gradient written over the logits (in place) is the gradient written apart, bit for
  /// bit, and the loss is unchanged: every level, both losses, lengths around the vector width.
  func testHalfLossGradientsInPlace() throws {
    var rng = SeededRandom(seed: 77)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in columnCounts {
          let rows = 4
          let x = logits(H.self, rows, columns, &rng)
          let targets = (0..<rows).map { _ in Int.random(in: 0..<columns, using: &rng) }
          let execution = ExecutionOptions(threads: 2, isa: level)
          let z = SphericalZLossOptions(a: 2, b: 1, execution: execution)
          let s = StableMaxCrossEntropyOptions(execution: execution)
          let zApart = try lossCall(SphericalZLoss.self, x, rows, columns, targets, 1, z)
          let zInPlace = try lossCall(SphericalZLoss.self, x, rows, columns, targets, 1, z, inPlace: true)
          XCTAssertEqual(zInPlace.gradient.map(\.bits), zApart.gradient.map(\.bits), "zLoss in place C=\(columns)")
          XCTAssertEqual(zInPlace.loss, zApart.loss, "zLoss in place loss C=\(columns)")
          let sApart = try lossCall(StableMaxCrossEntropy.self, x, rows, columns, targets, 1, s)
          let sInPlace = try lossCall(StableMaxCrossEntropy.self, x, rows, columns, targets, 1, s, inPlace: true)
          XCTAssertEqual(sInPlace.gradient.map(\.bits), sApart.gradient.map(\.bits), "stableMaxCE in place C=\(columns)")
          XCTAssertEqual(sInPlace.loss, sApart.loss, "stableMaxCE in place loss C=\(columns)")
        }
      }
    }
  }

  /// NaN, +inf and -inf logits: 16-bit results are the Float results of the widened logits
  /// (NaN where they are NaN), and the documented edge cases hold: a non-finite logit makes the
  /// Z-loss row NaN; StableMax's -inf contributes s = 0, +inf or NaN makes the loss NaN.
  func testHalfLossSpecialValues() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in [3, 17, 33] {
          let rows = 4
          var xf = (0..<rows * columns).map { Float(($0 * 7) % 11) - 5 }
          xf[0 * columns + 1] = .nan
          xf[1 * columns + 2] = .infinity
          xf[2 * columns + 0] = -.infinity
          let x = xf.map { H($0) }
          let targets = [0, 0, 1, 2]
          let z = SphericalZLossOptions(a: 2, b: 1, reduction: .none, execution: ExecutionOptions(isa: level))
          let s = StableMaxCrossEntropyOptions(reduction: .none, execution: ExecutionOptions(isa: level))
          let zHalf = try lossCall(SphericalZLoss.self, x, rows, columns, targets, 1, z)
          let zFloat = try lossCall(SphericalZLoss.self, xf, rows, columns, targets, 1, z)
          let sHalf = try lossCall(StableMaxCrossEntropy.self, x, rows, columns, targets, 1, s)
          let sFloat = try lossCall(StableMaxCrossEntropy.self, xf, rows, columns, targets, 1, s)
          for (name, half, float) in [("zLoss", zHalf, zFloat), ("stableMaxCE", sHalf, sFloat)] {
            XCTAssertEqual(half.rowLosses, float.rowLosses, "\(name) C=\(columns) row losses")
            for i in 0..<x.count where !sameBits(half.gradient[i], H(float.gradient[i])) {
              XCTFail("\(name) C=\(columns): gradient[\(i)] \(half.gradient[i].float) vs \(float.gradient[i])")
              break
            }
            let rowLoss = half.rowLosses.map { Float(bitPattern: $0) }
            XCTAssertTrue(rowLoss[0].isNaN && !rowLoss[1].isFinite, "\(name): NaN and +inf rows give NaN / not finite")
            XCTAssertTrue(rowLoss[3].isFinite, "\(name): a finite row stays finite")
            if name == "zLoss" { XCTAssertTrue(rowLoss[2].isNaN, "zLoss: a -inf row is NaN") }
            if name == "stableMaxCE" { XCTAssertTrue(rowLoss[2].isFinite, "stableMaxCE: -inf contributes s = 0") }
          }
        }
      }
    }
  }

  /// Bad arguments throw naming the argument and write nothing (gradient, row losses): a target
  /// out of range, a gradient of the wrong shape, a gradient overlapping the logits without
  /// being them, row losses too short, Z-loss options invalid in Float (`a` = 1e39 is finite in
  /// Double only), rows of one entry with epsilon 0.
  func testHalfLossErrorsWriteNothing() {
    let x = (0..<40).map { BFloat16(Float($0 % 7)) }
    var gradient = [BFloat16](repeating: BFloat16(-1), count: 40)
    var rowLosses = [Float](repeating: -1, count: 4)
    var overlapping = x + [BFloat16(0)]
    let before = gradient.map(\.bits)
    x.withUnsafeBufferPointer { xp in
      gradient.withUnsafeMutableBufferPointer { gp in
        rowLosses.withUnsafeMutableBufferPointer { lp in
          let logits = Rows(xp, rows: 4, columns: 10)
          let g = MutableRows(gp, rows: 4, columns: 10)
          [0, 1, 10, 2].withUnsafeBufferPointer { tp in
            assertThrows(invalid("targets", reasonContaining: "row 2")) {
              try SphericalZLoss.lossAndGradient(logits: logits, targets: tp, gradient: g, rowLosses: lp)
            }
            assertThrows(invalid("targets", reasonContaining: "row 2")) {
              try StableMaxCrossEntropy.lossAndGradient(logits: logits, targets: tp, gradient: g, rowLosses: lp)
            }
          }
          [0, 1, 2, 3].withUnsafeBufferPointer { tp in
            assertThrows(invalid("gradient")) {
              try SphericalZLoss.lossAndGradient(logits: logits, targets: tp, gradient: MutableRows(gp, rows: 5, columns: 8))
            }
            assertThrows(invalid("gradient")) {
              try StableMaxCrossEntropy.lossAndGradient(logits: logits, targets: tp, gradient: MutableRows(gp, rows: 5, columns: 8))
            }
            assertThrows(.bufferTooSmall(argument: "rowLosses", required: 4, actual: 3)) {
              try StableMaxCrossEntropy.lossAndGradient(
                logits: logits, targets: tp, gradient: g, rowLosses: UnsafeMutableBufferPointer(rebasing: lp[..<3]))
            }
            for (argument, options) in [
              ("a", SphericalZLossOptions(a: 1e39, b: 1)), ("a", SphericalZLossOptions(a: 0, b: 1)),
              ("b", SphericalZLossOptions(a: 1, b: 1e39)), ("varianceEpsilon", SphericalZLossOptions(a: 1, b: 1, varianceEpsilon: -1)),
            ] {
              assertThrows(invalid(argument, reasonContaining: "Float")) {
                try SphericalZLoss.lossAndGradient(logits: logits, targets: tp, gradient: g, rowLosses: lp, options: options)
              }
            }
          }
          [0, 0, 0, 0].withUnsafeBufferPointer { zeros in
            assertThrows(invalid("varianceEpsilon", reasonContaining: "one entry")) {
              try SphericalZLoss.lossAndGradient(
                logits: Rows(xp, rows: 4, columns: 1), targets: zeros, gradient: MutableRows(gp, rows: 4, columns: 1),
                rowLosses: lp, options: SphericalZLossOptions(a: 1, b: 1, varianceEpsilon: 0))
            }
          }
        }
      }
    }
    // A gradient one element past the logits overlaps them without being them (in place).
    overlapping.withUnsafeMutableBufferPointer { op in
      let logits = Rows(UnsafeBufferPointer(rebasing: op[..<40]), rows: 4, columns: 10)
      let shifted = MutableRows(UnsafeMutableBufferPointer(rebasing: op[1...]), rows: 4, columns: 10)
      [0, 1, 2, 3].withUnsafeBufferPointer { tp in
        assertThrows(invalid("gradient")) { try SphericalZLoss.lossAndGradient(logits: logits, targets: tp, gradient: shifted) }
        assertThrows(invalid("gradient")) { try StableMaxCrossEntropy.lossAndGradient(logits: logits, targets: tp, gradient: shifted) }
      }
    }
    XCTAssertEqual(overlapping.map(\.bits), (x + [BFloat16(0)]).map(\.bits), "a throwing call wrote over the logits")
    XCTAssertEqual(gradient.map(\.bits), before, "a throwing call wrote the gradient")
    XCTAssertEqual(rowLosses, [-1, -1, -1, -1], "a throwing call wrote row losses")
  }

  // MARK: StableMax and log-StableMax

  /// 16-bit outputs are the Float outputs of the widened rows rounded once, bitwise; Float
  /// outputs of 16-bit rows are the Float kernel's, bitwise; both within 1 ulp (16-bit) / the
  /// Float bound of a float64 reference; in place gives the same bits. Every level, thread
  /// count and row length around the vector width.
  func testHalfStableMaxOutputs() throws {
    var rng = SeededRandom(seed: 2025)
    var worst: [String: Double] = [:]
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in columnCounts {
          let rows = 5
          let x = logits(H.self, rows, columns, &rng)
          let xf = x.map(\.float)
          for threads in [1, 2] {
            let options = ExecutionOptions(threads: threads, isa: level)
            for logarithm in [false, true] {
              let context = "\(logarithm ? "logStableMax" : "stableMax") C=\(columns) t=\(threads)"
              let (half, toFloat) = try stableMaxForward(x, columns, logarithm, options)
              let (float, _) = try stableMaxForward(xf, columns, logarithm, options)
              XCTAssertEqual(toFloat.map(\.bitPattern), float.map(\.bitPattern), "\(context): Float output")
              if let i = (0..<x.count).first(where: { !sameBits(half[$0], H(float[$0])) }) {
                XCTFail("\(context): output[\(i)] \(half[i].float) is not \(float[i]) rounded")
              }
              var inPlace = x
              if logarithm {
                try LogStableMax.forward(&inPlace, columns: columns, options: options)
              } else {
                try StableMax.forward(&inPlace, columns: columns, options: options)
              }
              XCTAssertEqual(inPlace.map(\.bits), half.map(\.bits), "\(context): in place")
              for r in 0..<rows {
                let ref = stableMaxReference(xf[r * columns..<(r + 1) * columns].map(Double.init), logarithm: logarithm)
                for i in 0..<columns {
                  let e = H.ulpError(half[r * columns + i], ref[i])
                  let key = "\(H.name) \(logarithm ? "log" : "")"
                  worst[key] = max(worst[key] ?? 0, e)
                  if e > 1 {
                    XCTFail("\(context): output[\(r), \(i)] \(half[r * columns + i].float) is \(e) ulp from \(ref[i])")
                    return
                  }
                  let f = Double(toFloat[r * columns + i])
                  XCTAssertLessThanOrEqual(Swift.abs(f - ref[i]), 1e-7 + 1e-5 * Swift.abs(ref[i]), "\(context): Float output [\(r), \(i)]")
                }
              }
            }
          }
        }
      }
    }
    print("largest 16-bit StableMax error against float64, in ulp:", worst.sorted { $0.key < $1.key })
  }

  /// StableMax of special values: 16-bit outputs are the Float outputs of the widened rows
  /// rounded (NaN where they are NaN): -inf gives 0 (log: -inf), +inf NaN there and 0
  /// elsewhere, NaN a NaN row.
  func testHalfStableMaxSpecialValues() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for columns in [3, 17] {
          var xf = (0..<3 * columns).map { Float($0 % 5) - 2 }
          xf[0] = -.infinity
          xf[columns + 1] = .infinity
          xf[2 * columns + 2] = .nan
          let x = xf.map { H($0) }
          for logarithm in [false, true] {
            let options = ExecutionOptions(isa: level)
            let (half, toFloat) = try stableMaxForward(x, columns, logarithm, options)
            let (float, _) = try stableMaxForward(xf, columns, logarithm, options)
            XCTAssertTrue(zip(toFloat, float).allSatisfy { sameBits($0, $1) }, "Float output C=\(columns) log=\(logarithm)")
            XCTAssertTrue(zip(half, float).allSatisfy { sameBits($0, H($1)) }, "16-bit output C=\(columns) log=\(logarithm)")
            XCTAssertEqual(half[0].float, logarithm ? -.infinity : 0, "-inf entry")
            XCTAssertTrue(half[columns + 1].float.isNaN, "+inf entry")
            XCTAssertEqual(half[columns].float, logarithm ? -.infinity : 0, "beside +inf")
            XCTAssertTrue(half[2 * columns..<3 * columns].allSatisfy { $0.float.isNaN }, "NaN row")
          }
        }
      }
    }
  }

  /// StableMax errors name the argument and write nothing: shapes that differ, a 16-bit output
  /// overlapping the input without being it, a Float output overlapping the input.
  func testHalfStableMaxErrorsWriteNothing() {
    let count = 64
    let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * count + 64, alignment: 64)
    defer { raw.deallocate() }
    let halves = raw.bindMemory(to: BFloat16.self)
    for i in halves.indices { halves[i] = BFloat16(Float(i % 9) - 4) }
    let before = Array(halves).map(\.bits)
    let input = Rows(UnsafeBufferPointer(rebasing: halves[..<count]), rows: 4, columns: 16)
    let shifted = MutableRows(UnsafeMutableBufferPointer(rebasing: halves[1...count]), rows: 4, columns: 16)
    var other = [BFloat16](repeating: BFloat16(7), count: count)
    other.withUnsafeMutableBufferPointer { op in
      assertThrows(invalid("output")) { try StableMax.forward(input, into: MutableRows(op, rows: 8, columns: 8)) }
      assertThrows(invalid("output")) { try LogStableMax.forward(input, into: MutableRows(op, rows: 4, columns: 15, rowStride: 16)) }
    }
    assertThrows(invalid("output")) { try StableMax.forward(input, into: shifted) }
    assertThrows(invalid("output")) { try LogStableMax.forward(input, into: shifted) }
    // Float outputs over the same memory (the input's second half).
    let floats = UnsafeMutableBufferPointer(start: (raw.baseAddress! + 64).assumingMemoryBound(to: Float.self), count: count)
    assertThrows(invalid("output")) { try StableMax.forward(input, into: MutableRows(floats, rows: 4, columns: 16)) }
    assertThrows(invalid("output")) { try LogStableMax.forward(input, into: MutableRows(floats, rows: 4, columns: 16)) }
    XCTAssertEqual(Array(halves).map(\.bits), before, "a throwing call wrote")
    XCTAssertTrue(other.allSatisfy { $0 == BFloat16(7) }, "a throwing call wrote")
  }

  /// StableMax or log-StableMax of rows of `columns` stored as `X` (`Float` or 16-bit): the
  /// output in `X` and, for 16-bit rows, in `Float` (empty for Float rows).
  private func stableMaxForward<X>(
    _ x: [X], _ columns: Int, _ logarithm: Bool, _ options: ExecutionOptions
  ) throws -> (same: [X], float: [Float]) {
    func half<H: HalfPrecisionStorage>(_: H.Type) throws -> ([X], [Float]) {
      let input = x as! [H]
      var toFloat = [Float](repeating: -7, count: x.count)
      try input.withUnsafeBufferPointer { xp in
        try toFloat.withUnsafeMutableBufferPointer { fp in
          if logarithm {
            try LogStableMax.forward(xp, columns: columns, into: fp, options: options)
          } else {
            try StableMax.forward(xp, columns: columns, into: fp, options: options)
          }
        }
      }
      let same = logarithm
        ? try LogStableMax.forward(input, columns: columns, options: options)
        : try StableMax.forward(input, columns: columns, options: options)
      return (same as! [X], toFloat)
    }
    if X.self == Float.self {
      let input = x as! [Float]
      let y = logarithm
        ? try LogStableMax.forward(input, columns: columns, options: options)
        : try StableMax.forward(input, columns: columns, options: options)
      return (y as! [X], [])
    }
    if X.self == BFloat16.self { return try half(BFloat16.self) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    if X.self == Float16.self { return try half(Float16.self) }
    #endif
    fatalError("not a storage type: \(X.self)")
  }

  /// StableMax (or log-StableMax) of one row in float64: `s(x_i) / sum_j s(x_j)`.
  private func stableMaxReference(_ x: [Double], logarithm: Bool) -> [Double] {
    let s = x.map { $0 >= 0 ? $0 + 1 : 1 / (1 - $0) }
    let total = s.reduce(0, +)
    return s.map { logarithm ? log($0) - log(total) : $0 / total }
  }
}

/// Equal bit patterns, or both NaN (a NaN's payload may differ between conversions).
private func sameBits<V>(_ a: V, _ b: V) -> Bool {
  switch (a, b) {
  case let (a as Float, b as Float): a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
  case let (a as any HalfType, b as any HalfType): a.bits == b.bits || (a.float.isNaN && b.float.isNaN)
  default: fatalError("not a storage type: \(V.self)")
  }
}
