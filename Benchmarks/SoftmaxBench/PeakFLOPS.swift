// The machine's single-precision FMA peak (GFLOP/s), measured at the start of every run: the
// compute roofline of the compute-bound cells (linear cross-entropy, LinearWorkloads.swift).
//
// The loops are C (Benchmarks/CPeak): independent FMA chains in vector registers, one variant
// per instruction set, each compiled for its set with a function `target` attribute (this
// target is built without -march flags, where Swift's SIMD types would be SSE code):
//   zmm   AVX-512F `vfmadd213ps zmm`, 16 accumulators     peak of x86-64-v4
//   ymm   AVX2 + FMA `vfmadd213ps ymm`, 12 accumulators   peak of x86-64-v3
//   xmm   SSE2 `mulps` + `addps`, 12 accumulators         peak of the x86-64 baseline (no FMA)
//   neon  arm64 `fmla v.4s`, 16 accumulators              peak of the arm64 baseline
// A variant runs only where `ISALevel.supported` has its level. 2 flops per lane per FMA (per
// mul + add for xmm). Each thread count runs the loop on that many threads at once
// (`concurrentPerform`), every thread the same iterations: total flops / wall time. About
// 20 ms per timed run, 5 runs after a warm-up: under a second for all variants. The peak is
// the fastest run (another process on the machine only slows a run down; on this shared
// 2-vCPU machine a median of 112 GFLOP/s was seen next to a best of 175 during a build); the
// median is recorded too, as a measure of how steady the machine was.

import CSoftmaxBenchPeak
import Dispatch
import Foundation
import SoftmaxKernels

/// One FMA peak loop.
struct FMAPeakVariant {
  /// "zmm", "ymm", "xmm", "neon".
  let name: String
  /// What it executes, for the header and the JSON.
  let instructions: String
  /// The ISA level whose kernels it is the peak of.
  let level: ISALevel
  /// Floating-point operations per iteration (accumulators x lanes x 2).
  let flopsPerIteration: Int
  let run: (_ iterations: Int, _ a: Float, _ b: Float) -> Float
}

/// The variants this build and this CPU can run, widest first.
func fmaPeakVariants() -> [FMAPeakVariant] {
  var all: [(Int32, FMAPeakVariant)] = [
    (0, FMAPeakVariant(name: "zmm", instructions: "AVX-512F vfmadd213ps zmm, 16 accumulators", level: .x86_64_v4,
                       flopsPerIteration: 16 * 16 * 2, run: { softmaxbench_peak_zmm($0, $1, $2) })),
    (1, FMAPeakVariant(name: "ymm", instructions: "AVX2+FMA vfmadd213ps ymm, 12 accumulators", level: .x86_64_v3,
                       flopsPerIteration: 12 * 8 * 2, run: { softmaxbench_peak_ymm($0, $1, $2) })),
    (2, FMAPeakVariant(name: "xmm", instructions: "SSE2 mulps + addps xmm, 12 accumulators (no FMA)", level: .baseline,
                       flopsPerIteration: 12 * 4 * 2, run: { softmaxbench_peak_xmm($0, $1, $2) })),
    (3, FMAPeakVariant(name: "neon", instructions: "NEON fmla v.4s, 16 accumulators", level: .baseline,
                       flopsPerIteration: 16 * 4 * 2, run: { softmaxbench_peak_neon($0, $1, $2) })),
  ]
  all.removeAll { softmaxbench_peak_compiled($0.0) == 0 || $0.1.level > ISALevel.supported }
  return all.map(\.1)
}

/// One measured peak (a JSON record of --json: its `workload` is "FMA peak" and it has no
/// `medianGBs`, so combine.py's GB/s table leaves it out).
struct PeakRecord: Codable {
  var cell: String
  var workload = "FMA peak"
  var variant: String
  var instructions: String
  var isa: String
  var threads: Int
  /// The peak: the fastest run's GFLOP/s (= `bestGFLOPs`).
  var peakGFLOPs: Double
  var medianGFLOPs: Double
  var bestGFLOPs: Double
  /// True for the fastest variant at this thread count: the machine's peak.
  var isMachinePeak: Bool
}

