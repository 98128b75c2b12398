// softmax-bench: out-of-cache throughput of every softmax path, next to the memory roofline
// and the FMA peak (PeakFLOPS.swift) measured in the same process.
// Run: swift run -c release softmax-bench [options]

import Dispatch
import Foundation
import SoftmaxKernels

// One linear cross-entropy cell in a fresh process (LinearWorkloads.swift), started by this
// program itself: before anything else, so the process holds only that cell's buffers.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == linearChildOption {
  exit(linearChildMain(Array(CommandLine.arguments.dropFirst(2))))
}

let usage = """
  usage: softmax-bench [options]
    --quick              small sizes and 2 repetitions (the CI smoke test)
    --size N             elements per workload (default 268435456 = 1 GiB of floats)
    --threads LIST       thread counts, comma separated (default 1,<cores>)
    --repetitions N      timed runs per cell, median reported (default 5)
    --filter TEXT        only cells whose name contains TEXT (e.g. W1, twoPass, x86-64-v3)
    --isa LIST           ISA levels (default: every level the CPU supports)
    --streaming on|off   softmax-family outputs with / without streaming stores (default: the
                         library's choice by size, ExecutionOptions.streamingStores = nil)
    --lce                also run the linear cross-entropy cells (loss of E C^T + bias without
                         the logits): L1 loss and L2 loss + gradients (dE, dC, dbias) with
                         vocabulary V, L3 / L4 the same with the large vocabulary. Each cell
                         runs in a fresh process that also measures its peak resident memory
                         beyond inputs and outputs. Compute-bound: minutes per cell at the full
                         shapes. Only at the best ISA level unless --isa is given; --filter LCE
                         selects only them. Reported: median seconds, GFLOP/s (L1/L3 2NVD
                         flops, L2/L4 8NVD as computed, 6NVD "useful" as PyTorch counts), % of
                         the FMA peak measured at the start of the run
    --lce-rows N         tokens N (default 8192; --quick 256)
    --lce-dim D          embedding dimension D (default 1024; --quick 128)
    --lce-vocab V        classes of L1 / L2 (default 32768; --quick 4096)
    --lce-big-vocab V    classes of L3 / L4 (default 262144, N x V logits of 8 GiB; --quick 16384)
    --lce-type LIST      storage types of the linear cross-entropy cells, comma separated, of
                         float, bfloat16, float16 (default float): each cell runs once per type.
                         A 16-bit cell (name with bf16 / f16, e.g. "L2 LCE loss+grad bf16
                         x86-64-v4 2t") holds E, C, bias and the gradients in that type (the
                         Float inputs rounded), calls the 16-bit API and is checked against
                         float64 of its rounded inputs; the Float cells keep their names
    --json FILE          write the results as JSON
    --csv FILE           write the results as CSV
    --svg FILE           write a bar chart (GB/s per workload and algorithm, roofline dashed)
    --list               list the cells and exit
    --check-arrays       only check the library's Array forms in this release client and exit
                         (every run checks them first; a failure exits with status 1)
    --catalog            print the kernel catalog (JSON: each kernel's form, passes, exponential
                         passes and the workloads that measure it) and exit
    --help               this text
  """

struct Settings {
  var elements = 1 << 28
  var threads: [Int] = Array(Set([1, MachineInfo.activeProcessorCount])).sorted()
  var repetitions = 5
  var filter: String?
  var levels = ISALevel.allSupported
  var json: String?
  var csv: String?
  var svg: String?
  var list = false
  var catalog = false
  var streaming: Bool?
  /// Whether --isa was given (the linear cross-entropy cells run at the best level otherwise).
  var explicitISA = false
  /// The linear cross-entropy cells (--lce) and their shape.
  var lce = false
  var lceRows = 8192
  var lceDim = 1024
  var lceVocab = 32768
  var lceBigVocab = 262144
  /// The storage types of the linear cross-entropy cells (--lce-type), in the order given.
  var lceTypes: [LinearStorage] = [.float]
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("softmax-bench: \(message)\n\n\(usage)\n".utf8))
  exit(2)
}

