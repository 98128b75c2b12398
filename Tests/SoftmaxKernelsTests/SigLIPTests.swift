import Foundation
import SoftmaxKernels
import XCTest

/// The SigLIP loss and its three gradients against a direct float64 / Float80 evaluation of
/// big_vision's formula and by finite differences.
final class SigLIPTests: SoftmaxKernelsTestCase {
  struct Reference {
    var loss: Double, dT: Double, dB: Double, ds: [Double]
    /// Scales for the tolerances of the sums that can cancel: sum |q| / B and t sum |q s| / B.
    var dBScale: Double, dTScale: Double
  }

  /// `L = (1/B) sum_ij softplus(-z_ij (t s_ij + b))`, `z_ij = +1` iff `j = i + offset`.
  static func reference(
    _ s: [Double], rows: Int, columns: Int, stride: Int, tPrime: Double, b: Double,
    offset: Int?, batch: Int
  ) -> Reference {
    typealias R = Wide
    let t = R.shimExp(R(tPrime))
    var loss: R = 0, q: R = 0, qs: R = 0, qAbs: R = 0, qsAbs: R = 0
    var ds = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows {
      for j in 0..<columns {
        let sij = R(s[i * stride + j])
        let z: R = (offset.map { j == i + $0 } ?? false) ? 1 : -1
        let l = t * sij + R(b)
        loss += sigRefSoftplusExact(-z * l)
        let qij = -z * sigRefSigmoid(-z * l)
        q += qij
        qs += qij * sij
        qAbs += abs(qij)
        qsAbs += abs(qij * sij)
        ds[i * columns + j] = Double(t * qij / R(batch))
      }
    }
    let invB = 1 / R(batch)
    return Reference(
      loss: Double(loss * invB), dT: Double(t * qs * invB), dB: Double(q * invB), ds: ds,
      dBScale: Double(qAbs * invB), dTScale: Double(t * qsAbs * invB))
  }

  func check<T: KernelScalar>(_: T.Type, tolerance: Double, sums: Double) throws {
    var random = SeededRandom(seed: 21, stream: .xorshift64Star)
    let shapes: [(Int, Int, Int?)] = [(1, 1, 0), (2, 2, 0), (7, 7, 0), (16, 16, 0), (17, 17, 0), (33, 33, 0),
                                      (100, 100, 0), (5, 12, 3), (5, 12, 7), (5, 12, nil), (12, 5, nil)]
    for (rows, columns, offset) in shapes {
      let stride = columns + (rows % 3)
      let s: [T] = random.row(T.self, rows * stride, -1, 1)
      for (tPrime, b) in [(SigLIP.defaultLogTemperature, SigLIP.defaultBias), (2.0, 0.5), (0.0, -2.71)] {
        let batch = rows + 1
        let ref = Self.reference(
          s.map { Double($0) }, rows: rows, columns: columns, stride: stride, tPrime: tPrime, b: b,
          offset: offset, batch: batch)
        try forEachLevel { level in
          let options = SigLIPOptions(
            positiveOffset: offset, batchSize: batch, execution: ExecutionOptions(isa: level))
          var ds = [T](repeating: .nan, count: rows * columns)
          let r = try s.withUnsafeBufferPointer { sp in
            try ds.withUnsafeMutableBufferPointer { d in
              try SigLIP.lossAndGradient(
                similarities: Rows(sp, rows: rows, columns: columns, rowStride: stride),
                logTemperature: T(tPrime), bias: T(b),
                gradient: MutableRows(d, rows: rows, columns: columns), options: options)
            }
          }
          let plain = try s.withUnsafeBufferPointer { sp in
            try SigLIP.loss(
              similarities: Rows(sp, rows: rows, columns: columns, rowStride: stride),
              logTemperature: T(tPrime), bias: T(b), options: options)
          }
          let context = "\(T.self) \(rows)x\(columns) offset \(String(describing: offset)) t' \(tPrime) b \(b) \(level)"
          XCTAssertEqual(Double(r.loss), ref.loss, accuracy: sums * abs(ref.loss), context)
          XCTAssertEqual(Double(try XCTUnwrap(r.biasGradient)), ref.dB, accuracy: sums * ref.dBScale + 1e-300, context)
          XCTAssertEqual(Double(try XCTUnwrap(r.logTemperatureGradient)), ref.dT, accuracy: sums * ref.dTScale + 1e-300, context)
          // Without the gradient: the same loss, no parameter gradients.
          XCTAssertEqual(plain.loss, r.loss, context)
          XCTAssertNil(plain.logTemperatureGradient, context)
          XCTAssertNil(plain.biasGradient, context)
          // dL/ds_ij = t sigmoid(u) / B with u = -z (t s + b) rounded in T: relative error up to
          // a few units plus |u| units from the rounding of u (sigmoid's condition number).
          let t = Foundation.exp(tPrime)
          for k in 0..<ds.count {
            let u = abs(t * Double(s[k / columns * stride + k % columns]) + b)
            XCTAssertEqual(Double(ds[k]), ref.ds[k], accuracy: tolerance * (8 + u) * abs(ref.ds[k]) + 1e-300, "\(context) k \(k)")
          }
        }
      }
    }
  }

