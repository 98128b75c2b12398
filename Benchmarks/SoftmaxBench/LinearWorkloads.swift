// The linear cross-entropy cells (issue 12, "Cut Your Losses", Wijmans et al. 2024): the loss
// of a linear layer's logits `E C^T + bias` against integer targets without the N x V logits,
// next to the FMA peak measured at the start of the run (PeakFLOPS.swift). With --lce.
//
// Cells (names for --filter; all contain "LCE"):
//   L1 loss       N x D embeddings, V x D classifier, bias, mean over random targets
//   L2 loss+grad  the same, plus dE (N x D), dC (V x D) and dbias (V)
//   L3 loss       L1 with the large vocabulary (N x V logits of 8 GiB at the full shape)
//   L4 loss+grad  L2 with the large vocabulary
// Both calls also write each token's loss and log-sum-exp (2 N floats, for the check).
//
// Inputs: E uniform with standard deviation 1/sqrt(D) (rows of norm about 1), C uniform with
// standard deviation 1 (logits of standard deviation about 1), bias uniform in [-0.1, 0.1),
// targets uniform in [0, V), fixed seeds.
//
// Flops: a forward pass is the N x V x D matrix product, 2NVD. The gradient call recomputes the
// logits tile by tile, so it computes 8NVD (forward, recomputed logits, dE = G C, dC = G^T E);
// "useful" GFLOP/s count 6NVD, what a materialising implementation (PyTorch) computes. % of
// peak: the computed flops against the FMA peak at the same thread count (the fastest
// variant; "% lvl" against the peak of the cell's ISA level).
//
// Each cell runs in a fresh process (this program with `--lce-child`): it allocates the
// inputs and outputs, touches every page (fills them), reads its resident set VmRSS, resets
// the high-water mark VmHWM to it (Linux: "5" into /proc/self/clear_refs; without that, the
// high-water mark before the first call is the baseline and a smaller peak shows only as an
// upper bound), makes one warm-up call and the timed calls, and reads VmHWM again. The
// difference is the peak resident memory the calls needed beyond their inputs and outputs
// (working buffers, thread stacks, the allocator's retained memory). Then it checks the
// outputs against a float64 evaluation and prints one JSON line that the parent reads.

import Dispatch
import Foundation
import SoftmaxKernels

/// The option that makes softmax-bench run one linear cross-entropy cell (main.swift checks it
/// before anything else).
let linearChildOption = "--lce-child"

/// One cell: an operation, a shape, a level and a thread count.
struct LinearCell {
  let id: String
  let gradient: Bool
  let rows: Int
  let dim: Int
  let vocab: Int
  let level: ISALevel
  let threads: Int

  var name: String { "\(id) LCE \(gradient ? "loss+grad" : "loss") \(level) \(threads)t" }
  var description: String {
    "linear cross-entropy \(gradient ? "loss + dE, dC, dbias" : "loss"), N \(rows) x D \(dim), V \(vocab), bias, mean"
  }
  /// E, C, bias (floats) and the targets (Int).
  var inputBytes: Int { 4 * (rows * dim + vocab * dim + vocab) + 8 * rows }
  /// Each token's loss and log-sum-exp, and the gradients.
  var outputBytes: Int { 8 * rows + (gradient ? 4 * (rows * dim + vocab * dim + vocab) : 0) }
  /// What the call computes: 2NVD, or 8NVD with the gradients (logits recomputed).
  var flops: Double { (gradient ? 8 : 2) * Double(rows) * Double(vocab) * Double(dim) }
  /// What a materialising implementation computes: 2NVD, 6NVD with the gradients.
  var usefulFlops: Double { (gradient ? 6 : 2) * Double(rows) * Double(vocab) * Double(dim) }
  /// Bytes of the N x V logits a materialising implementation would store (once).
  var logitBytes: Int { 4 * rows * vocab }

  var childArguments: [String] {
    [linearChildOption, id, "--rows", "\(rows)", "--dim", "\(dim)", "--vocab", "\(vocab)",
     "--gradient", gradient ? "1" : "0", "--isa", level.description, "--threads", "\(threads)"]
  }
}

