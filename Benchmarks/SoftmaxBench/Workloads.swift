// The workloads of ../shared/PERF.md that exist so far, as callable cells.

import Foundation
import SoftmaxKernels

/// What a workload computes.
enum WorkloadKind: String {
  case softmax, logSoftmax
}

struct Workload {
  let id: String
  let description: String
  let kind: WorkloadKind
  let rows: Int
  let columns: Int
  /// Bytes per element by PERF.md's convention (4 read + 4 written).
  let bytesPerElement: Int
  /// The roofline pattern this workload is compared with.
  let bound: String
}

/// PERF.md's W1-W4 for a total of `elements` floats (2^28 = 1 GiB by default).
func workloads(elements: Int) -> [Workload] {
  let rowsOf32K = max(1, elements / 32768)
  let rowsOf256K = max(1, elements / 262144)
  return [
    Workload(id: "W1", description: "softmax, one vector of \(elements)", kind: .softmax,
             rows: 1, columns: elements, bytesPerElement: 8, bound: "2 reads + 1 write"),
    Workload(id: "W2", description: "softmax rows \(rowsOf32K) x 32768", kind: .softmax,
             rows: rowsOf32K, columns: 32768, bytesPerElement: 8, bound: "copy"),
    Workload(id: "W3", description: "softmax rows \(rowsOf256K) x 262144", kind: .softmax,
             rows: rowsOf256K, columns: 262144, bytesPerElement: 8, bound: "copy"),
    Workload(id: "W4", description: "log-softmax rows \(rowsOf32K) x 32768", kind: .logSoftmax,
             rows: rowsOf32K, columns: 32768, bytesPerElement: 8, bound: "copy"),
  ]
}

/// Checks a workload's output: every row of a softmax sums to 1, of a log-softmax its exp sums
/// to 1 (sampled rows, in Double). Returns the largest |sum - 1|.
func checkOutput(_ w: Workload, _ y: UnsafePointer<Float>) -> Double {
  var worst = 0.0
  let sampleRows = w.rows <= 64 ? Array(0..<w.rows) : stride(from: 0, to: w.rows, by: w.rows / 64).map { $0 }
  for r in sampleRows {
    let row = y + r * w.columns
    var s = 0.0
    switch w.kind {
    case .softmax: for i in 0..<w.columns { s += Double(row[i]) }
    case .logSoftmax: for i in 0..<w.columns { s += exp(Double(row[i])) }
    }
    worst = max(worst, abs(s - 1))
  }
  return worst
}

func runWorkload(_ w: Workload, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                 options: SoftmaxOptions) throws {
  let n = w.rows * w.columns
  let input = UnsafeBufferPointer(start: x, count: n)
  let output = UnsafeMutableBufferPointer(start: y, count: n)
  switch w.kind {
  case .softmax:
    try Softmax.softmax(rows: w.rows, columns: w.columns, input: input, output: output, options: options)
  case .logSoftmax:
    try Softmax.logSoftmax(rows: w.rows, columns: w.columns, input: input, output: output, options: options)
  }
}