  func testFloatAgainstReference() throws { try check(Float.self, tolerance: 2 * 0x1p-24, sums: 1e-6) }
  func testDoubleAgainstReference() throws { try check(Double.self, tolerance: 2 * 0x1p-53, sums: 1e-14) }

  /// `dL/ds`, `dL/dt'`, `dL/db` by central finite differences (Double, 6 x 6, upstream 0.7).
  func testGradientsByFiniteDifferences() throws {
    var random = SeededRandom(seed: 5, stream: .xorshift64Star)
    let n = 6
    let s = random.row(Double.self, n * n, -1, 1)
    let (tPrime, b, g) = (1.2, -1.5, 0.7)
    func loss(_ s: [Double], _ tp: Double, _ bb: Double) throws -> Double {
      try g * SigLIP.loss(similarities: s, columns: n, logTemperature: tp, bias: bb).loss
    }
    var ds = [Double](repeating: 0, count: n * n)
    let r = try s.withUnsafeBufferPointer { sp in
      try ds.withUnsafeMutableBufferPointer { d in
        try SigLIP.lossAndGradient(similarities: Rows(sp, rows: n, columns: n), logTemperature: tPrime, bias: b,
                                   lossGradient: g, gradient: MutableRows(d, rows: n, columns: n))
      }
    }
    let h = 1e-6
    let fdT = (try loss(s, tPrime + h, b) - loss(s, tPrime - h, b)) / (2 * h)
    let fdB = (try loss(s, tPrime, b + h) - loss(s, tPrime, b - h)) / (2 * h)
    XCTAssertEqual(try XCTUnwrap(r.logTemperatureGradient), fdT, accuracy: 1e-7 * max(1, abs(fdT)))
    XCTAssertEqual(try XCTUnwrap(r.biasGradient), fdB, accuracy: 1e-7 * max(1, abs(fdB)))
    for k in 0..<(n * n) {
      var sp = s, sm = s
      sp[k] += h
      sm[k] -= h
      let fd = (try loss(sp, tPrime, b) - loss(sm, tPrime, b)) / (2 * h)
      XCTAssertEqual(ds[k], fd, accuracy: 1e-7 * max(1, abs(fd)), "k \(k)")
    }
  }

  /// In place, threads, huge temperatures, NaN, one pair, a 1024 x 1024 block.
  func testEdgeCasesAndLargeBlocks() throws {
    var random = SeededRandom(seed: 17, stream: .xorshift64Star)
    // 1024 x 1024 in Float: threads 1 and 2 agree with the reference; the in-place gradient
    // equals the separate one.
    let n = 1024
    let s = random.row(Float.self, n * n, -1, 1)
    let ref = Self.reference(s.map { Double($0) }, rows: n, columns: n, stride: n,
                             tPrime: SigLIP.defaultLogTemperature, b: -10, offset: 0, batch: n)
    var results: [LossResult<Float>] = []
    for threads in [1, 2] {
      let options = SigLIPOptions(execution: ExecutionOptions(threads: threads))
      let (r, ds) = try SigLIP.lossAndGradient(similarities: s, columns: n, options: options)
      XCTAssertEqual(Double(r.loss), ref.loss, accuracy: 1e-6 * ref.loss)
      XCTAssertEqual(Double(try XCTUnwrap(r.biasGradient)), ref.dB, accuracy: 1e-6 * ref.dBScale)
      XCTAssertEqual(Double(try XCTUnwrap(r.logTemperatureGradient)), ref.dT, accuracy: 1e-6 * ref.dTScale)
      results.append(r)
      var inPlace = s
      let r2 = try inPlace.withUnsafeMutableBufferPointer { b in
        let rows = MutableRows(b, rows: n, columns: n)
        return try SigLIP.lossAndGradient(similarities: rows.readOnly, gradient: rows, options: options)
      }
      XCTAssertEqual(r2, r)
      XCTAssertEqual(inPlace, ds)
    }
    XCTAssertEqual(Double(results[0].loss), Double(results[1].loss), accuracy: 1e-12 * Double(results[0].loss))
    // Huge temperature: |l| ~ 1e13, no overflow.
    let small: [Float] = [0.5, -0.25, 0.125, 0.9]
    let hot = try SigLIP.lossAndGradient(similarities: small, columns: 2, logTemperature: 30, bias: 0).result
    let refHot = Self.reference(small.map { Double($0) }, rows: 2, columns: 2, stride: 2, tPrime: 30, b: 0, offset: 0, batch: 2)
    XCTAssertTrue(hot.loss.isFinite)
    XCTAssertEqual(Double(hot.loss), refHot.loss, accuracy: 1e-6 * refHot.loss)
    XCTAssertEqual(Double(try XCTUnwrap(hot.logTemperatureGradient)), refHot.dT, accuracy: 1e-6 * refHot.dTScale)
    // One pair: only the positive term.
    let one = try SigLIP.loss(similarities: [Float(0.3)], columns: 1)
    XCTAssertEqual(Double(one.loss), sigRefSoftplusExact(-(10 * 0.3 - 10)), accuracy: 1e-6)
    // NaN propagates; an empty block is 0 (no rows; also no columns, with buffers).
    XCTAssertTrue(try SigLIP.loss(similarities: [Float(0.1), .nan, 0.2, 0.3], columns: 2).loss.isNaN)
    XCTAssertEqual(try SigLIP.loss(similarities: [Float](), columns: 2).loss, 0)
    let empty = try SigLIP.lossAndGradient(similarities: [Float](), columns: 2)
    XCTAssertEqual(empty.result.loss, 0)
    XCTAssertEqual(empty.result.logTemperatureGradient, 0)
    XCTAssertEqual(empty.result.biasGradient, 0)
    XCTAssertEqual(empty.gradient, [])
    XCTAssertEqual(try SigLIP.loss(similarities: Rows(UnsafeBufferPointer<Float>(start: nil, count: 0), rows: 0, columns: 0)).loss, 0)
  }