/// The cells --lce selects: L1-L4 x levels (the best one unless --isa was given) x threads,
/// narrowed by --filter.
func linearCells(_ settings: Settings) -> [LinearCell] {
  let levels = settings.explicitISA ? settings.levels : [settings.levels.max()!]
  var cells: [LinearCell] = []
  for (id, vocab, gradient) in [("L1", settings.lceVocab, false), ("L2", settings.lceVocab, true),
                                ("L3", settings.lceBigVocab, false), ("L4", settings.lceBigVocab, true)] {
    for l in levels {
      for t in settings.threads {
        let c = LinearCell(id: id, gradient: gradient, rows: settings.lceRows, dim: settings.lceDim,
                           vocab: vocab, level: l, threads: t)
        if let f = settings.filter, !c.name.contains(f) { continue }
        cells.append(c)
      }
    }
  }
  return cells
}

/// One cell's result (a record of --json; it has no `medianGBs`, so combine.py's GB/s table
/// leaves it out and its linear cross-entropy table reads it). A skipped cell has `skipped`
/// and no measurements.
struct LinearResult: Codable {
  var cell: String
  var workload: String
  var operation: String
  var isa: String
  var threads: Int
  var rows: Int
  var dim: Int
  var vocab: Int
  var repetitions: Int
  var inputBytes: Int
  var outputBytes: Int
  var flops: Double
  var usefulFlops: Double
  var medianSeconds: Double? = nil
  var bestSeconds: Double? = nil
  var firstCallSeconds: Double? = nil
  /// Computed flops / median seconds / 1e9.
  var medianGFLOPs: Double? = nil
  /// 6NVD (2NVD for the loss) / median seconds / 1e9.
  var usefulGFLOPs: Double? = nil
  /// The machine's FMA peak at `threads` (fastest variant) and the percentage of it.
  var peakGFLOPs: Double? = nil
  var peakVariant: String? = nil
  var percentOfPeak: Double? = nil
  /// The peak of the cell's ISA level at `threads` and the percentage of it.
  var levelPeakGFLOPs: Double? = nil
  var percentOfLevelPeak: Double? = nil
  /// Peak resident memory beyond inputs and outputs (bytes), and whether it is only an upper
  /// bound (no high-water-mark reset).
  var peakExtraBytes: Int? = nil
  var peakExtraIsUpperBound: Bool? = nil
  var memoryMethod: String? = nil
  /// The child's VmRSS before the first call and VmHWM after the last (bytes), and whether the
  /// high-water mark could be reset to VmRSS before the first call.
  var rssBeforeBytes: Int? = nil
  var hwmAfterBytes: Int? = nil
  var hwmReset: Bool? = nil
  /// Largest relative error of the sampled outputs against float64 (see `linearCheck`).
  var check: Double? = nil
  var checkKind: String? = nil
  var loss: Double? = nil
  var skipped: String? = nil
}

/// What a child process prints (one JSON line).
struct LinearChildReport: Codable {
  var seconds: [Double] = []
  var firstCallSeconds = 0.0
  var loss = 0.0
  var check = 0.0
  var checks: [String: Double] = [:]
  /// nil without /proc/self/status (no memory measurement).
  var rssBeforeBytes: Int?
  var hwmBeforeBytes: Int?
  var hwmAfterBytes: Int?
  var hwmReset = false
  var peakExtraBytes: Int?
  var peakExtraIsUpperBound: Bool?
  var error: String?
}

let linearMemoryMethod =
  "fresh process; inputs and outputs allocated and touched first; VmHWM after the warm-up and timed calls"
  + " minus VmRSS before the first call (VmHWM reset to VmRSS through /proc/self/clear_refs)"
let linearCheckKind =
  "max relative error vs float64 of: sampled tokens' loss and log-sum-exp, the mean; with gradients"
  + " sampled rows of dE, sampled classes of dC and dbias (max|diff| / max|ref| over the sample)"

// MARK: - Parent: runs each cell in a child and prints the table

