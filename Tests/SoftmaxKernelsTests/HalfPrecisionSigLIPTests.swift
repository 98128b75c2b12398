// The SigLIP loss of 16-bit similarities (Float16, BFloat16): bitwise the Float kernel on the
// widened similarities, every level, 1 and 2 threads, in place, errors.

import SoftmaxKernels
import XCTest

final class HalfPrecisionSigLIPTests: SoftmaxKernelsTestCase {
  /// Loss and the three gradients of 16-bit similarities: the `Float` results bitwise those of
  /// the `Float` call on the widened similarities, the similarity gradient that gradient rounded
  /// once (also in place), for blocks with and without positives, strided rows, lengths around
  /// the vector width.
  func testBitwiseTheFloatKernelOnWidenedSimilarities() throws {
    var rng = SeededRandom(seed: 3013)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for (rows, columns, stride, offset) in [(1, 1, 1, 0), (3, 17, 20, 5), (16, 16, 16, 0), (5, 300, 301, nil), (40, 100, 100, 60)] as [(Int, Int, Int, Int?)] {
          let s = halfRow(H.self, rows * stride, range: 1, quantum: 256, &rng)
          let sf = s.map(\.float)
          for threads in [1, 2] {
            let options = SigLIPOptions(positiveOffset: offset, execution: ExecutionOptions(threads: threads, isa: level))
            let context = "\(rows)x\(columns) stride \(stride) offset \(String(describing: offset)) threads \(threads)"
            var wantGradient = [Float](repeating: 0, count: rows * stride)
            var gradient = [H](repeating: H(Float(9)), count: rows * stride)
            var inPlace = s
            let want = try sf.withUnsafeBufferPointer { sp in
              try wantGradient.withUnsafeMutableBufferPointer {
                try SigLIP.lossAndGradient(
                  similarities: Rows(sp, rows: rows, columns: columns, rowStride: stride), logTemperature: 2.1, bias: -7,
                  lossGradient: 0.5, gradient: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
              }
            }
            let (got, loss) = try s.withUnsafeBufferPointer { sp in
              let block = Rows(sp, rows: rows, columns: columns, rowStride: stride)
              let got = try gradient.withUnsafeMutableBufferPointer {
                try SigLIP.lossAndGradient(
                  similarities: block, logTemperature: 2.1, bias: -7, lossGradient: 0.5,
                  gradient: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
              }
              return (got, try SigLIP.loss(similarities: block, logTemperature: 2.1, bias: -7, options: options))
            }
            let inPlaceResult = try inPlace.withUnsafeMutableBufferPointer { p in
              let block = MutableRows(p, rows: rows, columns: columns, rowStride: stride)
              return try SigLIP.lossAndGradient(
                similarities: block.readOnly, logTemperature: 2.1, bias: -7, lossGradient: 0.5, gradient: block, options: options)
            }
            XCTAssertEqual(got.loss.bitPattern, want.loss.bitPattern, context)
            XCTAssertEqual(loss.loss.bitPattern, want.loss.bitPattern, context)
            XCTAssertEqual(inPlaceResult.loss.bitPattern, want.loss.bitPattern, context)
            XCTAssertEqual(got.logTemperatureGradient?.bitPattern, want.logTemperatureGradient?.bitPattern, context)
            XCTAssertEqual(got.biasGradient?.bitPattern, want.biasGradient?.bitPattern, context)
            for r in 0..<rows {
              for c in 0..<stride {
                let i = r * stride + c
                if c < columns {
                  XCTAssertEqual(gradient[i].bits, H(wantGradient[i]).bits, "\(context) [\(r), \(c)]")
                  XCTAssertEqual(inPlace[i].bits, H(wantGradient[i]).bits, "\(context) in place [\(r), \(c)]")
                } else {
                  XCTAssertEqual(gradient[i].float, 9, "\(context) padding")
                }
              }
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
      let s = [H](repeating: H(Float(0.5)), count: 12)
      var gradient = [H](repeating: H(Float(9)), count: 12)
      s.withUnsafeBufferPointer { sp in
        gradient.withUnsafeMutableBufferPointer { g in
          let block = Rows(sp, rows: 3, columns: 4)
          assertThrows(invalid("logTemperature")) {
            try SigLIP.lossAndGradient(similarities: block, logTemperature: 100, gradient: MutableRows(g, rows: 3, columns: 4))
          }
          assertThrows(invalid("positiveOffset")) {
            try SigLIP.lossAndGradient(
              similarities: block, gradient: MutableRows(g, rows: 3, columns: 4), options: SigLIPOptions(positiveOffset: 2))
          }
          assertThrows(invalid("gradient")) {
            try SigLIP.lossAndGradient(similarities: block, gradient: MutableRows(g, rows: 4, columns: 3))
          }
        }
      }
      XCTAssertEqual(gradient.map(\.float), [Float](repeating: 9, count: 12))
    }
  }
}