  func testErrors() {
    let s: [Float] = [1, 2, 3, 4]
    assertThrows(invalid("columns")) { _ = try SigLIP.loss(similarities: s, columns: 3) }
    assertThrows(invalid("columns")) { _ = try SigLIP.lossAndGradient(similarities: s, columns: 0) }
    assertThrows(invalid("logTemperature")) { _ = try SigLIP.loss(similarities: s, columns: 2, logTemperature: .infinity) }
    assertThrows(invalid("logTemperature")) { _ = try SigLIP.loss(similarities: s, columns: 2, logTemperature: 100) }
    assertThrows(invalid("bias")) { _ = try SigLIP.loss(similarities: s, columns: 2, bias: .nan) }
    s.withUnsafeBufferPointer { sp in
      assertThrows(.bufferTooSmall(argument: "similarities", required: 6, actual: 4)) {
        _ = try SigLIP.loss(similarities: Rows(sp, rows: 2, columns: 3))
      }
      assertThrows(.strideTooSmall(argument: "similarities.rowStride", stride: 1, columns: 2)) {
        _ = try SigLIP.loss(similarities: Rows(sp, rows: 2, columns: 2, rowStride: 1))
      }
      assertThrows(invalid("batchSize")) {
        _ = try SigLIP.loss(similarities: Rows(sp, rows: 2, columns: 2), options: SigLIPOptions(batchSize: 0))
      }
    }
    // The gradient: its shape, its size, overlap; nothing written on a throw.
    var ds: [Float] = [7, 7, 7, 7, 7]
    assertUntouched(&ds, "gradient of a bad call") { ds in
      s.withUnsafeBufferPointer { sp in
        ds.withUnsafeMutableBufferPointer { d in
          let x = Rows(sp, rows: 2, columns: 2)
          assertThrows(invalid("gradient")) {
            _ = try SigLIP.lossAndGradient(similarities: x, gradient: MutableRows(d, rows: 1, columns: 2))
          }
          assertThrows(.bufferTooSmall(argument: "gradient", required: 4, actual: 3)) {
            _ = try SigLIP.lossAndGradient(
              similarities: x, gradient: MutableRows(UnsafeMutableBufferPointer(rebasing: d[0..<3]), rows: 2, columns: 2))
          }
          assertThrows(invalid("logTemperature")) {
            _ = try SigLIP.lossAndGradient(similarities: x, logTemperature: .nan, gradient: MutableRows(d, rows: 2, columns: 2))
          }
        }
      }
    }
    var gradient = [Float](repeating: 0, count: 3)
    var span = gradient.mutableSpan
    assertThrows(.countMismatch(argument: "gradient", expected: 4, actual: 3)) {
      _ = try SigLIP.lossAndGradient(similarities: s.span, columns: 2, gradient: &span)
    }
    var overlapping: [Float] = [1, 2, 3, 4, 5]
    assertUntouched(&overlapping, "partially overlapping gradient") { buffer in
      buffer.withUnsafeMutableBufferPointer { b in
        assertThrows(invalid("gradient")) {
          _ = try SigLIP.lossAndGradient(
            similarities: Rows(UnsafeBufferPointer(rebasing: b[0..<4]), rows: 2, columns: 2),
            gradient: MutableRows(UnsafeMutableBufferPointer(rebasing: b[1..<5]), rows: 2, columns: 2))
        }
        // The same start with another row stride is not in place: row 1 of the gradient would
        // overwrite similarities still to be read.
        assertThrows(invalid("gradient")) {
          _ = try SigLIP.lossAndGradient(
            similarities: Rows(UnsafeBufferPointer(b), rows: 2, columns: 2, rowStride: 3),
            gradient: MutableRows(b, rows: 2, columns: 2))
        }
        // The gradient ending inside the similarities.
        assertThrows(invalid("gradient")) {
          _ = try SigLIP.lossAndGradient(
            similarities: Rows(UnsafeBufferPointer(rebasing: b[1..<5]), rows: 2, columns: 2),
            gradient: MutableRows(UnsafeMutableBufferPointer(rebasing: b[0..<4]), rows: 2, columns: 2))
        }
      }
    }
  }