/// Runs the selected cells (with --lce), each in a fresh process; prints the table and returns
/// the results.
func runLinearCrossEntropyCells(settings: Settings, peaks: FMAPeaks) -> [LinearResult] {
  guard settings.lce else { return [] }
  let cells = linearCells(settings)
  guard !cells.isEmpty else { return [] }
  let s = settings
  print("\nlinear cross-entropy (N \(s.lceRows) tokens, D \(s.lceDim); V \(s.lceVocab) for L1/L2, \(s.lceBigVocab) for L3/L4;"
        + " bias, mean over random targets; median of \(s.repetitions) after a warm-up; each cell in a fresh process)")
  print("GFLOP/s: computed flops (2NVD; 8NVD with gradients, logits recomputed); useful: 2NVD / 6NVD;"
        + " % peak: computed vs the FMA peak at the same threads (lvl: of the cell's ISA level);"
        + " extra MiB: peak resident memory beyond inputs and outputs")
  print("\("cell".padding(toLength: 34, withPad: " ", startingAt: 0))  median s    best s   GFLOP/s    useful   % peak    % lvl   extra MiB   inputs GiB     check")
  var results: [LinearResult] = []
  for cell in cells {
    var r = LinearResult(
      cell: cell.name, workload: cell.id, operation: cell.gradient ? "lossAndGradient" : "loss",
      isa: cell.level.description, threads: cell.threads, rows: cell.rows, dim: cell.dim, vocab: cell.vocab,
      repetitions: settings.repetitions, inputBytes: cell.inputBytes, outputBytes: cell.outputBytes,
      flops: cell.flops, usefulFlops: cell.usefulFlops)
    let label = cell.name.padding(toLength: 34, withPad: " ", startingAt: 0)
    let need = cell.inputBytes + cell.outputBytes
    if let available = availableMemoryBytes(), Double(need) > 0.6 * Double(available) {
      r.skipped = String(format: "inputs and outputs need %.2f GiB, more than 60%% of the %.2f GiB available",
                         Double(need) / 1073741824, Double(available) / 1073741824)
      print("\(label)  skipped: \(r.skipped!)")
      results.append(r)
      continue
    }
    let report: LinearChildReport
    do {
      report = try runLinearChild(cell.childArguments + ["--repetitions", "\(settings.repetitions)"])
    } catch {
      r.skipped = "the child process failed: \(error)"
      print("\(label)  error: \(error)")
      results.append(r)
      continue
    }
    if let e = report.error {
      r.skipped = "error: \(e)"
      print("\(label)  error: \(e)")
      results.append(r)
      continue
    }
    let med = median(report.seconds), best = report.seconds.min() ?? .nan
    r.medianSeconds = med
    r.bestSeconds = best
    r.firstCallSeconds = report.firstCallSeconds
    r.medianGFLOPs = cell.flops / med / 1e9
    r.usefulGFLOPs = cell.usefulFlops / med / 1e9
    if let p = peaks.machine(threads: cell.threads) {
      r.peakGFLOPs = p.peakGFLOPs
      r.peakVariant = p.variant
      r.percentOfPeak = 100 * r.medianGFLOPs! / p.peakGFLOPs
    }
    if let p = peaks.level(cell.level, threads: cell.threads) {
      r.levelPeakGFLOPs = p.peakGFLOPs
      r.percentOfLevelPeak = 100 * r.medianGFLOPs! / p.peakGFLOPs
    }
    r.peakExtraBytes = report.peakExtraBytes
    r.peakExtraIsUpperBound = report.peakExtraIsUpperBound
    r.rssBeforeBytes = report.rssBeforeBytes
    r.hwmAfterBytes = report.hwmAfterBytes
    r.hwmReset = report.hwmReset
    r.memoryMethod = report.peakExtraBytes == nil ? "not measured (no /proc/self/status)"
      : linearMemoryMethod + (report.hwmReset ? "" : "; the reset was refused: VmHWM before the first call was the baseline")
    r.check = report.check
    r.checkKind = linearCheckKind
    r.loss = report.loss
    results.append(r)
    print(String(format: "%@ %9.3f %9.3f %9.1f %9.1f %7.0f%% %7.0f%% %10.1f%@ %11.2f %11.1e",
                 label, med, best, r.medianGFLOPs!, r.usefulGFLOPs!, r.percentOfPeak ?? .nan,
                 r.percentOfLevelPeak ?? .nan, report.peakExtraBytes.map { Double($0) / 1048576 } ?? .nan,
                 report.peakExtraIsUpperBound == true ? "<" : " ", Double(cell.inputBytes) / 1073741824, report.check))
  }
  return results
}

/// This program's path, to start a child with.
private func executablePath() -> String {
  if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
  return Bundle.main.executablePath ?? CommandLine.arguments[0]
}

struct LinearChildError: Error, CustomStringConvertible {
  let description: String
}

