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
// Storage type (--lce-type LIST: float, bfloat16, float16; default float): each cell runs once
// per type. A 16-bit cell ("L2 LCE loss+grad bf16 x86-64-v4 2t"; the Float cells keep their
// names without a suffix) holds E, C, bias and the gradients dE, dC, dbias in that type (2 bytes
// an element instead of 4 in inputBytes and outputBytes) and calls the 16-bit API
// (LinearCrossEntropy+HalfPrecision.swift); the row losses, log-sum-exps and the loss stay Float.
// Its peak memory includes the Float N x D buffer the 16-bit gradient call sums dE in (4ND bytes).
//
// Inputs: E uniform with standard deviation 1/sqrt(D) (rows of norm about 1), C uniform with
// standard deviation 1 (logits of standard deviation about 1), bias uniform in [-0.1, 0.1),
// targets uniform in [0, V), fixed seeds; in a 16-bit cell the same Float values rounded to
// the type (to nearest even).
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
// outputs against a float64 evaluation of its inputs (in a 16-bit cell: of the rounded inputs;
// each 16-bit gradient entry is allowed the half-ulp of its rounding, see `linearCheck`) and
// prints one JSON line that the parent reads.

import Dispatch
import Foundation
import SoftmaxKernels

/// The option that makes softmax-bench run one linear cross-entropy cell (main.swift checks it
/// before anything else).
let linearChildOption = "--lce-child"

/// The storage type of a cell's E, C, bias and gradients (--lce-type; the child's --type).
enum LinearStorage: String, CaseIterable {
  case float, bfloat16, float16

  /// Bytes of one element.
  var bytes: Int { self == .float ? 4 : 2 }

  /// The suffix of the cell names ("bf16", "f16", as the 16-bit W cells'); nil for `Float`, whose
  /// cells keep the names of earlier runs.
  var tag: String? {
    switch self {
    case .float: nil
    case .bfloat16: "bf16"
    case .float16: "f16"
    }
  }

  /// Whether this platform has the type (the standard library has no `Float16` on x86-64 macOS).
  var isAvailable: Bool {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
    return self != .float16
    #else
    return true
    #endif
  }
}

/// One cell: an operation, a shape, a storage type, a level and a thread count.
struct LinearCell {
  let id: String
  let gradient: Bool
  let rows: Int
  let dim: Int
  let vocab: Int
  let storage: LinearStorage
  let level: ISALevel
  let threads: Int

  var name: String {
    "\(id) LCE \(gradient ? "loss+grad" : "loss")\(storage.tag.map { " \($0)" } ?? "") \(level) \(threads)t"
  }
  var description: String {
    "linear cross-entropy \(gradient ? "loss + dE, dC, dbias" : "loss"), N \(rows) x D \(dim), V \(vocab), bias, mean"
      + (storage == .float ? "" : "; E, C, bias\(gradient ? " and gradients" : "") in \(storage)")
  }
  /// E, C, bias (in the storage type) and the targets (Int).
  var inputBytes: Int { storage.bytes * (rows * dim + vocab * dim + vocab) + 8 * rows }
  /// Each token's loss and log-sum-exp (floats), and the gradients (in the storage type).
  var outputBytes: Int { 8 * rows + (gradient ? storage.bytes * (rows * dim + vocab * dim + vocab) : 0) }
  /// What the call computes: 2NVD, or 8NVD with the gradients (logits recomputed).
  var flops: Double { (gradient ? 8 : 2) * Double(rows) * Double(vocab) * Double(dim) }
  /// What a materialising implementation computes: 2NVD, 6NVD with the gradients.
  var usefulFlops: Double { (gradient ? 6 : 2) * Double(rows) * Double(vocab) * Double(dim) }
  /// Bytes of the N x V logits a materialising implementation would store (once, in the
  /// storage type, as a model of that type computes them).
  var logitBytes: Int { storage.bytes * rows * vocab }

  var childArguments: [String] {
    [linearChildOption, id, "--rows", "\(rows)", "--dim", "\(dim)", "--vocab", "\(vocab)",
     "--gradient", gradient ? "1" : "0", "--type", storage.rawValue, "--isa", level.description,
     "--threads", "\(threads)"]
  }
}

