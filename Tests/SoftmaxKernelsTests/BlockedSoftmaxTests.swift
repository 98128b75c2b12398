// Softmax rows longer than one block (2^16 entries), which the three-pass algorithms normalise
// block by block (each block by its own maximum, rescaled in the last pass): accuracy against
// the exact softmax where the blocks' maxima lie far apart (normal, subnormal and zero scales),
// masked blocks, the maximum in the last, partial block, and special values in one block; at
// every level, whole rows and rows split over threads, reload (scratch row or output) and
// recompute bitwise the same.

import SoftmaxKernels
import XCTest

final class BlockedSoftmaxTests: SoftmaxKernelsTestCase {
  static let block = 1 << 16
  /// Three full blocks and a partial fourth.
  static let columns = 3 * block + 1_001

  /// A row whose block `k` is uniform in [-w, w) (`w = widths[k]`, 3 when not given) shifted by
  /// `offsets[k]` (`-inf`: the block is masked).
  static func row<T: KernelScalar>(_: T.Type, offsets: [Double], widths: [Double]?, seed: UInt64) -> [T] {
    var rng = SeededRandom(seed: seed)
    return (0..<columns).map { i in
      let shift = offsets[i / block], w = widths?[i / block] ?? 3
      return shift == -.infinity ? -.infinity : T(rng.uniform(-w, w) + shift)
    }
  }

  /// Rows whose blocks lie far apart. Float scales e^(m_c - M) / S of about e^-40 (normal),
  /// e^-95 (subnormal: those outputs are below the 1e-30 floor and may flush) and e^-200 (0).
  /// The last shape (an outside review, 2026-12-01): blocks 0 and 2 in [0, 200), blocks 1 and
  /// 3 near 500, so `x_i - M` is near -500 (half an ulp: 2.8e-14), `x_i - m_c` near -200 (1.4e-14)
  /// and `m_c - M` near -300 (2.8e-14). Rounding `m_c - M` in a Double row would add up to
  /// 1.4e-14 relative beyond the rounding of `x_i - M`; the outputs, near e^-500, are normal
  /// Double numbers.
  static let shapes: [(name: String, offsets: [Double], widths: [Double]?)] = [
    ("maximum in the partial last block", [0, -40, -95, 5], nil),
    ("maximum in the first block", [8, -200, 0, -40], nil),
    ("a masked block", [0, -.infinity, 1, -2], nil),
    ("two masked blocks and a far one", [-.infinity, -500, -.infinity, -520], nil),
    ("all blocks alike", [0, 0, 0, 0], nil),
    ("far above zero", [1e4, 1e4 - 30, 1e4 + 2, 1e4 - 1], nil),
    ("wide blocks hundreds below the maximum", [100, 500, 100, 499.5], [100, 0.5, 100, 0.5]),
  ]

  /// The smallest reference output whose relative error is checked: 1e-30 for Float (as
  /// everywhere), 1e-290 for Double (the normal range, so blocks hundreds below the maximum
  /// count).
  static func floor<T: KernelScalar>(_: T.Type) -> Double { T.self == Float.self ? 1e-30 : 1e-290 }

  func testBlocksFarApart() {
    forEachScalarType { type in check(type) }
  }