/// Starts this program with `arguments`, waits, and decodes the JSON line it printed. Its
/// standard error goes to ours.
private func runLinearChild(_ arguments: [String]) throws -> LinearChildReport {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executablePath())
  process.arguments = arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let text = String(decoding: data, as: UTF8.self)
  guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
    throw LinearChildError(description: "exit status \(process.terminationStatus), no result line; output: \(text.suffix(300))")
  }
  return try JSONDecoder().decode(LinearChildReport.self, from: Data(line.utf8))
}

// MARK: - Child: one cell in this process

/// The child's entry point (`softmax-bench --lce-child ID --rows N --dim D --vocab V --gradient
/// 0|1 --isa LEVEL --threads T --repetitions R`): prints one JSON line; returns the exit status.
func linearChildMain(_ args: [String]) -> Int32 {
  var values: [String: String] = [:]
  var i = 1
  while i + 1 < args.count {
    values[args[i]] = args[i + 1]
    i += 2
  }
  func int(_ key: String) -> Int? { values[key].flatMap { Int($0) } }
  var report = LinearChildReport()
  if let rows = int("--rows"), let dim = int("--dim"), let vocab = int("--vocab"), let g = int("--gradient"),
     let level = values["--isa"].flatMap(ISALevel.init(name:)), let threads = int("--threads"),
     let repetitions = int("--repetitions"), rows > 0, dim > 0, vocab > 0, threads > 0, repetitions > 0 {
    do {
      try runLinearCell(rows: rows, dim: dim, vocab: vocab, gradient: g != 0, level: level, threads: threads,
                        repetitions: repetitions, into: &report)
    } catch {
      report.error = "\(error)"
    }
  } else {
    report.error = "bad arguments: \(args.joined(separator: " "))"
  }
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys]
  print(String(decoding: try! encoder.encode(report), as: UTF8.self))
  return report.error == nil ? 0 : 1
}

/// The resident set and its high-water mark of this process in bytes: VmRSS and VmHWM of
/// /proc/self/status (Linux), or nil. Not `getrusage`'s `ru_maxrss`: Linux carries it across
/// `exec`, so a child started by a large parent reports at least the parent's size at the fork.
func residentMemory() -> (rss: Int, hwm: Int)? {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
  var rss: Int?, hwm: Int?
  for line in text.split(separator: "\n") {
    // "VmRSS:\t   20288 kB"
    let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard parts.count >= 2, let kib = Int(parts[1]) else { continue }
    if parts[0] == "VmRSS:" { rss = kib * 1024 }
    if parts[0] == "VmHWM:" { hwm = kib * 1024 }
  }
  guard let rss, let hwm else { return nil }
  return (rss, hwm)
}

/// Resets VmHWM to the current VmRSS (Linux 4.0 and later: "5" into /proc/self/clear_refs).
func resetResidentHighWaterMark() -> Bool {
  guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
  defer { try? handle.close() }
  do {
    try handle.write(contentsOf: Data("5".utf8))
    return true
  } catch {
    return false
  }
}

/// Fills `count` targets uniform in [0, classes) from a fixed seed.
func linearTargets(_ count: Int, classes: Int) -> [Int] {
  var rng = UInt64(12345)
  return (0..<count).map { _ in
    rng = rng &* 6364136223846793005 &+ 1442695040888963407
    return Int(rng >> 33) % classes
  }
}

