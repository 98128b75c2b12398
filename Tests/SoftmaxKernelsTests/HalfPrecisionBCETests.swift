// Binary cross-entropy of 16-bit logits (Float16, BFloat16): every option against the Float
// kernel on the widened logits (bitwise), in place, errors; every level, 1 and 2 threads.

import SoftmaxKernels
import XCTest

final class HalfPrecisionBCETests: SoftmaxKernelsTestCase {
  /// Loss, per-element losses, gradient and backward of 16-bit logits: the losses bitwise those
  /// of the `Float` call on the widened logits, the gradients those rounded once, for weights,
  /// positive weights (short rows read from a tile, long rows split at row ends), reductions,
  /// lengths around the vector width, levels and threads.
  func testBitwiseTheFloatKernelOnWidenedLogits() throws {
    var rng = SeededRandom(seed: 3012)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for (n, columns) in [(1, 1), (15, 5), (16, 16), (17, 17), (100, 20), (1000, 500), (5000, 1000), (4099, 4099)] {
          var x = halfRow(H.self, n, range: 30, quantum: 16, &rng)
          if n > 3 { (x[1], x[2]) = (H(Float.infinity), H(-Float.infinity)) }
          let xf = x.map(\.float)
          let y = (0..<n).map { _ in [Float(0), 1, 0.3][Int.random(in: 0..<3, using: &rng)] }
          let w = (0..<n).map { _ in Float.random(in: 0.5...2, using: &rng) }
          let p = (0..<columns).map { _ in Float.random(in: 0.5...4, using: &rng) }
          let upstream = (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
          for threads in [1, 2] {
            for (weight, posWeight) in [(nil, nil), (w, nil), (nil, p), (w, p)] as [([Float]?, [Float]?)] {
              for reduction in [LossReduction.mean, .sum] {
                let options = BinaryCrossEntropyOptions(
                  reduction: reduction, execution: ExecutionOptions(threads: threads, isa: level))
                let context = "n \(n) threads \(threads) weight \(weight != nil) posWeight \(posWeight != nil) \(reduction)"
                let (want, wantGradient) = try BinaryCrossEntropy.lossAndGradient(
                  logits: xf, targets: y, weight: weight, posWeight: posWeight, lossGradient: 0.75, options: options)
                let (got, gradient) = try BinaryCrossEntropy.lossAndGradient(
                  logits: x, targets: y, weight: weight, posWeight: posWeight, lossGradient: 0.75, options: options)
                XCTAssertEqual(got.loss.bitPattern, want.loss.bitPattern, context)
                XCTAssertEqual(
                  try BinaryCrossEntropy.loss(logits: x, targets: y, weight: weight, posWeight: posWeight, options: options).loss.bitPattern,
                  want.loss.bitPattern, context)
                XCTAssertEqual(gradient.map(\.bits), wantGradient.map { H($0).bits }, context)
                // In place over the logits.
                var inPlace = x
                let inPlaceResult = try inPlace.withUnsafeMutableBufferPointer { g in
                  try y.withUnsafeBufferPointer { yp in
                    try BinaryCrossEntropy.lossAndGradient(
                      logits: UnsafeBufferPointer(g), targets: yp, lossGradient: 0.75, gradient: g,
                      options: options)
                  }
                }
                let plain = try BinaryCrossEntropy.lossAndGradient(logits: xf, targets: y, lossGradient: 0.75, options: options)
                XCTAssertEqual(inPlaceResult.loss.bitPattern, plain.result.loss.bitPattern, context)
                XCTAssertEqual(inPlace.map(\.bits), plain.gradient.map { H($0).bits }, context + " in place")
              }
              let options = BinaryCrossEntropyOptions(execution: ExecutionOptions(threads: threads, isa: level))
              let rowLosses = try BinaryCrossEntropy.rowLosses(logits: x, targets: y, weight: weight, posWeight: posWeight, options: options)
              let wantRowLosses = try BinaryCrossEntropy.rowLosses(logits: xf, targets: y, weight: weight, posWeight: posWeight, options: options)
              XCTAssertEqual(rowLosses.map(\.bitPattern), wantRowLosses.map(\.bitPattern))
              var backward = [H](repeating: H(Float.nan), count: n)
              try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeBufferPointer { yp in
                  try upstream.withUnsafeBufferPointer { gp in
                    try backward.withUnsafeMutableBufferPointer { dx in
                      try withOptionalBuffer(weight) { wp in
                        try withOptionalBuffer(posWeight) { pp in
                          try BinaryCrossEntropy.backward(
                            logits: xp, targets: yp, weight: wp, posWeight: pp, rowLossGradients: gp, gradient: dx,
                            options: options)
                        }
                      }
                    }
                  }
                }
              }
              let wantBackward = try BinaryCrossEntropy.backward(
                logits: xf, targets: y, weight: weight, posWeight: posWeight, rowLossGradients: upstream, options: options)
              XCTAssertEqual(backward.map(\.bits), wantBackward.map { H($0).bits })
            }
          }
        }
      }
    }
  }

  /// Bad arguments throw an error naming the argument, and nothing is written.
  func testErrors() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x = [H](repeating: H(Float(1)), count: 32)
      let y = [Float](repeating: 1, count: 32)
      var gradient = [H](repeating: H(Float(5)), count: 32)
      x.withUnsafeBufferPointer { xp in
        gradient.withUnsafeMutableBufferPointer { g in
          y.withUnsafeBufferPointer { yp in
            let bad = [Float](repeating: 1.5, count: 32)
            bad.withUnsafeBufferPointer { bp in
              assertThrows(invalid("targets", reasonContaining: "outside")) {
                try BinaryCrossEntropy.lossAndGradient(logits: xp, targets: bp, gradient: g)
              }
            }
            assertThrows(.countMismatch(argument: "targets", expected: 32, actual: 31)) {
              try BinaryCrossEntropy.lossAndGradient(
                logits: xp, targets: UnsafeBufferPointer(rebasing: yp[0..<31]), gradient: g)
            }
            [Float](repeating: 1, count: 3).withUnsafeBufferPointer { pp in
              assertThrows(invalid("posWeight")) {
                try BinaryCrossEntropy.lossAndGradient(logits: xp, targets: yp, posWeight: pp, gradient: g)
              }
            }
          }
        }
      }
      XCTAssertEqual(gradient.map(\.float), [Float](repeating: 5, count: 32))
      // A Float output over the 16-bit logits is never in place.
      var raw = [H](repeating: H(Float(1)), count: 64)
      y.withUnsafeBufferPointer { yp in
        raw.withUnsafeMutableBufferPointer { p in
          let asFloat = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: Float.self, capacity: 32)
          defer { _ = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: H.self, capacity: 64) }
          assertThrows(invalid("rowLosses", reasonContaining: "overlaps")) {
            try BinaryCrossEntropy.rowLosses(
              logits: UnsafeBufferPointer(rebasing: p[0..<32]), targets: yp, into: UnsafeMutableBufferPointer(start: asFloat, count: 32))
          }
        }
      }
      XCTAssertEqual(raw.map(\.float), [Float](repeating: 1, count: 64))
    }
  }
}