func parse(_ args: [String]) -> Settings {
  var s = Settings()
  var i = 0
  func value() -> String {
    i += 1
    guard i < args.count else { fail("\(args[i - 1]) needs a value") }
    return args[i]
  }
  func positive(_ text: String, _ option: String) -> Int {
    guard let v = Int(text.replacingOccurrences(of: "_", with: "")), v > 0 else {
      fail("\(option) needs a positive integer, got '\(text)'")
    }
    return v
  }
  var quick = false
  var lceGiven: Set<String> = []
  while i < args.count {
    switch args[i] {
    case "--quick":
      s.elements = 1 << 22
      s.repetitions = 2
      quick = true
    case "--size": s.elements = positive(value(), "--size")
    case "--threads": s.threads = value().split(separator: ",").map { positive(String($0), "--threads") }
    case "--repetitions": s.repetitions = positive(value(), "--repetitions")
    case "--filter": s.filter = value()
    case "--isa":
      s.explicitISA = true
      s.levels = value().split(separator: ",").map {
        guard let l = ISALevel(name: String($0)) else { fail("unknown ISA level '\($0)'") }
        guard l <= ISALevel.supported else { fail("this CPU does not support \(l)") }
        return l
      }
    case "--streaming":
      switch value() {
      case "on": s.streaming = true
      case "off": s.streaming = false
      case "auto": s.streaming = nil
      default: fail("--streaming takes on, off or auto")
      }
    case "--lce": s.lce = true
    case "--lce-rows": s.lceRows = positive(value(), "--lce-rows"); lceGiven.insert("rows")
    case "--lce-dim": s.lceDim = positive(value(), "--lce-dim"); lceGiven.insert("dim")
    case "--lce-vocab": s.lceVocab = positive(value(), "--lce-vocab"); lceGiven.insert("vocab")
    case "--lce-big-vocab": s.lceBigVocab = positive(value(), "--lce-big-vocab"); lceGiven.insert("big")
    case "--lce-type":
      s.lceTypes = []
      for name in value().split(separator: ",") {
        guard let t = LinearStorage(rawValue: String(name)) else {
          fail("--lce-type takes float, bfloat16 or float16, got '\(name)'")
        }
        guard t.isAvailable else { fail("\(t) is not available on this platform") }
        if !s.lceTypes.contains(t) { s.lceTypes.append(t) }
      }
      if s.lceTypes.isEmpty { fail("--lce-type needs at least one type") }
    case "--json": s.json = value()
    case "--csv": s.csv = value()
    case "--svg": s.svg = value()
    case "--list": s.list = true
    case "--catalog": s.catalog = true
    case "--help", "-h":
      print(usage)
      exit(0)
    default: fail("unknown option '\(args[i])'")
    }
    i += 1
  }
  if quick {
    // The smoke test's shapes, where not given explicitly (in any order).
    if !lceGiven.contains("rows") { s.lceRows = 256 }
    if !lceGiven.contains("dim") { s.lceDim = 128 }
    if !lceGiven.contains("vocab") { s.lceVocab = 4096 }
    if !lceGiven.contains("big") { s.lceBigVocab = 16384 }
  }
  return s
}

