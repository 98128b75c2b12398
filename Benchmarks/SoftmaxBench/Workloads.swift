// The workloads of ../shared/PERF.md (W1-W6) and the other loss kernels, as callable cells.

import Foundation
import SoftmaxKernels

/// One workload: a shape, a kernel call, and a check of its output.
struct Workload {
  /// The catalog kernel the workload measures.
  let kernel: CatalogKernel
  let id: String
  let description: String
  let rows: Int
  let columns: Int
  /// Bytes per element by PERF.md's convention (4 read + 4 written; 4 for a loss that only reads).
  let bytesPerElement: Int
  /// The roofline pattern this workload is compared with.
  let bound: String
  /// The softmax algorithms it is run with; `[nil]` for kernels without that choice.
  let algorithms: [SoftmaxAlgorithm?]
  /// Runs the kernel once on `x` (input) and `y` (output or gradient).
  let run: (_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
            _ algorithm: SoftmaxAlgorithm?, _ threads: Int, _ isa: ISALevel) throws -> Void
  /// The largest error of the output found by a check in Double (row sums, or sampled rows'
  /// losses against a float64 reference).
  let check: (_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
              _ threads: Int, _ isa: ISALevel) throws -> Double
}

/// Rows sampled for the output checks.
func sampleRows(_ rows: Int) -> [Int] {
  rows <= 64 ? Array(0..<rows) : Array(stride(from: 0, to: rows, by: rows / 64))
}

/// Largest |sum - 1| of sampled rows: of `y` (softmax) or of `exp(y)` (log-softmax).
func rowSumError(_ y: UnsafePointer<Float>, rows: Int, columns: Int, log: Bool) -> Double {
  var worst = 0.0
  for r in sampleRows(rows) {
    let row = y + r * columns
    var s = 0.0
    for i in 0..<columns { s += log ? Foundation.exp(Double(row[i])) : Double(row[i]) }
    worst = max(worst, abs(s - 1))
  }
  return worst
}

/// The float64 cross-entropy of one row.
func referenceCrossEntropy(_ x: UnsafePointer<Float>, _ columns: Int, _ target: Int) -> Double {
  var m = -Double.infinity
  for i in 0..<columns { m = max(m, Double(x[i])) }
  var s = 0.0
  for i in 0..<columns { s += Foundation.exp(Double(x[i]) - m) }
  return m + Foundation.log(s) - Double(x[target])
}