/// The peaks of every variant at every thread count measured.
struct FMAPeaks {
  var records: [PeakRecord] = []

  /// The machine's peak at `threads` (the fastest variant), or nil when not measured.
  func machine(threads: Int) -> PeakRecord? {
    records.filter { $0.threads == threads }.max { $0.peakGFLOPs < $1.peakGFLOPs }
  }

  /// The peak of the variant of `level` (the widest variant whose level is at most `level`).
  func level(_ level: ISALevel, threads: Int) -> PeakRecord? {
    records.filter { $0.threads == threads && ISALevel(name: $0.isa).map { $0 <= level } == true }
      .max { $0.peakGFLOPs < $1.peakGFLOPs }
  }

  /// "FMA peak: 150.1 GFLOP/s 1 thread, 290.3 2 threads (zmm)" and one line per variant.
  func summary() -> String {
    let threads = Array(Set(records.map(\.threads))).sorted()
    guard let best = machine(threads: threads.max() ?? 1) else { return "FMA peak: not measured (no loop for this CPU)" }
    let peaks = threads.map { t in
      String(format: "%.1f", machine(threads: t)?.peakGFLOPs ?? .nan) + (t == threads.first ? " GFLOP/s" : "")
        + " \(t) thread\(t == 1 ? "" : "s")"
    }
    var lines = ["FMA peak: \(peaks.joined(separator: ", ")) (\(best.variant))"]
    var seen: [String] = []
    for r in records where !seen.contains(r.variant) {
      seen.append(r.variant)
      let byThreads = records.filter { $0.variant == r.variant }.map {
        String(format: "%dt %.1f (median %.1f)", $0.threads, $0.peakGFLOPs, $0.medianGFLOPs)
      }
      lines.append("  \(r.variant) (\(r.isa)): \(byThreads.joined(separator: ", ")) GFLOP/s  [\(r.instructions)]")
    }
    return lines.joined(separator: "\n")
  }
}

/// Measures every variant at each of `threads` (`repetitions` runs of about `secondsPerRun`
/// each, after a warm-up).
func measureFMAPeaks(threads: [Int], repetitions: Int = 5, secondsPerRun: Double = 0.02) -> FMAPeaks {
  var peaks = FMAPeaks()
  let a: Float = 0.999_999, b: Float = 1e-6
  let sinks = UnsafeMutablePointer<Float>.allocate(capacity: max(threads.max() ?? 1, 1))
  defer { sinks.deallocate() }
  for v in fmaPeakVariants() {
    // Calibration on one thread: iterations for about `secondsPerRun`.
    _ = v.run(20_000, a, b)
    let probe = 200_000
    let probeSeconds = seconds { blackHole += v.run(probe, a, b) }
    let iterations = max(10_000, Int(Double(probe) * secondsPerRun / max(probeSeconds, 1e-6)))
    var best: [(Int, Double, Double)] = []
    for t in threads {
      var times: [Double] = []
      for rep in 0...repetitions {
        let s = seconds {
          DispatchQueue.concurrentPerform(iterations: t) { i in sinks[i] = v.run(iterations, a, b) }
        }
        if rep > 0 { times.append(s) }
      }
      for i in 0..<t { blackHole += sinks[i] }
      let flops = Double(iterations) * Double(v.flopsPerIteration) * Double(t)
      best.append((t, flops / median(times) / 1e9, flops / times.min()! / 1e9))
    }
    for (t, med, top) in best {
      peaks.records.append(PeakRecord(
        cell: "FMA peak \(v.name) \(t)t", variant: v.name, instructions: v.instructions,
        isa: v.level.description, threads: t, peakGFLOPs: top, medianGFLOPs: med, bestGFLOPs: top,
        isMachinePeak: false))
    }
  }
  for t in threads {
    if let m = peaks.machine(threads: t), let i = peaks.records.firstIndex(where: { $0.cell == m.cell }) {
      peaks.records[i].isMachinePeak = true
    }
  }
  return peaks
}