  /// Review regression: offsets -1 and 5 on a 2 x 2 block were accepted silently (no row or
  /// only some rows then had a positive pair). Every row's positive pair `i + positiveOffset`
  /// must be a column of the block: `0...(columns - rows)`; outside it every form throws
  /// `invalidArgument("positiveOffset")` and writes nothing.
  func testPositiveOffsetOutsideTheBlockThrows() throws {
    let square: [Float] = [0.5, -0.25, 0.125, 0.9]
    for offset in [-1, 1, 5, Int.min, Int.max] {
      let options = SigLIPOptions(positiveOffset: offset)
      assertThrows(invalid("positiveOffset"), "2x2 offset \(offset)") {
        _ = try SigLIP.loss(similarities: square, columns: 2, options: options)
      }
      assertThrows(invalid("positiveOffset"), "2x2 offset \(offset)") {
        _ = try SigLIP.lossAndGradient(similarities: square, columns: 2, options: options)
      }
      var gradient: [Float] = [7, 7, 7, 7]
      assertUntouched(&gradient, "2x2 offset \(offset)") { gradient in
        var span = gradient.mutableSpan
        assertThrows(invalid("positiveOffset"), "Span, offset \(offset)") {
          _ = try SigLIP.lossAndGradient(similarities: square.span, columns: 2, gradient: &span, options: options)
        }
      }
      var inPlace = square
      assertUntouched(&inPlace, "in place, offset \(offset)") { values in
        values.withUnsafeMutableBufferPointer { b in
          let rows = MutableRows(b, rows: 2, columns: 2)
          assertThrows(invalid("positiveOffset"), "buffers, offset \(offset)") {
            _ = try SigLIP.lossAndGradient(similarities: rows.readOnly, gradient: rows, options: options)
          }
        }
      }
    }
    // 3 x 5: 0...2 are valid, -1 and 3 are not; 5 x 3 (more images than texts): only nil.
    var random = SeededRandom(seed: 3, stream: .xorshift64Star)
    let wide = random.row(Double.self, 15, -1, 1)
    for offset in 0...2 {
      let r = try SigLIP.loss(similarities: wide, columns: 5, options: SigLIPOptions(positiveOffset: offset))
      let ref = Self.reference(wide, rows: 3, columns: 5, stride: 5, tPrime: SigLIP.defaultLogTemperature,
                               b: SigLIP.defaultBias, offset: offset, batch: 3)
      XCTAssertEqual(r.loss, ref.loss, accuracy: 1e-14 * ref.loss, "3x5 offset \(offset)")
    }
    for offset in [-1, 3] {
      assertThrows(invalid("positiveOffset", reasonContaining: "0...2"), "3x5 offset \(offset)") {
        _ = try SigLIP.loss(similarities: wide, columns: 5, options: SigLIPOptions(positiveOffset: offset))
      }
    }
    for offset in [-2, 0] {
      assertThrows(invalid("positiveOffset", reasonContaining: "nil"), "5x3 offset \(offset)") {
        _ = try SigLIP.lossAndGradient(similarities: wide, columns: 3, options: SigLIPOptions(positiveOffset: offset))
      }
    }
    XCTAssertNoThrow(try SigLIP.loss(similarities: wide, columns: 3, options: SigLIPOptions(positiveOffset: nil)))
  }
}
