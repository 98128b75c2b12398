// The 16-bit cells of W1-W6: the same element counts and shapes as the Float cells, with the
// input and output (gradient) stored as BFloat16 or Float16 (so half the bytes). GB/s counts the bytes
// actually moved (2 read + 2 written per element); the cell line also prints elements per second,
// the measure to compare with the Float cell of the same workload.

import Dispatch
import Foundation
import SoftmaxKernels

/// A 16-bit storage type the benchmark measures.
protocol BenchHalf: HalfPrecisionStorage {
  init(_ value: Float)
  var float: Float { get }
  /// The suffix of its cells ("bf16", "f16").
  static var tag: String { get }
}

extension BFloat16: BenchHalf {
  var float: Float { Float(self) }
  static var tag: String { "bf16" }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: BenchHalf {
  var float: Float { Float(self) }
  static var tag: String { "f16" }
}
#endif

/// 16-bit copies of the benchmark's input, one per type, made on first use (in parallel, which
/// also touches their pages) and kept for the run.
nonisolated(unsafe) private var halfInputs: [String: UnsafeMutableRawPointer] = [:]

func halfInput<H: BenchHalf>(_: H.Type, from x: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<H> {
  if let p = halfInputs[H.tag] { return p.assumingMemoryBound(to: H.self) }
  let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 2, alignment: 64)
  let h = raw.bindMemory(to: H.self, capacity: max(count, 1))
  let threads = MachineInfo.activeProcessorCount
  nonisolated(unsafe) let (source, target) = (x, h)
  DispatchQueue.concurrentPerform(iterations: threads) { t in
    for i in chunk(count, threads, t) { target[i] = H(source[i]) }
  }
  halfInputs[H.tag] = raw
  return h
}

/// Largest |sum - 1| of sampled rows of the 16-bit `y`: of `y` (softmax) or of `exp(y)`.
func rowSumError<H: BenchHalf>(_ y: UnsafePointer<H>, rows: Int, columns: Int, log: Bool) -> Double {
  var worst = 0.0
  for r in sampleRows(rows) {
    let row = y + r * columns
    var s = 0.0
    for i in 0..<columns { s += log ? Foundation.exp(Double(row[i].float)) : Double(row[i].float) }
    worst = max(worst, abs(s - 1))
  }
  return worst
}

/// W1-W6 with 16-bit storage of type `H` (input and output), for `elements` elements each.
func halfWorkloads<H: BenchHalf>(_: H.Type, elements: Int) -> [Workload] {
  func rowsOf(_ columns: Int) -> Int { max(1, elements / columns) }
  func softmax(_ id: String, _ rows: Int, _ columns: Int, log: Bool, bound: String) -> Workload {
    let n = rows * columns
    return Workload(
      kernel: log ? .logSoftmax : .softmax, id: "\(id)-\(H.tag)",
      description: "\(log ? "log-softmax" : "softmax") of \(H.self) \(rows == 1 ? "one vector of \(columns)" : "rows \(rows) x \(columns)")",
      rows: rows, columns: columns, bytesPerElement: 4, bound: bound, algorithms: SoftmaxAlgorithm.allCases,
      run: { x, y, a, t, l in
        let options = SoftmaxOptions(
          algorithm: a!, execution: ExecutionOptions(threads: t, isa: l, streamingStores: settings.streaming))
        let input = Rows(UnsafeBufferPointer(start: halfInput(H.self, from: x, count: n), count: n), rows: rows, columns: columns)
        let out = UnsafeMutableRawPointer(y).bindMemory(to: H.self, capacity: n)
        let output = MutableRows(UnsafeMutableBufferPointer(start: out, count: n), rows: rows, columns: columns)
        if log {
          try LogSoftmax.forward(input, into: output, options: options)
        } else {
          try Softmax.forward(input, into: output, options: options)
        }
      },
      check: { _, y, _, _ in
        let out = UnsafeMutableRawPointer(y).assumingMemoryBound(to: H.self)
        defer { UnsafeMutableRawPointer(y).bindMemory(to: Float.self, capacity: 2 * n) }
        return rowSumError(out, rows: rows, columns: columns, log: log)
      })
  }
  // W5 / W6: cross-entropy of 16-bit logits, W5's shape and targets (the same generator).
  let lossColumns = 32768, lossRows = rowsOf(lossColumns), n = lossRows * lossColumns
  var rng = UInt64(12345)
  let targets: [Int] = (0..<lossRows).map { _ in
    rng = rng &* 6364136223846793005 &+ 1442695040888963407
    return Int(rng >> 33) % lossColumns
  }
  func logits(_ x: UnsafeMutablePointer<Float>) -> Rows<H> {
    Rows(UnsafeBufferPointer(start: halfInput(H.self, from: x, count: n), count: n), rows: lossRows, columns: lossColumns)
  }
  func options(_ t: Int, _ l: ISALevel) -> CrossEntropyOptions {
    CrossEntropyOptions(execution: ExecutionOptions(threads: t, isa: l))
  }
  return [
    softmax("W1", 1, elements, log: false, bound: "2 reads + 1 write"),
    softmax("W2", rowsOf(32768), 32768, log: false, bound: "copy"),
    softmax("W3", rowsOf(262144), 262144, log: false, bound: "copy"),
    softmax("W4", rowsOf(32768), 32768, log: true, bound: "copy"),
    Workload(
      kernel: .crossEntropy, id: "W5-\(H.tag)", description: "cross-entropy loss of \(H.self) logits, mean, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 2, bound: "read", algorithms: [nil],
      run: { x, _, _, t, l in
        _ = try targets.withUnsafeBufferPointer { tb in
          try CrossEntropy.loss(logits: logits(x), targets: tb, options: options(t, l))
        }
      },
      check: { x, _, t, l in
        // Sampled rows' losses against float64 of the 16-bit logits.
        var losses = [Float](repeating: .nan, count: lossRows)
        try targets.withUnsafeBufferPointer { tb in
          try losses.withUnsafeMutableBufferPointer { lb in
            try CrossEntropy.rowLosses(logits: logits(x), targets: tb, into: lb, options: options(t, l))
          }
        }
        let h = halfInput(H.self, from: x, count: n)
        var worst = 0.0
        for r in sampleRows(lossRows) {
          let row = (0..<lossColumns).map { h[r * lossColumns + $0].float }
          let ref = row.withUnsafeBufferPointer { referenceCrossEntropy($0.baseAddress!, lossColumns, targets[r]) }
          worst = max(worst, abs(Double(losses[r]) - ref) / max(1, abs(ref)))
        }
        return worst
      }),
    Workload(
      kernel: .crossEntropy, id: "W6-\(H.tag)", description: "cross-entropy loss + gradient of \(H.self) logits, rows \(lossRows) x \(lossColumns)",
      rows: lossRows, columns: lossColumns, bytesPerElement: 4, bound: "copy", algorithms: [nil],
      run: { x, y, _, t, l in
        let g = UnsafeMutableRawPointer(y).bindMemory(to: H.self, capacity: n)
        _ = try targets.withUnsafeBufferPointer { tb in
          try CrossEntropy.lossAndGradient(
            logits: logits(x), targets: tb,
            gradient: MutableRows(UnsafeMutableBufferPointer(start: g, count: n), rows: lossRows, columns: lossColumns),
            options: options(t, l))
        }
      },
      check: { _, y, _, _ in
        // Each gradient row of the mean loss sums to 0 (up to the 16-bit rounding of its entries).
        let g = UnsafeMutableRawPointer(y).assumingMemoryBound(to: H.self)
        defer { UnsafeMutableRawPointer(y).bindMemory(to: Float.self, capacity: 2 * n) }
        var worst = 0.0
        for r in sampleRows(lossRows) {
          var s = 0.0
          for i in 0..<lossColumns { s += Double(g[r * lossColumns + i].float) }
          worst = max(worst, abs(s) * Double(lossRows))
        }
        return worst
      }),
  ]
}

/// The 16-bit workloads of every type this platform has.
func allHalfWorkloads(elements: Int) -> [Workload] {
  var all = halfWorkloads(BFloat16.self, elements: elements)
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  all += halfWorkloads(Float16.self, elements: elements)
  #endif
  return all
}