/// The cells --lce selects: L1-L4 x storage types (--lce-type) x levels (the best one unless
/// --isa was given) x threads, narrowed by --filter.
func linearCells(_ settings: Settings) -> [LinearCell] {
  let levels = settings.explicitISA ? settings.levels : [settings.levels.max()!]
  var cells: [LinearCell] = []
  for (id, vocab, gradient) in [("L1", settings.lceVocab, false), ("L2", settings.lceVocab, true),
                                ("L3", settings.lceBigVocab, false), ("L4", settings.lceBigVocab, true)] {
    for storage in settings.lceTypes {
      for l in levels {
        for t in settings.threads {
          let c = LinearCell(id: id, gradient: gradient, rows: settings.lceRows, dim: settings.lceDim,
                             vocab: vocab, storage: storage, level: l, threads: t)
          if let f = settings.filter, !c.name.contains(f) { continue }
          cells.append(c)
        }
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
  /// The storage type of E, C, bias and the gradients: "float", "bfloat16" or "float16".
  var type: String
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
/// What `linearCheckKind` adds for a 16-bit cell.
let linearCheckKindHalf =
  "; 16-bit cells: float64 of the rounded inputs, and each gradient's |diff| less half an ulp of the type at"
  + " the reference (its rounding to the type), at least 0"

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
  if s.lceTypes != [.float] {
    print("storage: \(s.lceTypes.map(\.rawValue).joined(separator: ", ")); a 16-bit cell (bf16, f16) holds E, C, bias"
          + " and the gradients in that type, the losses in Float")
  }
  print("GFLOP/s: computed flops (2NVD; 8NVD with gradients, logits recomputed); useful: 2NVD / 6NVD;"
        + " % peak: computed vs the FMA peak at the same threads (lvl: of the cell's ISA level);"
        + " extra MiB: peak resident memory beyond inputs and outputs")
  // Wide enough for "L4 LCE loss+grad bf16 x86-64-v4 16t".
  let width = 36
  print("\("cell".padding(toLength: width, withPad: " ", startingAt: 0))  median s    best s   GFLOP/s    useful"
        + "   % peak    % lvl   extra MiB   inputs GiB     check")
  var results: [LinearResult] = []
  for cell in cells {
    var r = LinearResult(
      cell: cell.name, workload: cell.id, operation: cell.gradient ? "lossAndGradient" : "loss",
      type: cell.storage.rawValue, isa: cell.level.description, threads: cell.threads, rows: cell.rows,
      dim: cell.dim, vocab: cell.vocab, repetitions: settings.repetitions, inputBytes: cell.inputBytes,
      outputBytes: cell.outputBytes, flops: cell.flops, usefulFlops: cell.usefulFlops)
    let label = cell.name.padding(toLength: width, withPad: " ", startingAt: 0)
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
    r.checkKind = linearCheckKind + (cell.storage == .float ? "" : linearCheckKindHalf)
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
/// 0|1 [--type float|bfloat16|float16] --isa LEVEL --threads T --repetitions R`; the type
/// `float` when not given): prints one JSON line; returns the exit status.
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
     let storage = LinearStorage(rawValue: values["--type"] ?? "float"), storage.isAvailable,
     let level = values["--isa"].flatMap(ISALevel.init(name:)), let threads = int("--threads"),
     let repetitions = int("--repetitions"), rows > 0, dim > 0, vocab > 0, threads > 0, repetitions > 0 {
    func run<T: LinearElement>(_: T.Type) throws {
      try runLinearCell(T.self, rows: rows, dim: dim, vocab: vocab, gradient: g != 0, level: level,
                        threads: threads, repetitions: repetitions, into: &report)
    }
    do {
      switch storage {
      case .float: try run(Float.self)
      case .bfloat16: try run(BFloat16.self)
      case .float16:
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        try run(Float16.self)
        #endif
      }
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

/// Where a gradient call writes dE (N x D), dC (V x D) and dbias (V).
typealias LinearGradientBuffers<T> =
  (embeddings: MutableRows<T>, classifier: MutableRows<T>, bias: UnsafeMutableBufferPointer<T>)

/// An element type of the linear cross-entropy cells: `Float`, `BFloat16` or `Float16`, with
/// the library's entry points for it (the `Float` ones, or the generic 16-bit ones).
protocol LinearElement: BitwiseCopyable {
  /// `value` rounded to this type (to nearest even).
  init(_ value: Float)
  /// The value, exactly.
  var float: Float { get }
  /// Half the spacing of this type's values around `x`: how far rounding to the type can move a
  /// value near `x`, the allowance of the check for an output rounded to the type. 0 for `Float`,
  /// whose check has no allowance.
  static func halfULP(at x: Double) -> Double
  /// `LinearCrossEntropy.loss` (`gradients` nil) or `.lossAndGradient` of this type.
  static func linearCrossEntropy(
    embeddings: Rows<Self>, classifier: Rows<Self>, bias: UnsafeBufferPointer<Self>,
    targets: UnsafeBufferPointer<Int>,
    gradients: LinearGradientBuffers<Self>?,
    rowLosses: UnsafeMutableBufferPointer<Float>, rowLogSumExp: UnsafeMutableBufferPointer<Float>,
    options: LinearCrossEntropyOptions
  ) throws -> LossResult<Float>
}

extension Float: LinearElement {
  var float: Float { self }
  static func halfULP(at x: Double) -> Double { 0 }

  static func linearCrossEntropy(
    embeddings: Rows<Float>, classifier: Rows<Float>, bias: UnsafeBufferPointer<Float>,
    targets: UnsafeBufferPointer<Int>,
    gradients: LinearGradientBuffers<Float>?,
    rowLosses: UnsafeMutableBufferPointer<Float>, rowLogSumExp: UnsafeMutableBufferPointer<Float>,
    options: LinearCrossEntropyOptions
  ) throws -> LossResult<Float> {
    guard let g = gradients else {
      return try LinearCrossEntropy.loss(
        embeddings: embeddings, classifier: classifier, bias: bias, targets: targets, rowLosses: rowLosses,
        rowLogSumExp: rowLogSumExp, options: options)
    }
    return try LinearCrossEntropy.lossAndGradient(
      embeddings: embeddings, classifier: classifier, bias: bias, targets: targets,
      embeddingsGradient: g.embeddings, classifierGradient: g.classifier, biasGradient: g.bias,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, options: options)
  }
}

extension LinearElement where Self: HalfPrecisionStorage {
  /// The generic 16-bit entry points (LinearCrossEntropy+HalfPrecision.swift): E, C, bias and
  /// the gradients in `Self`, the losses in `Float`.
  static func linearCrossEntropy(
    embeddings: Rows<Self>, classifier: Rows<Self>, bias: UnsafeBufferPointer<Self>,
    targets: UnsafeBufferPointer<Int>,
    gradients: LinearGradientBuffers<Self>?,
    rowLosses: UnsafeMutableBufferPointer<Float>, rowLogSumExp: UnsafeMutableBufferPointer<Float>,
    options: LinearCrossEntropyOptions
  ) throws -> LossResult<Float> {
    guard let g = gradients else {
      return try LinearCrossEntropy.loss(
        embeddings: embeddings, classifier: classifier, bias: bias, targets: targets, rowLosses: rowLosses,
        rowLogSumExp: rowLogSumExp, options: options)
    }
    return try LinearCrossEntropy.lossAndGradient(
      embeddings: embeddings, classifier: classifier, bias: bias, targets: targets,
      embeddingsGradient: g.embeddings, classifierGradient: g.classifier, biasGradient: g.bias,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, options: options)
  }
}

/// Half an ulp at `x` of a binary type with `significandBits` significant bits (the leading one
/// included) and smallest normal exponent `minExponent`: `2^(e - significandBits)` with `e` the
/// exponent of `x`, at least `minExponent` (the subnormals' fixed spacing).
private func binaryHalfULP(_ x: Double, significandBits: Int, minExponent: Int) -> Double {
  let e = x == 0 || !x.isFinite ? minExponent : max(Int(x.exponent), minExponent)
  return Double(sign: .plus, exponent: e - significandBits, significand: 1)
}

extension BFloat16: LinearElement {
  /// 8 significant bits, normal from 2^-126.
  static func halfULP(at x: Double) -> Double { binaryHalfULP(x, significandBits: 8, minExponent: -126) }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: LinearElement {
  /// 11 significant bits, normal from 2^-14.
  static func halfULP(at x: Double) -> Double { binaryHalfULP(x, significandBits: 11, minExponent: -14) }
}
#endif

/// A 64-byte aligned buffer of `count` values of `T`, freed with the object: a linear cell's E,
/// C, bias or gradient in the cell's storage type.
final class LinearBuffer<T: LinearElement> {
  let pointer: UnsafeMutablePointer<T>
  let count: Int

  init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
    pointer = raw.bindMemory(to: T.self, capacity: max(count, 1))
  }

  deinit { UnsafeMutableRawPointer(pointer).deallocate() }

  var buffer: UnsafeMutableBufferPointer<T> { UnsafeMutableBufferPointer(start: pointer, count: count) }

  /// `FloatBuffer.fillUniform`'s values (the same seed gives the same `Float`s), rounded to `T`.
  func fillUniform(_ lo: Float, _ hi: Float, seed: UInt64, threads: Int) {
    uniformFill(pointer, count: count, lo, hi, seed: seed, threads: threads) { T($0) }
  }

  /// Fills with zeros, in parallel (first touch).
  func fillZero(threads: Int) {
    let p = pointer, n = count, zero = T(0)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let r = chunk(n, threads, t)
      (p + r.lowerBound).initialize(repeating: zero, count: r.count)
    }
  }
}

/// Runs one cell with E, C, bias and the gradients stored as `T` into `report`.
private func runLinearCell<T: LinearElement>(
  _: T.Type, rows n: Int, dim d: Int, vocab v: Int, gradient: Bool, level: ISALevel, threads: Int,
  repetitions: Int, into report: inout LinearChildReport
) throws {
  let cores = MachineInfo.activeProcessorCount
  // Inputs, filled in parallel (which touches every page): for a 16-bit T, the Float cells'
  // values rounded.
  let e = LinearBuffer<T>(count: n * d), c = LinearBuffer<T>(count: v * d), bias = LinearBuffer<T>(count: v)
  let a = Float(3.0 / Double(d)).squareRoot()
  e.fillUniform(-a, a, seed: 101, threads: cores)
  c.fillUniform(-Float(3).squareRoot(), Float(3).squareRoot(), seed: 202, threads: cores)
  bias.fillUniform(-0.1, 0.1, seed: 303, threads: cores)
  let targets = linearTargets(n, classes: v)
  // Outputs, touched: losses and log-sum-exps in Float, the gradients in T.
  let rowLosses = FloatBuffer(count: n), rowLSE = FloatBuffer(count: n)
  rowLosses.fill(0, threads: 1)
  rowLSE.fill(0, threads: 1)
  let de = LinearBuffer<T>(count: gradient ? n * d : 0), dc = LinearBuffer<T>(count: gradient ? v * d : 0)
  let dbias = LinearBuffer<T>(count: gradient ? v : 0)
  for b in [de, dc, dbias] { b.fillZero(threads: cores) }

  let options = LinearCrossEntropyOptions(execution: ExecutionOptions(threads: threads, isa: level))
  let embeddings = Rows(UnsafeBufferPointer(e.buffer), rows: n, columns: d)
  let classifier = Rows(UnsafeBufferPointer(c.buffer), rows: v, columns: d)
  let biasBuffer = UnsafeBufferPointer(bias.buffer)
  let gradients: LinearGradientBuffers<T>? = gradient
    ? (MutableRows(de.buffer, rows: n, columns: d), MutableRows(dc.buffer, rows: v, columns: d), dbias.buffer)
    : nil
  var result = LossResult<Float>(loss: .nan)
  try targets.withUnsafeBufferPointer { t in
    let call: () throws -> Void = {
      result = try T.linearCrossEntropy(
        embeddings: embeddings, classifier: classifier, bias: biasBuffer, targets: t, gradients: gradients,
        rowLosses: rowLosses.buffer, rowLogSumExp: rowLSE.buffer, options: options)
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

/// |got - ref| less the rounding allowance of `T` at `ref` (half an ulp for a 16-bit type, none
/// for `Float`), at least 0; NaN if `got` is NaN.
@inline(__always)
private func errorBeyondRounding<T: LinearElement>(_ got: T, _ ref: Double) -> Double {
  let diff = abs(Double(got.float) - ref) - T.halfULP(at: ref)
  return diff.isNaN ? diff : max(0, diff)
}

/// `sum_i x[i] y[i]` in Double (four accumulators).
@inline(__always)
private func dotDouble<T: LinearElement>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> Double {
  var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
  var i = 0
  while i + 4 <= count {
    s0 += Double(x[i].float) * Double(y[i].float)
    s1 += Double(x[i + 1].float) * Double(y[i + 1].float)
    s2 += Double(x[i + 2].float) * Double(y[i + 2].float)
    s3 += Double(x[i + 3].float) * Double(y[i + 3].float)
    i += 4
  }
  while i < count { s0 += Double(x[i].float) * Double(y[i].float); i += 1 }
  return (s0 + s1) + (s2 + s3)
}

/// Relative errors of the outputs against a float64 evaluation of the same inputs (stored as
/// `T`: a 16-bit cell's reference is of its rounded inputs, read exactly):
/// - `rowLoss`, `rowLSE`: 4 sampled tokens' loss and log-sum-exp (their V logits in Double),
///   |ours - ref| / max(1, |ref|);
/// - `mean`: the reduced loss against the mean of our row losses;
/// - with gradients, `dE`: those tokens' rows of dE (`sum_v g_v C_v`, `g = (p - onehot) / N`);
///   `dC`, `dbias`: 4 sampled classes (the first token's target among them) over all tokens,
///   `p` from our log-sum-exp (checked above on the sampled tokens); each max |diff| / max |ref|
///   over its sample.
///
/// A 16-bit gradient is the `Float` sum rounded once to `T`, so each entry may lie half an ulp
/// of `T` from the reference (up to 2^-8 relative for `BFloat16`, 2^-11 for `Float16`) however
/// accurate the sum: each |diff| is taken less that half-ulp (at least 0), which leaves the
/// error of the sum itself, on the scale of the `Float` cells' check, where a plain |diff|
/// would show mostly the rounding (a few 1e-3 for `BFloat16`). A wrong rounding (a
/// truncation, a double rounding) or a wrong sum still shows. The losses are `Float` outputs and
/// checked as in a `Float` cell. A NaN output makes its entry NaN.
func linearCheck<T: LinearElement>(
  e: UnsafePointer<T>, c: UnsafePointer<T>, bias: UnsafePointer<T>, targets: [Int],
  rows n: Int, dim d: Int, vocab v: Int, loss: Double, rowLosses: UnsafePointer<Float>,
  rowLSE: UnsafePointer<Float>,
  gradients: (de: UnsafePointer<T>, dc: UnsafePointer<T>, dbias: UnsafePointer<T>)?,
  threads: Int
) -> [String: Double] {
  var checks: [String: Double] = [:]
  let sampleRows = Array(Set([0, n / 3, (2 * n) / 3, n - 1])).sorted()
  let z = UnsafeMutablePointer<Double>.allocate(capacity: v)
  defer { z.deallocate() }
  var rowLoss = 0.0, rowLSEError = 0.0, dEDiff = 0.0, dERef = 0.0
  for r in sampleRows {
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      for k in chunk(v, threads, t) { z[k] = Double(bias[k].float) + dotDouble(e + r * d, c + k * d, d) }
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
        for j in 0..<d { acc[j] += gk * Double(row[j].float) }
      }
    }
    for j in 0..<d {
      var ref = 0.0
      for t in 0..<threads { ref += partial[t * d + j] }
      dEDiff = maxOrNaN(dEDiff, errorBeyondRounding(g.de[r * d + j], ref))
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
        let zk = Double(bias[k].float) + dotDouble(e + r * d, c + k * d, d)
        column[r] = (Foundation.exp(zk - Double(rowLSE[r])) - (targets[r] == k ? 1 : 0)) / Double(n)
      }
    }
    var b = 0.0
    for r in 0..<n { b += column[r] }
    dbDiff = maxOrNaN(dbDiff, errorBeyondRounding(g.dbias[k], b))
    dbRef = max(dbRef, abs(b))
    for j in 0..<d {
      var ref = 0.0
      for r in 0..<n { ref += column[r] * Double(e[r * d + j].float) }
      dCDiff = maxOrNaN(dCDiff, errorBeyondRounding(g.dc[k * d + j], ref))
      dCRef = max(dCRef, abs(ref))
    }
  }
  checks["dC"] = dCDiff / dCRef
  checks["dbias"] = dbDiff / dbRef
  return checks
}