  private func check<T: KernelScalar>(_: T.Type) {
    var worst = Worst()
    defer { print("blocked softmax, \(T.self): worst excess \(worst) (bound \(PropertyBounds.softmax(T.self)))") }
    for (index, shape) in Self.shapes.enumerated() {
      let x: [T] = Self.row(T.self, offsets: shape.offsets, widths: shape.widths, seed: 900 + UInt64(index))
      let ref = Reference.softmax(x.doubles)
      forEachLevel { level in
        var first: [T]?
        for algorithm in [SoftmaxAlgorithm.threePassReload, .threePassRecompute] {
          for threads in [1, 2] {
            for streaming in [false, true] {
              let options = SoftmaxOptions(
                algorithm: algorithm, execution: ExecutionOptions(threads: threads, isa: level, streamingStores: streaming))
              let context = "\(shape.name), \(algorithm), \(level), \(threads) threads, streaming \(streaming)"
              guard let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) })
              else { return }
              let (_, excess) = softmaxErrors(y, ref, inputs: x.doubles, floor: Self.floor(T.self))
              if excess.error > worst.error { worst = excess }
              XCTAssertLessThanOrEqual(excess.error, PropertyBounds.softmax(T.self), "\(context): \(excess)")
              XCTAssertEqual(sumError(y), 0, accuracy: PropertyBounds.softmaxSum(T.self), context)
              // Every way (reload into a scratch row or the output, recompute), every thread
              // count: the same bits.
              if let first {
                XCTAssertNil(firstDifference(first, y), "\(context) vs the first way")
              } else {
                first = y
              }
            }
          }
        }
      }
    }
  }

  /// In place, the special rows whose result is not NaN (a single `+inf` with
  /// `positiveInfinityIsLimit`, an all `-inf` row with `fullyMaskedRowIsZero`, `+inf` in a
  /// masked block) give the out-of-place result: every block's exponentials are known before
  /// the row is known to be special, so they must not overwrite the input (an outside review
  /// found NaN rows there, 2026-12-01).
  func testInPlaceSpecialRows() {
    forEachScalarType { type in checkInPlace(type) }
  }

  private func checkInPlace<T: KernelScalar>(_: T.Type) {
    let n = Self.block + 1
    var rows: [(String, [T])] = []
    var oneInf = [T](repeating: 0, count: n)
    oneInf[n - 1] = .infinity
    rows.append(("+inf last", oneInf))
    var first = [T](repeating: 0, count: n)
    first[0] = .infinity
    rows.append(("+inf first", first))
    rows.append(("all -inf", [T](repeating: -.infinity, count: n)))
    var masked = [T](repeating: -.infinity, count: 3 * Self.block)
    masked[Self.block + 5] = .infinity
    rows.append(("+inf in a masked row", masked))
    for (label, x) in rows {
      for limit in [false, true] {
        for zero in [false, true] {
          let expected = Reference.softmax(x.doubles, fullyMaskedRowIsZero: zero, positiveInfinityIsLimit: limit)
          forEachLevel { level in
            for algorithm in [SoftmaxAlgorithm.threePassReload, .threePassRecompute, .automatic] {
              for (threads, streaming) in [(1, false), (2, false), (1, true), (1, nil as Bool?)] {
                let options = SoftmaxOptions(
                  algorithm: algorithm, fullyMaskedRowIsZero: zero, positiveInfinityIsLimit: limit,
                  execution: ExecutionOptions(threads: threads, isa: level, streamingStores: streaming))
                var y = x
                let context = "\(label) in place, limit \(limit), zero \(zero), \(algorithm), \(level), \(threads) threads, streaming \(String(describing: streaming))"
                let done: Void? = y.withUnsafeMutableBufferPointer { b in
                  let m = MutableRows(b, rows: 1, columns: x.count)
                  return noThrow(context) { () throws(SoftmaxKernelsError) in
                    try Softmax.forward(m.readOnly, into: m, options: options)
                  }
                }
                guard done != nil else { return }
                XCTAssertTrue(
                  zip(y, expected).allSatisfy { Double($0).isNaN ? $1.isNaN : Double($0) == $1 }, context)
              }
            }
          }
        }
      }
    }
  }

  /// A NaN in one block makes the row NaN; a `+inf` makes it the limit (or NaN) as for one
  /// block; the log-sum-exp written with the softmax matches.
  func testSpecialValuesInOneBlock() {
    let base: [Float] = Self.row(Float.self, offsets: [0, -40, 2, 1], widths: nil, seed: 950)
    for (label, index, value) in [("NaN", 2 * Self.block + 7, Float.nan), ("+inf", Self.block + 3, .infinity)] {
      var x = base
      x[index] = value
      for limit in [false, true] {
        let expected = Reference.softmax(x.doubles, positiveInfinityIsLimit: limit)
        forEachLevel { level in
          for algorithm in [SoftmaxAlgorithm.threePassReload, .threePassRecompute] {
            let options = SoftmaxOptions(
              algorithm: algorithm, positiveInfinityIsLimit: limit, execution: ExecutionOptions(threads: 2, isa: level))
            let context = "\(label), limit \(limit), \(algorithm), \(level)"
            guard let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) })
            else { return }
            XCTAssertTrue(
              zip(y, expected).allSatisfy { Double($0).isNaN ? $1.isNaN : Double($0) == $1 }, context)
          }
        }
      }
    }
  }
}