private func runLinearCell(
  rows n: Int, dim d: Int, vocab v: Int, gradient: Bool, level: ISALevel, threads: Int, repetitions: Int,
  into report: inout LinearChildReport
) throws {
  let cores = MachineInfo.activeProcessorCount
  // Inputs, filled in parallel (which touches every page).
  let e = FloatBuffer(count: n * d), c = FloatBuffer(count: v * d), bias = FloatBuffer(count: v)
  let a = Float(3.0 / Double(d)).squareRoot()
  e.fillUniform(-a, a, seed: 101, threads: cores)
  c.fillUniform(-Float(3).squareRoot(), Float(3).squareRoot(), seed: 202, threads: cores)
  bias.fillUniform(-0.1, 0.1, seed: 303, threads: cores)
  let targets = linearTargets(n, classes: v)
  // Outputs, touched.
  let rowLosses = FloatBuffer(count: n), rowLSE = FloatBuffer(count: n)
  rowLosses.fill(0, threads: 1)
  rowLSE.fill(0, threads: 1)
  let de = FloatBuffer(count: gradient ? n * d : 0), dc = FloatBuffer(count: gradient ? v * d : 0)
  let dbias = FloatBuffer(count: gradient ? v : 0)
  for b in [de, dc, dbias] { b.fill(0, threads: cores) }

  let options = LinearCrossEntropyOptions(execution: ExecutionOptions(threads: threads, isa: level))
  let embeddings = Rows(UnsafeBufferPointer(e.buffer), rows: n, columns: d)
  let classifier = Rows(UnsafeBufferPointer(c.buffer), rows: v, columns: d)
  let biasBuffer = UnsafeBufferPointer(bias.buffer)
  var result = LossResult<Float>(loss: .nan)
  try targets.withUnsafeBufferPointer { t in
    let call: () throws -> Void = {
      if gradient {
        result = try LinearCrossEntropy.lossAndGradient(
          embeddings: embeddings, classifier: classifier, bias: biasBuffer, targets: t,
          embeddingsGradient: MutableRows(de.buffer, rows: n, columns: d),
          classifierGradient: MutableRows(dc.buffer, rows: v, columns: d), biasGradient: dbias.buffer,
          rowLosses: rowLosses.buffer, rowLogSumExp: rowLSE.buffer, options: options)
      } else {
        result = try LinearCrossEntropy.loss(
          embeddings: embeddings, classifier: classifier, bias: biasBuffer, targets: t,
          rowLosses: rowLosses.buffer, rowLogSumExp: rowLSE.buffer, options: options)
      }
    }
    // Memory: the baseline, the calls, the high-water mark.
    let before = residentMemory()
    report.hwmReset = before != nil && resetResidentHighWaterMark()
    let baseline = report.hwmReset ? residentMemory() : before
    report.rssBeforeBytes = baseline?.rss
    report.hwmBeforeBytes = baseline?.hwm
    report.firstCallSeconds = try seconds { try call() }  // warm-up
    for _ in 0..<repetitions { report.seconds.append(try seconds { try call() }) }
    let after = residentMemory()
    report.hwmAfterBytes = after?.hwm
    if let baseline, let after {
      if report.hwmReset || after.hwm > baseline.hwm {
        report.peakExtraBytes = max(0, after.hwm - baseline.rss)
        report.peakExtraIsUpperBound = false
      } else {
        // The calls stayed under an earlier high-water mark: all we know is an upper bound.
        report.peakExtraBytes = max(0, baseline.hwm - baseline.rss)
        report.peakExtraIsUpperBound = true
      }
    }
  }
  report.loss = Double(result.loss)
  report.checks = linearCheck(
    e: e.pointer, c: c.pointer, bias: bias.pointer, targets: targets, rows: n, dim: d, vocab: v,
    loss: Double(result.loss), rowLosses: rowLosses.pointer, rowLSE: rowLSE.pointer,
    gradients: gradient ? (UnsafePointer(de.pointer), UnsafePointer(dc.pointer), UnsafePointer(dbias.pointer)) : nil,
    threads: cores)
  report.check = report.checks.values.max() ?? .nan
  if report.checks.values.contains(where: \.isNaN) { report.check = .nan }
}

// MARK: - Check against float64

/// `max(a, b)`, or NaN if either is NaN: Swift's `max(a, b)` returns `a` when `b` is NaN, which
/// would let a NaN output pass the check.
@inline(__always)
private func maxOrNaN(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : max(a, b) }