/// PERF.md's W1-W6 (plus spherical Z-loss and StableMax cross-entropy on W5's shape) for a
/// total of `elements` floats (2^28 = 1 GiB by default).
func workloads(elements: Int) -> [Workload] {
  let softmaxAlgorithms: [SoftmaxAlgorithm?] = SoftmaxAlgorithm.allCases
  func rowsOf(_ columns: Int) -> Int { max(1, elements / columns) }
  func softmax(_ id: String, _ rows: Int, _ columns: Int, log: Bool, bound: String) -> Workload {
    Workload(
      kernel: log ? .logSoftmax : .softmax, id: id,
      description: "\(log ? "log-softmax" : "softmax") \(rows == 1 ? "one vector of \(columns)" : "rows \(rows) x \(columns)")",
      rows: rows, columns: columns, bytesPerElement: 8, bound: bound, algorithms: softmaxAlgorithms,
      run: { x, y, a, t, l in
        let n = rows * columns
        let options = SoftmaxOptions(
          algorithm: a!, execution: ExecutionOptions(threads: t, isa: l, streamingStores: settings.streaming))
        let input = UnsafeBufferPointer(start: x, count: n)
        let output = UnsafeMutableBufferPointer(start: y, count: n)
        if log {
          try LogSoftmax.forward(Rows(input, rows: rows, columns: columns), into: MutableRows(output, rows: rows, columns: columns), options: options)
        } else {
          try Softmax.forward(Rows(input, rows: rows, columns: columns), into: MutableRows(output, rows: rows, columns: columns), options: options)
        }
      },
      check: { _, y, _, _ in rowSumError(y, rows: rows, columns: columns, log: log) })
  }
  // Loss workloads share W5's shape and one target buffer.
  let lossColumns = 32768
  let lossRows = rowsOf(lossColumns)
  var rng = UInt64(12345)
  let targets: [Int] = (0..<lossRows).map { _ in
    rng = rng &* 6364136223846793005 &+ 1442695040888963407
    return Int(rng >> 33) % lossColumns
  }
  func lossCheck(_ x: UnsafeMutablePointer<Float>, _ t: Int, _ l: ISALevel,
                 _ kernel: (UnsafeBufferPointer<Int>, UnsafeMutableBufferPointer<Float>) throws -> Void,
                 _ reference: (UnsafePointer<Float>, Int) -> Double) throws -> Double {
    var losses = [Float](repeating: .nan, count: lossRows)
    try targets.withUnsafeBufferPointer { tb in
      try losses.withUnsafeMutableBufferPointer { lb in try kernel(tb, lb) }
    }
    var worst = 0.0
    for r in sampleRows(lossRows) {
      let ref = reference(x + r * lossColumns, targets[r])
      worst = max(worst, abs(Double(losses[r]) - ref) / max(1, abs(ref)))
    }
    return worst
  }
  let n = lossRows * lossColumns
  func logits(_ x: UnsafeMutablePointer<Float>) -> Rows<Float> {
    Rows(UnsafeBufferPointer(start: x, count: n), rows: lossRows, columns: lossColumns)
  }
  func gradient(_ y: UnsafeMutablePointer<Float>) -> MutableRows<Float> {
    MutableRows(UnsafeMutableBufferPointer(start: y, count: n), rows: lossRows, columns: lossColumns)
  }
  return [
    softmax("W1", 1, elements, log: false, bound: "2 reads + 1 write"),
    softmax("W2", rowsOf(32768), 32768, log: false, bound: "copy"),
    softmax("W3", rowsOf(262144), 262144, log: false, bound: "copy"),
    softmax("W4", rowsOf(32768), 32768, log: true, bound: "copy"),
    Workload(
      kernel: .crossEntropy, id: "W5", description: "cross-entropy loss, mean, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 4, bound: "read", algorithms: [nil],
      run: { x, _, _, t, l in
        _ = try targets.withUnsafeBufferPointer { tb in
          try CrossEntropy.loss(
            logits: logits(x), targets: tb,
            options: CrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l)))
        }
      },
      check: { x, _, t, l in
        try lossCheck(x, t, l, { tb, lb in
          try CrossEntropy.rowLosses(
            logits: logits(x), targets: tb, into: lb,
            options: CrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l)))
        }, { row, target in referenceCrossEntropy(row, lossColumns, target) })
      }),
    Workload(
      kernel: .crossEntropy, id: "W6", description: "cross-entropy loss + gradient, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 8, bound: "copy", algorithms: [nil],
      run: { x, y, _, t, l in
        _ = try targets.withUnsafeBufferPointer { tb in
          try CrossEntropy.lossAndGradient(
            logits: logits(x), targets: tb, gradient: gradient(y),
            options: CrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l)))
        }
      },
      check: { x, y, _, _ in
        // Each gradient row of the mean loss sums to 0 (sum p = 1, one -1 at the target).
        var worst = 0.0
        for r in sampleRows(lossRows) {
          var s = 0.0
          for i in 0..<lossColumns { s += Double(y[r * lossColumns + i]) }
          worst = max(worst, abs(s) * Double(lossRows))
        }
        return worst
      }),
    Workload(
      kernel: .sphericalZLoss, id: "ZLoss", description: "spherical Z-loss + gradient, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 8, bound: "copy", algorithms: [nil],
      run: { x, y, _, t, l in
        _ = try targets.withUnsafeBufferPointer { tb in
          try SphericalZLoss.lossAndGradient(
            logits: logits(x), targets: tb, gradient: gradient(y),
            options: SphericalZLossOptions(a: 1, b: 3, execution: ExecutionOptions(threads: t, isa: l)))
        }
      },
      check: { x, _, t, l in
        try lossCheck(x, t, l, { tb, lb in
          try SphericalZLoss.rowLosses(
            logits: logits(x), targets: tb, into: lb,
            options: SphericalZLossOptions(a: 1, b: 3, execution: ExecutionOptions(threads: t, isa: l)))
        }, { row, target in
          let r = (0..<lossColumns).map { Double(row[$0]) }
          let mean = r.reduce(0, +) / Double(lossColumns)
          let sd = (r.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(lossColumns) + 1e-12).squareRoot()
          let u = 1 * (3 - (r[target] - mean) / sd)
          return max(u, 0) + Foundation.log1p(Foundation.exp(-abs(u)))
        })
      }),
    Workload(
      kernel: .stableMaxCrossEntropy, id: "StableMaxCE", description: "StableMax cross-entropy + gradient, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 8, bound: "copy", algorithms: [nil],
      run: { x, y, _, t, l in
        _ = try targets.withUnsafeBufferPointer { tb in
          try StableMaxCrossEntropy.lossAndGradient(
            logits: logits(x), targets: tb, gradient: gradient(y),
            options: StableMaxCrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l)))
        }
      },
      check: { x, _, t, l in
        try lossCheck(x, t, l, { tb, lb in
          try StableMaxCrossEntropy.rowLosses(
            logits: logits(x), targets: tb, into: lb,
            options: StableMaxCrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l)))
        }, { row, target in
          func s(_ v: Double) -> Double { v >= 0 ? v + 1 : 1 / (1 - v) }
          var total = 0.0
          for i in 0..<lossColumns { total += s(Double(row[i])) }
          return Foundation.log(total) - Foundation.log(s(Double(row[target])))
        })
      }),
  ]
}
