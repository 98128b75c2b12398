// Prefetching the next row: a call with several rows runs the three-pass sum pass and the
// cross-entropy sum pass in their prefetching variants (`sumExpPrefetchPass`,
// `storeExpPrefetchPass`: separate loops) for every row but each thread's last, and a call with
// one row runs the plain passes. The outputs must be bitwise the same either way, for every
// algorithm, level and type, with rows around the vector widths and the 2^16-element blocks.

import SoftmaxKernels
import XCTest

final class RowPrefetchTests: SoftmaxKernelsTestCase {
  static let columnCounts = [1, 15, 16, 17, 64, 100, 1000, 4097, 70001]

  func testSoftmaxFamilyRowsAreBitwiseTheirOneRowCalls() throws {
    try forEachScalarType { type in try softmaxFamily(type) }
  }

  func testCrossEntropyRowsAreBitwiseTheirOneRowCalls() throws {
    try forEachScalarType { type in try crossEntropy(type) }
  }

  private func softmaxFamily<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 4711)
    for columns in Self.columnCounts {
      let rows = 4
      let x: [T] = rng.row(T.self, rows * columns, -30, 30)
      try forEachAlgorithmAndLevel { options in
        // One thread, so that every row but the last prefetches its successor.
        var options = options
        options.execution.threads = 1
        let batch = (
          try Softmax.forward(x, columns: columns, options: options),
          try LogSoftmax.forward(x, columns: columns, options: options),
          try LogSumExp.forward(x, columns: columns, options: options))
        for r in 0..<rows {
          let row = Array(x[(r * columns)..<((r + 1) * columns)])
          let alone = (
            try Softmax.forward(row, options: options),
            try LogSoftmax.forward(row, options: options),
            try LogSumExp.forward(row, options: options))
          let cut = { (a: [T]) in Array(a[(r * columns)..<((r + 1) * columns)]) }
          for (name, a, b) in [
            ("softmax", cut(batch.0), alone.0), ("logSoftmax", cut(batch.1), alone.1),
            ("logSumExp", [batch.2[r]], [alone.2]),
          ] {
            if let i = firstDifference(a, b) {
              XCTFail("\(name) \(T.self) columns \(columns) row \(r) \(describe(options)): index \(i), \(a[i]) vs \(b[i])")
              return
            }
          }
        }
      }
    }
  }

  private func crossEntropy<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 815)
    for columns in Self.columnCounts {
      let rows = 4
      let x: [T] = rng.row(T.self, rows * columns, -30, 30)
      let targets = (0..<rows).map { ($0 * 7919) % columns }
      try forEachLevel { level in
        var options = CrossEntropyOptions(reduction: .none, execution: ExecutionOptions(isa: level))
        options.execution.threads = 1
        let batch = try CrossEntropy.lossAndGradient(logits: x, targets: targets, columns: columns, options: options)
        let batchRows = try CrossEntropy.rowLosses(logits: x, targets: targets, columns: columns, options: options)
        for r in 0..<rows {
          let row = Array(x[(r * columns)..<((r + 1) * columns)])
          let alone = try CrossEntropy.lossAndGradient(logits: row, targets: [targets[r]], columns: columns, options: options)
          XCTAssertTrue(identical(batchRows[r], alone.result.loss), "\(T.self) columns \(columns) row \(r) \(level): loss")
          if let i = firstDifference(Array(batch.gradient[(r * columns)..<((r + 1) * columns)]), alone.gradient) {
            XCTFail("\(T.self) columns \(columns) row \(r) \(level): gradient index \(i)")
            return
          }
        }
      }
    }
  }
}