/// `sum_i x[i] y[i]` in Double (four accumulators).
@inline(__always)
private func dotDouble(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Double {
  var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
  var i = 0
  while i + 4 <= count {
    s0 += Double(x[i]) * Double(y[i])
    s1 += Double(x[i + 1]) * Double(y[i + 1])
    s2 += Double(x[i + 2]) * Double(y[i + 2])
    s3 += Double(x[i + 3]) * Double(y[i + 3])
    i += 4
  }
  while i < count { s0 += Double(x[i]) * Double(y[i]); i += 1 }
  return (s0 + s1) + (s2 + s3)
}

/// Relative errors of the outputs against a float64 evaluation of the same inputs:
/// - `rowLoss`, `rowLSE`: 4 sampled tokens' loss and log-sum-exp (their V logits in Double),
///   |ours - ref| / max(1, |ref|);
/// - `mean`: the reduced loss against the mean of our row losses;
/// - with gradients, `dE`: those tokens' rows of dE (`sum_v g_v C_v`, `g = (p - onehot) / N`);
///   `dC`, `dbias`: 4 sampled classes (the first token's target among them) over all tokens,
///   `p` from our log-sum-exp (checked above on the sampled tokens); each max |diff| / max |ref|
///   over its sample.
/// A NaN output makes its entry NaN.
func linearCheck(
  e: UnsafePointer<Float>, c: UnsafePointer<Float>, bias: UnsafePointer<Float>, targets: [Int],
  rows n: Int, dim d: Int, vocab v: Int, loss: Double, rowLosses: UnsafePointer<Float>,
  rowLSE: UnsafePointer<Float>,
  gradients: (de: UnsafePointer<Float>, dc: UnsafePointer<Float>, dbias: UnsafePointer<Float>)?,
  threads: Int
) -> [String: Double] {
  var checks: [String: Double] = [:]
  let sampleRows = Array(Set([0, n / 3, (2 * n) / 3, n - 1])).sorted()
  let z = UnsafeMutablePointer<Double>.allocate(capacity: v)
  defer { z.deallocate() }
  var rowLoss = 0.0, rowLSEError = 0.0, dEDiff = 0.0, dERef = 0.0
  for r in sampleRows {
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      for k in chunk(v, threads, t) { z[k] = Double(bias[k]) + dotDouble(e + r * d, c + k * d, d) }
    }
    var m = -Double.infinity
    for k in 0..<v { m = max(m, z[k]) }
    var s = 0.0
    for k in 0..<v { s += Foundation.exp(z[k] - m) }
    let lse = m + Foundation.log(s)
    let ref = lse - z[targets[r]]
    rowLoss = maxOrNaN(rowLoss, abs(Double(rowLosses[r]) - ref) / max(1, abs(ref)))
    rowLSEError = maxOrNaN(rowLSEError, abs(Double(rowLSE[r]) - lse) / max(1, abs(lse)))
    guard let g = gradients else { continue }
    // dE row r = sum_v g_v C_v: per-thread partial sums over class chunks.
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: threads * d)
    partial.initialize(repeating: 0, count: threads * d)
    defer { partial.deallocate() }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let acc = partial + t * d
      for k in chunk(v, threads, t) {
        let gk = (Foundation.exp(z[k] - lse) - (k == targets[r] ? 1 : 0)) / Double(n)
        let row = c + k * d
        for j in 0..<d { acc[j] += gk * Double(row[j]) }
      }
    }
    for j in 0..<d {
      var ref = 0.0
      for t in 0..<threads { ref += partial[t * d + j] }
      dEDiff = maxOrNaN(dEDiff, abs(Double(g.de[r * d + j]) - ref))
      dERef = max(dERef, abs(ref))
    }
  }
  checks["rowLoss"] = rowLoss
  checks["rowLSE"] = rowLSEError
  var sum = 0.0
  for r in 0..<n { sum += Double(rowLosses[r]) }
  checks["mean"] = abs(loss - sum / Double(n)) / max(1, abs(sum / Double(n)))
  guard let g = gradients else { return checks }
  checks["dE"] = dEDiff / dERef
  // Classes: dC[k] = sum_r g_rk E_r, dbias[k] = sum_r g_rk.
  let sampleClasses = Array(Set([targets[0], v / 3, (2 * v) / 3, v - 1])).sorted()
  var dCDiff = 0.0, dCRef = 0.0, dbDiff = 0.0, dbRef = 0.0
  let column = UnsafeMutablePointer<Double>.allocate(capacity: n)
  defer { column.deallocate() }
  for k in sampleClasses {
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      for r in chunk(n, threads, t) {
        let zk = Double(bias[k]) + dotDouble(e + r * d, c + k * d, d)
        column[r] = (Foundation.exp(zk - Double(rowLSE[r])) - (targets[r] == k ? 1 : 0)) / Double(n)
      }
    }
    var b = 0.0
    for r in 0..<n { b += column[r] }
    dbDiff = maxOrNaN(dbDiff, abs(Double(g.dbias[k]) - b))
    dbRef = max(dbRef, abs(b))
    for j in 0..<d {
      var ref = 0.0
      for r in 0..<n { ref += column[r] * Double(e[r * d + j]) }
      dCDiff = maxOrNaN(dCDiff, abs(Double(g.dc[k * d + j]) - ref))
      dCRef = max(dCRef, abs(ref))
    }
  }
  checks["dC"] = dCDiff / dCRef
  checks["dbias"] = dbDiff / dbRef
  return checks
}
