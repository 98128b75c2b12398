// The sigmoid family's cells (issue 5): elementwise kernels against the copy roofline, BCE with
// logits and the SigLIP loss against naive formulations (plain Swift loops) in the same run.
//
// Cells (names for --filter; all contain "Sig"):
//   Sig1 sigmoid, Sig2 logSigmoid, Sig3 softplus      y = f(x) over all elements; bound: copy
//   Sig4 sigmoidBackward                              dx = g f'(x); bound: 2 reads + 1 write
//   Sig5 BCE fused | naive                            mean loss + gradient; bound: 2 reads + 1 write
//   Sig6 SigLIP fused | naive                         n x n loss, dL/dt', dL/db, dL/ds; bound: copy
// The "check" column is the largest relative error of sampled outputs against a Double
// evaluation (elementwise), or the relative error of the loss against a Double evaluation (BCE,
// SigLIP; the naive loops accumulate in Float, as such code usually does).

import Dispatch
import Foundation
import SoftmaxKernels

/// Runs the sigmoid-family cells selected by `settings.filter`; returns their results.
/// Refills `z` with targets in [0, 1] (it is the last user of the buffers).
func runSigmoidFamilyCells(
  settings: Settings, x: FloatBuffer, y: FloatBuffer, z: FloatBuffer,
  roofline: [String: [Int: Double]]
) -> [Result] {
  let n = settings.elements
  // (name, run, check (after the timed runs), bytes moved, bound, algorithm, level, threads)
  var cells: [(String, () throws -> Void, () -> Double, Double, String, String, ISALevel?, Int)] = []
  let xs = UnsafeBufferPointer(start: x.pointer, count: n)
  let ys = y.buffer, zs = UnsafeBufferPointer(start: z.pointer, count: n)
  let yr = UnsafeBufferPointer(ys)
  var referenceMean: Double?
  func bceReference() -> Double {
    if let r = referenceMean { return r }
    referenceMean = bceReferenceMean(xs, zs)
    return referenceMean!
  }
  for l in settings.levels {
    for t in settings.threads {
      let o = ExecutionOptions(threads: t, isa: l)
      cells.append(("Sig1 sigmoid \(l) \(t)t", { try Sigmoid.forward(xs, into: ys, options: o) },
                    { sampledError(xs, yr) { 1 / (1 + Foundation.exp(-$0)) } },
                    Double(8 * n), "copy", "sigmoid", l, t))
      cells.append(("Sig2 logSigmoid \(l) \(t)t", { try LogSigmoid.forward(xs, into: ys, options: o) },
                    { sampledError(xs, yr) { min($0, 0) - Foundation.log1p(Foundation.exp(-abs($0))) } },
                    Double(8 * n), "copy", "logSigmoid", l, t))
      cells.append(("Sig3 softplus \(l) \(t)t", { try Softplus.forward(xs, into: ys, options: SoftplusOptions(execution: o)) },
                    { sampledError(xs, yr) { max($0, 0) + Foundation.log1p(Foundation.exp(-abs($0))) } },
                    Double(8 * n), "copy", "softplus", l, t))
      cells.append(("Sig4 sigmoidBackward \(l) \(t)t",
                    { try Sigmoid.backward(input: xs, outputGradient: zs, into: ys, options: o) },
                    { 0 }, Double(12 * n), "2 reads + 1 write", "sigmoidBackward", l, t))
      var loss: Float = 0
      cells.append(("Sig5 BCE fused \(l) \(t)t", {
        loss = try BinaryCrossEntropy.lossAndGradient(
          logits: xs, targets: zs, gradient: ys,
          options: BinaryCrossEntropyOptions(checksTargets: false, execution: ExecutionOptions(threads: t, isa: l))).loss
      }, { abs(Double(loss) - bceReference()) / bceReference() },
      Double(12 * n), "2 reads + 1 write", "BCE fused", l, t))
    }
  }
  let naiveCount = min(n, 1 << 24)
  var naiveLoss = 0.0
  cells.insert(("Sig5 BCE naive 1t", { naiveLoss = naiveBCE(x.pointer, z.pointer, y.pointer, naiveCount) }, {
    let ref = bceReferenceMean(UnsafeBufferPointer(start: x.pointer, count: naiveCount),
                               UnsafeBufferPointer(start: z.pointer, count: naiveCount))
    return abs(naiveLoss - ref) / ref
  }, Double(12 * naiveCount), "2 reads + 1 write", "BCE naive", nil, 1), at: 0)
  let side = min(4096, Int(Double(n).squareRoot()))
  let naiveSide = min(side, 2048)
  var sigLIPNaive = 0.0
  var sigLIPReferences: [Int: Double] = [:]
  func sigLIPReference(_ side: Int) -> Double {
    if let r = sigLIPReferences[side] { return r }
    sigLIPReferences[side] = sigLIPReferenceLoss(z.pointer, side)
    return sigLIPReferences[side]!
  }
  cells.append(("Sig6 SigLIP naive 1t", { sigLIPNaive = naiveSigLIP(z.pointer, y.pointer, naiveSide) },
                { abs(sigLIPNaive - sigLIPReference(naiveSide)) / sigLIPReference(naiveSide) },
                Double(8 * naiveSide * naiveSide), "copy", "SigLIP naive", nil, 1))
  for l in settings.levels {
    for t in settings.threads {
      var loss = 0.0
      cells.append(("Sig6 SigLIP fused \(l) \(t)t", {
        loss = Double(try SigLIP.lossAndGradient(
          similarities: Rows(UnsafeBufferPointer(start: z.pointer, count: side * side), rows: side, columns: side),
          gradient: MutableRows(UnsafeMutableBufferPointer(start: y.pointer, count: side * side), rows: side, columns: side),
          options: SigLIPOptions(execution: ExecutionOptions(threads: t, isa: l))).loss)
      }, { abs(loss - sigLIPReference(side)) / sigLIPReference(side) },
      Double(8 * side * side), "copy", "SigLIP fused", l, t))
    }
  }

  let selected = cells.filter { settings.filter.map($0.0.contains) ?? true }
  guard !selected.isEmpty else { return [] }
  z.fillUniform(0, 1, seed: 7, threads: MachineInfo.activeProcessorCount)
  print("\nsigmoid family (elementwise on \(n) floats; BCE naive on \(naiveCount); SigLIP \(side) x \(side), naive \(naiveSide) x \(naiveSide))")
  print("\("cell".padding(toLength: 36, withPad: " ", startingAt: 0)) median GB/s   best GB/s   % of bound   check")
  var results: [Result] = []
  var naiveGBs: [String: Double] = [:]
  for (name, run, checkOutput, bytes, bound, algorithm, level, threads) in selected {
    var times: [Double] = []
    do {
      try run()  // warm-up
      for _ in 0..<settings.repetitions { times.append(try seconds { try run() }) }
    } catch {
      print("  \(name): error \(error)")
      continue
    }
    let check = checkOutput()
    let med = bytes / median(times) / 1e9, best = bytes / times.min()! / 1e9
    let boundGBs = roofline[bound]?[threads] ?? .nan
    if algorithm.hasSuffix("naive") { naiveGBs[String(algorithm.dropLast(6))] = med }
    var extra = ""
    if algorithm.hasSuffix("fused"), let naive = naiveGBs[String(algorithm.dropLast(6))] {
      extra = String(format: "   %.1fx naive", med / naive)
    }
    if algorithm.hasPrefix("SigLIP") {
      extra += String(format: "   %.2f Gpairs/s", bytes / 8 / median(times) / 1e9)
    }
    results.append(Result(
      cell: name, workload: String(name.prefix(4)), algorithm: algorithm,
      isa: level?.description ?? "scalar", threads: threads, medianGBs: med, bestGBs: best,
      bound: bound, boundGBs: boundGBs, percentOfBound: 100 * med / boundGBs, maxRowSumError: check))
    print(String(format: "%@ %10.2f %11.2f %11.0f%% %11.2e%@",
                 name.padding(toLength: 36, withPad: " ", startingAt: 0), med, best,
                 100 * med / boundGBs, check, extra))
  }
  return results
}