struct Result: Codable {
  var cell: String
  var workload: String
  var algorithm: String
  var isa: String
  var threads: Int
  var medianGBs: Double
  var bestGBs: Double
  var bound: String
  var boundGBs: Double
  var percentOfBound: Double
  var maxRowSumError: Double
  /// Elements per second / 1e9 (the measure that compares a 16-bit cell with its Float cell).
  var medianGElements: Double? = nil
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ v: [Double]) -> Double {
  let s = v.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func toolchain() -> String {
  // The compiler that built this binary, to the minor version (Swift has no run-time query).
  #if compiler(>=6.5)
  let version = "6.5 or later"
  #elseif compiler(>=6.4)
  let version = "6.4"
  #elseif compiler(>=6.3)
  let version = "6.3"
  #else
  let version = "older than 6.3"
  #endif
  #if DEBUG
  return "Swift \(version), debug build"
  #else
  return "Swift \(version), release build"
  #endif
}

// The Array forms first (ArrayFormsCheck.swift): a wrong result there ends the run.
let arrayFailures = checkArrayForms()
if !arrayFailures.isEmpty {
  print("Array forms: \(arrayFailures.count) failures\n" + arrayFailures.joined(separator: "\n"))
  exit(1)
}
if CommandLine.arguments.contains("--check-arrays") {
  print("Array forms: all checks passed")
  exit(0)
}

var settings = parse(Array(CommandLine.arguments.dropFirst()))
let explicitSize = CommandLine.arguments.contains("--size") || CommandLine.arguments.contains("--quick")
let llc = lastLevelCacheBytes()
if !explicitSize {
  // PERF.md's 1 GiB, and at least 4x the last-level cache; three buffers must fit in memory.
  if let llc { settings.elements = max(settings.elements, llc) }  // 4 x LLC bytes = LLC floats
  if let available = availableMemoryBytes() {
    settings.elements = min(settings.elements, available / 4 / 4)
  }
}
let cores = MachineInfo.activeProcessorCount

#if DEBUG
print("""
  ************************************************************************
  WARNING: this is a DEBUG build; the numbers mean nothing.
  Run: swift run -c release softmax-bench
  ************************************************************************
  """)
#endif

let ws = workloads(elements: settings.elements) + allHalfWorkloads(elements: settings.elements)
var cells: [(Workload, SoftmaxAlgorithm?, ISALevel, Int)] = []
func cellName(_ w: Workload, _ a: SoftmaxAlgorithm?, _ l: ISALevel, _ t: Int) -> String {
  "\(w.id)\(a.map { " \($0)" } ?? "") \(l) \(t)t"
}
for w in ws {
  for a in w.algorithms {
    for l in settings.levels {
      for t in settings.threads {
        let name = cellName(w, a, l, t)
        if let f = settings.filter, !name.contains(f) { continue }
        cells.append((w, a, l, t))
      }
    }
  }
}
if settings.catalog {
  printCatalog(workloads(elements: settings.elements))
  exit(0)
}
if settings.list {
  for (w, a, l, t) in cells { print("\(cellName(w, a, l, t))  (\(w.description))") }
  if settings.lce {
    for c in linearCells(settings) { print("\(c.name)  (\(c.description))") }
  }
  exit(0)
}

print("softmax-bench  \(Date())")
print("CPU: \(MachineInfo.cpuModel), \(cores) cores, last-level cache \(llc.map { "\($0 >> 20) MiB" } ?? "unknown"); ISA supported: \(ISALevel.supported), active: \(ISALevel.active)")
print("toolchain: \(toolchain()); elements per workload: \(settings.elements) (\((settings.elements * 4) >> 20) MiB of floats); repetitions: \(settings.repetitions)")

// Buffers: x (input), y (output), z (third array for the roofline).
let n = settings.elements
let x = FloatBuffer(count: n), y = FloatBuffer(count: n), z = FloatBuffer(count: n)
x.fillUniform(-8, 8, seed: 42, threads: cores)
y.fill(0, threads: cores)
z.fillUniform(-8, 8, seed: 7, threads: cores)

// MARK: FMA peak (PeakFLOPS.swift): the compute roofline, always measured (under a second)
let fmaPeaks = measureFMAPeaks(threads: Array(Set([1] + settings.threads)).sorted())
print("\n" + fmaPeaks.summary())

// MARK: Roofline
print("\nroofline (GB/s, median of \(settings.repetitions); bytes counted as the pattern moves them; each")
print("pattern's bound is its fastest implementation)")
var roofline: [String: [Int: Double]] = [:]
for p in rooflinePatterns {
  for v in p.variants {
    var line = "  \((p.name + " (" + v.name + ")").padding(toLength: 46, withPad: " ", startingAt: 0))"
    for t in settings.threads {
      let xp = x.pointer, yp = y.pointer, zp = z.pointer
      var times: [Double] = []
      for rep in 0...settings.repetitions {
        let s = seconds {
          DispatchQueue.concurrentPerform(iterations: t) { i in v.run(xp, zp, yp, chunk(n, t, i)) }
        }
        if rep > 0 { times.append(s) }
      }
      let gbs = Double(n * p.bytesPerElement) / median(times) / 1e9
      roofline[p.name, default: [:]][t] = max(roofline[p.name]?[t] ?? 0, gbs)
      line += String(format: "   %dt %7.2f", t, gbs)
    }
    print(line)
  }
}
print("  bound per pattern: " + rooflinePatterns.map { p in
  p.name + " " + settings.threads.map { String(format: "%.1f", roofline[p.name]?[$0] ?? .nan) }.joined(separator: " / ")
}.joined(separator: ", "))

// MARK: Cells
print("\n\("cell".padding(toLength: 36, withPad: " ", startingAt: 0)) median GB/s   best GB/s   % of bound   check error  Gelem/s")
// The cells of one workload at one thread count (every algorithm and level) are timed in
// rounds, one call of each cell per round: the host's load drifts over minutes (the same
// binary's cell moved 18.8-23.1 GB/s between consecutive calls on 2026-12-01), and
// interleaving makes each cell's median see the same drift, so the comparisons the benchmark
// is for (`automatic` against the other algorithms, one level against another) are not decided
// by when a cell ran. Each cell is warmed up and checked before the rounds; each round starts
// one cell later than the one before (in the first interleaved run, 2026-12-02 01:53, the cell
// timed first in every round, `automatic`, came out 1-8% below the cell of the algorithm it
// runs, the same kernel, in 7 of the 8 rows of W1-W4 at 1 and 2 threads).
var results: [Result] = []
var groups: [[Int]] = []
var groupOf: [String: Int] = [:]
for (k, (w, _, _, t)) in cells.enumerated() {
  let key = "\(w.id) \(t)"
  if let g = groupOf[key] { groups[g].append(k) } else { groupOf[key] = groups.count; groups.append([k]) }
}
var done = 0
for group in groups {
  var times: [Int: [Double]] = [:], errors: [Int: Double] = [:]
  for k in group {
    let (w, a, l, t) = cells[k]
    do {
      try w.run(x.pointer, y.pointer, a, t, l)  // warm-up
      errors[k] = try w.check(x.pointer, y.pointer, t, l)
      times[k] = []
    } catch {
      print("  \(cellName(w, a, l, t)): error \(error)")
    }
  }
  let live = group.filter { times[$0] != nil }
  for round in 0..<settings.repetitions {
    // Each round starts one cell later, so no cell always follows the same one.
    for i in live.indices {
      let k = live[(i + round) % live.count]
      guard times[k] != nil else { continue }
      let (w, a, l, t) = cells[k]
      do {
        times[k]!.append(try seconds { try w.run(x.pointer, y.pointer, a, t, l) })
      } catch {
        print("  \(cellName(w, a, l, t)): error \(error)")
        times[k] = nil
      }
    }
  }
  for k in group {
    done += 1
    guard let times = times[k], let err = errors[k] else { continue }
    let (w, a, l, t) = cells[k]
    let name = cellName(w, a, l, t)
    let bytes = Double(w.rows * w.columns * w.bytesPerElement)
    let med = bytes / median(times) / 1e9, best = bytes / times.min()! / 1e9
    let bound = roofline[w.bound]?[t] ?? .nan
    results.append(Result(cell: name, workload: w.id, algorithm: a?.rawValue ?? "-", isa: l.description,
                          threads: t, medianGBs: med, bestGBs: best, bound: w.bound, boundGBs: bound,
                          percentOfBound: 100 * med / bound, maxRowSumError: err,
                          medianGElements: med / Double(w.bytesPerElement)))
    print(String(format: "%@ %10.2f %11.2f %11.0f%% %15.2e %9.2f   [%d/%d]",
                 name.padding(toLength: 36, withPad: " ", startingAt: 0), med, best, 100 * med / bound,
                 err, med / Double(w.bytesPerElement), done, cells.count))
  }
}

// --json / --csv now, again after each later section (a crash there keeps these results).
var extraRecords: [any Encodable] = fmaPeaks.records
try writeAllResults(results, extra: extraRecords, settings: settings)

// MARK: Sigmoid family (SigmoidWorkloads.swift; cells named Sig1...Sig6)
let sigmoidResults = runSigmoidFamilyCells(settings: settings, x: x, y: y, z: z, roofline: roofline)
if !sigmoidResults.isEmpty { try writeAllResults(results + sigmoidResults, extra: extraRecords, settings: settings) }

// MARK: Linear cross-entropy (LinearWorkloads.swift; cells named L1...L4, with --lce)
let linearResults = runLinearCrossEntropyCells(settings: settings, peaks: fmaPeaks)
if !linearResults.isEmpty {
  extraRecords += linearResults.map { $0 as any Encodable }
  try writeAllResults(results + sigmoidResults, extra: extraRecords, settings: settings)
}

if let path = settings.svg {
  // The chart shows the best level and the most threads that were run.
  let level = settings.levels.max()!.description
  let threads = settings.threads.max()!
  let title = "softmax-bench: \(MachineInfo.cpuModel), \(level), \(threads) threads, \((settings.elements * 4) >> 20) MiB inputs"
  try svgChart(results: results, isa: level, threads: threads, title: title)
    .write(toFile: path, atomically: true, encoding: .utf8)
}
