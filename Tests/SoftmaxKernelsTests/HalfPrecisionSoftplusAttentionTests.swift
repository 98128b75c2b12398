// Softplus attention (LSSA / LSSAR) of 16-bit scores (Float16, BFloat16): bitwise the Float
// kernel on the widened scores, rounded once; every level, causal or not, threads, in place.

import SoftmaxKernels
import XCTest

final class HalfPrecisionSoftplusAttentionTests: SoftmaxKernelsTestCase {
  /// Forward and backward: the `Float` outputs bitwise those of the `Float` call on the widened
  /// inputs, the 16-bit outputs those rounded once (a mutation that rounds an intermediate
  /// fails), for LSSA and LSSAR, causal and not, strided rows, lengths around the vector width,
  /// 1 and 2 threads; forward in place.
  func testBitwiseTheFloatKernelOnWidenedScores() throws {
    var rng = SeededRandom(seed: 3014)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let optionSets: [(String, (ExecutionOptions) -> SoftplusAttentionOptions)] = [
        ("LSSA causal", { SoftplusAttentionOptions(scale: .lengthDependent(headDimension: 64), execution: $0) }),
        ("LSSA", { SoftplusAttentionOptions(scale: .constant(0.7), causal: false, execution: $0) }),
        ("LSSAR causal", {
          SoftplusAttentionOptions(scale: .lengthDependent(headDimension: 64), queryOffset: 2, reweighting: .init(power: 3), execution: $0)
        }),
        ("LSSAR p15", { SoftplusAttentionOptions(scale: .constant(1.5), causal: false, reweighting: .init(power: 15), execution: $0) }),
      ]
      try forEachLevel { level in
        for (rows, columns, stride) in [(1, 1, 1), (5, 17, 20), (16, 16, 16), (3, 300, 307)] {
          let x = halfRow(H.self, rows * stride, range: 4, quantum: 64, &rng)
          let h = halfRow(H.self, rows * stride, range: 1, quantum: 256, &rng)
          for threads in [1, 2] {
            for (name, make) in optionSets {
              let options = make(ExecutionOptions(threads: threads, isa: level))
              let context = "\(name) \(rows)x\(columns) stride \(stride) threads \(threads)"
              func shape<E>(_ b: UnsafeBufferPointer<E>) -> Rows<E> { Rows(b, rows: rows, columns: columns, rowStride: stride) }
              func shape<E>(_ b: UnsafeMutableBufferPointer<E>) -> MutableRows<E> {
                MutableRows(b, rows: rows, columns: columns, rowStride: stride)
              }
              // Float reference runs on the widened values.
              var want = [Float](repeating: 0, count: rows * stride)
              try x.map(\.float).withUnsafeBufferPointer { xp in
                try want.withUnsafeMutableBufferPointer { try SoftplusAttention.forward(shape(xp), into: shape($0), options: options) }
              }
              var half = [H](repeating: H(Float(0)), count: rows * stride)
              var float = [Float](repeating: 0, count: rows * stride)
              try x.withUnsafeBufferPointer { xp in
                try half.withUnsafeMutableBufferPointer { try SoftplusAttention.forward(shape(xp), into: shape($0), options: options) }
                try float.withUnsafeMutableBufferPointer { try SoftplusAttention.forward(shape(xp), into: shape($0), options: options) }
              }
              var inPlace = x
              try inPlace.withUnsafeMutableBufferPointer { p in
                try SoftplusAttention.forward(shape(p).readOnly, into: shape(p), options: options)
              }
              // Backward from the 16-bit output.
              var wantGradient = [Float](repeating: 0, count: rows * stride)
              try x.map(\.float).withUnsafeBufferPointer { xp in
                try half.map(\.float).withUnsafeBufferPointer { yp in
                  try h.map(\.float).withUnsafeBufferPointer { hp in
                    try wantGradient.withUnsafeMutableBufferPointer {
                      try SoftplusAttention.backward(
                        input: shape(xp), output: shape(yp), outputGradient: shape(hp), into: shape($0), options: options)
                    }
                  }
                }
              }
              var halfGradient = [H](repeating: H(Float(0)), count: rows * stride)
              var floatGradient = [Float](repeating: 0, count: rows * stride)
              try x.withUnsafeBufferPointer { xp in
                try half.withUnsafeBufferPointer { yp in
                  try h.withUnsafeBufferPointer { hp in
                    try halfGradient.withUnsafeMutableBufferPointer {
                      try SoftplusAttention.backward(
                        input: shape(xp), output: shape(yp), outputGradient: shape(hp), into: shape($0), options: options)
                    }
                    try floatGradient.withUnsafeMutableBufferPointer {
                      try SoftplusAttention.backward(
                        input: shape(xp), output: shape(yp), outputGradient: shape(hp), into: shape($0), options: options)
                    }
                  }
                }
              }
              var failures = 0
              for r in 0..<rows {
                for c in 0..<columns where failures < 5 {
                  let i = r * stride + c
                  let ok = float[i].bitPattern == want[i].bitPattern && half[i].bits == H(want[i]).bits
                    && inPlace[i].bits == H(want[i]).bits && floatGradient[i].bitPattern == wantGradient[i].bitPattern
                    && halfGradient[i].bits == H(wantGradient[i]).bits
                  if !ok {
                    failures += 1
                    XCTFail("\(context) [\(r), \(c)]: weights \(float[i]) \(half[i].float) \(inPlace[i].float) want \(want[i]); gradient \(floatGradient[i]) \(halfGradient[i].float) want \(wantGradient[i])")
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// Errors name the argument and write nothing; a Float gradient overlapping the 16-bit
  /// scores throws.
  func testErrors() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x = [H](repeating: H(Float(0.5)), count: 12)
      var out = [H](repeating: H(Float(9)), count: 12)
      x.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { o in
          assertThrows(invalid("epsilon")) {
            try SoftplusAttention.forward(
              Rows(xp, rows: 3, columns: 4), into: MutableRows(o, rows: 3, columns: 4),
              options: SoftplusAttentionOptions(scale: .constant(1), epsilon: -1))
          }
          assertThrows(invalid("inputGradient")) {
            try SoftplusAttention.backward(
              input: Rows(xp, rows: 3, columns: 4), output: Rows(xp, rows: 3, columns: 4),
              outputGradient: Rows(xp, rows: 3, columns: 4), into: MutableRows(o, rows: 4, columns: 3))
          }
        }
      }
      XCTAssertEqual(out.map(\.float), [Float](repeating: 9, count: 12))
      var raw = [H](repeating: H(Float(0.5)), count: 64)
      raw.withUnsafeMutableBufferPointer { p in
        let asFloat = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: Float.self, capacity: 32)
        defer { _ = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: H.self, capacity: 64) }
        let scores = Rows(UnsafeBufferPointer(rebasing: p[0..<32]), rows: 4, columns: 8)
        assertThrows(invalid("inputGradient")) {
          try SoftplusAttention.backward(
            input: scores, output: scores, outputGradient: scores,
            into: MutableRows(UnsafeMutableBufferPointer(start: asFloat, count: 32), rows: 4, columns: 8))
        }
      }
      XCTAssertEqual(raw.map(\.float), [Float](repeating: 0.5, count: 64))
    }
  }
}