/// Writes `results` to --json and --csv (replacing what an earlier call wrote). The JSON is one
/// array: the cells' `Result`s, then the `extra` records (the FMA peaks, the linear
/// cross-entropy cells), which have no `medianGBs` field; the CSV has the `Result`s only.
func writeAllResults(_ results: [Result], extra: [any Encodable] = [], settings: Settings) throws {
  if let path = settings.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let records = results.map { JSONRecord(value: $0) } + extra.map { JSONRecord(value: $0) }
    try encoder.encode(records).write(to: URL(fileURLWithPath: path))
  }
  if let path = settings.csv {
    var text = "cell,workload,algorithm,isa,threads,median_gbs,best_gbs,bound,bound_gbs,percent_of_bound,max_row_sum_error\n"
    for r in results {
      text += "\(r.cell),\(r.workload),\(r.algorithm),\(r.isa),\(r.threads),\(r.medianGBs),\(r.bestGBs),\(r.bound),\(r.boundGBs),\(r.percentOfBound),\(r.maxRowSumError)\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }
}

/// One element of the --json array, whatever its record type.
struct JSONRecord: Encodable {
  let value: any Encodable
  func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}

/// Largest relative error of 4096 sampled outputs against `f` in Double.
func sampledError(
  _ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, _ f: (Double) -> Double
) -> Double {
  var worst = 0.0
  let step = max(1, x.count / 4096)
  for i in stride(from: 0, to: x.count, by: step) {
    let ref = f(Double(x[i]))
    if ref != 0 { worst = max(worst, abs(Double(y[i]) - ref) / abs(ref)) }
  }
  return worst
}

/// The mean BCE in Double (stable form), over a sample for long inputs.
func bceReferenceMean(_ x: UnsafeBufferPointer<Float>, _ t: UnsafeBufferPointer<Float>) -> Double {
  var sum = 0.0
  for i in 0..<x.count {
    let (xi, yi) = (Double(x[i]), Double(t[i]))
    sum += max(xi, 0) - xi * yi + Foundation.log1p(Foundation.exp(-abs(xi)))
  }
  return sum / Double(x.count)
}

/// BCE with logits as one would write it: PyTorch's formula per element, `sigmoid(x) - y` for
/// the gradient, Float math with the C library's `expf` / `logf`, one thread.
@inline(never)
func naiveBCE(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
  var sum: Float = 0
  let scale = 1 / Float(n)
  for i in 0..<n {
    let xi = x[i], yi = t[i]
    let m = max(-xi, 0)
    sum += (1 - yi) * xi + m + Foundation.log(Foundation.exp(-m) + Foundation.exp(-xi - m))
    dx[i] = (1 / (1 + Foundation.exp(-xi)) - yi) * scale
  }
  return Double(sum) / Double(n)
}

/// The SigLIP loss and gradients as in big_vision's trainer, element by element
/// (`-log_sigmoid(z l)` as `log1p(exp(-z l))`), one thread. Returns the loss.
@inline(never)
func naiveSigLIP(_ s: UnsafePointer<Float>, _ ds: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
  let t = Float(10), b = Float(-10)
  var loss: Float = 0, dt: Float = 0, db: Float = 0
  for i in 0..<n {
    for j in 0..<n {
      let z: Float = i == j ? 1 : -1
      let l = t * s[i * n + j] + b
      loss += Foundation.log1p(Foundation.exp(-z * l))
      let q = -z / (1 + Foundation.exp(z * l)) / Float(n)
      db += q
      dt += q * s[i * n + j]
      ds[i * n + j] = t * q
    }
  }
  blackHole += dt + db
  return Double(loss) / Double(n)
}

/// The SigLIP loss (t = 10, b = -10, positives on the diagonal) evaluated in Double.
func sigLIPReferenceLoss(_ s: UnsafePointer<Float>, _ n: Int) -> Double {
  var loss = 0.0
  for i in 0..<n {
    for j in 0..<n {
      let l = 10 * Double(s[i * n + j]) - 10
      let u = i == j ? -l : l
      loss += max(u, 0) + Foundation.log1p(Foundation.exp(-abs(u)))
    }
  }
  return loss / Double(n)
}
