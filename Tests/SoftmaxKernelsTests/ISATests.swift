// The instruction-set levels: detection (`supported`, checked against /proc/cpuinfo), the
// process default (`active`, and SOFTMAXKERNELS_ISA, checked in child processes since it is
// read once per process), name parsing, and agreement of the results at every level.

import Foundation
import SoftmaxKernels
import XCTest

final class ISATests: SoftmaxKernelsTestCase {
  /// The level the CPU flags in /proc/cpuinfo allow (x86-64 Linux), or nil elsewhere.
  static func levelFromCPUInfo() -> ISALevel? {
    #if os(Linux) && arch(x86_64)
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return nil }
    let flags = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
    let v3: Set = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
    let v4: Set = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    if !v3.isSubset(of: flags) { return .baseline }
    return v4.isSubset(of: flags) ? .x86_64_v4 : .x86_64_v3
    #elseif arch(arm64)
    return .baseline
    #else
    return nil
    #endif
  }

  func testSupportedMatchesTheCPU() throws {
    guard let expected = Self.levelFromCPUInfo() else { throw XCTSkip("no CPU flags to compare with") }
    XCTAssertEqual(ISALevel.supported, expected, "ISALevel.supported vs the flags in /proc/cpuinfo")
    XCTAssertEqual(ISALevel.supported, ISALevel.supported, "detected once")
  }

  func testAllSupported() {
    XCTAssertEqual(ISALevel.allSupported, ISALevel.allCases.filter { $0 <= ISALevel.supported })
    XCTAssertEqual(ISALevel.allSupported.first, .baseline)
    XCTAssertEqual(ISALevel.allSupported.last, ISALevel.supported)
    XCTAssertEqual(ISALevel.allSupported, ISALevel.allSupported.sorted(), "lowest first")
    XCTAssertTrue(ISALevel.baseline < .x86_64_v3 && ISALevel.x86_64_v3 < .x86_64_v4)
  }

  func testActiveDefaultsToSupported() {
    let env = ProcessInfo.processInfo.environment["SOFTMAXKERNELS_ISA"] ?? ""
    if env.isEmpty {
      XCTAssertEqual(ISALevel.active, ISALevel.supported)
    } else {
      XCTAssertEqual(ISALevel.active, min(ISALevel(name: env) ?? ISALevel.supported, ISALevel.supported), "SOFTMAXKERNELS_ISA=\(env)")
    }
    XCTAssertLessThanOrEqual(ISALevel.active, ISALevel.supported)
  }

  func testNameParsing() {
    let names: [(String, ISALevel?)] = [
      ("baseline", .baseline), ("sse2", .baseline), ("scalar", .baseline), ("generic", .baseline), ("BASELINE", .baseline),
      ("x86-64-v3", .x86_64_v3), ("x86_64_v3", .x86_64_v3), ("v3", .x86_64_v3), ("avx2", .x86_64_v3), ("X86-64-V3", .x86_64_v3),
      ("x86-64-v4", .x86_64_v4), ("x86_64_v4", .x86_64_v4), ("v4", .x86_64_v4), ("avx512", .x86_64_v4), ("avx-512", .x86_64_v4),
      ("AVX512", .x86_64_v4),
      ("", nil), ("v2", nil), ("x86-64-v2", nil), ("v5", nil), ("neon", nil), (" v3", nil), ("avx", nil),
    ]
    for (name, level) in names {
      XCTAssertEqual(ISALevel(name: name), level, "ISALevel(name: \"\(name)\")")
    }
    for level in ISALevel.allCases {
      XCTAssertEqual(ISALevel(name: level.description), level, "round trip of \(level)")
    }
    XCTAssertEqual(ISALevel.allCases.map(\.description), ["baseline", "x86-64-v3", "x86-64-v4"])
  }

  // MARK: - SOFTMAXKERNELS_ISA, in child processes

  func testEnvironmentVariableSelectsTheLevel() throws {
    guard !ChildProcess.isChild else { return }
    let supported = ISALevel.supported
    // (value, expected active level, whether a warning is printed)
    let cases: [(String, ISALevel, Bool)] = [
      ("baseline", .baseline, false),
      ("BASELINE", .baseline, false),
      ("x86-64-v3", min(.x86_64_v3, supported), supported < .x86_64_v3),
      ("x86-64-v4", min(.x86_64_v4, supported), supported < .x86_64_v4),
      ("not-a-level", supported, true),
      ("", supported, false),
    ]
    for (value, expected, warns) in cases {
      guard let result = try ChildProcess.run("ISATests", "testChildReportsTheActiveLevel", environment: ["SOFTMAXKERNELS_ISA": value]) else {
        throw XCTSkip("child processes are only run on Linux")
      }
      XCTAssertTrue(result.passed, "SOFTMAXKERNELS_ISA=\(value): child failed:\n\(result.tail)")
      XCTAssertTrue(result.output.contains("ACTIVE=\(expected)\n"), "SOFTMAXKERNELS_ISA=\(value): expected active \(expected):\n\(result.tail)")
      XCTAssertEqual(
        result.output.contains("SoftmaxKernels: warning:"), warns,
        "SOFTMAXKERNELS_ISA=\(value): warning printed? output:\n\(result.tail)")
    }
  }

  /// Child entry point: prints the active level and checks that calls without `isa` use it.
  func testChildReportsTheActiveLevel() throws {
    try ChildProcess.requireChild()
    print("ACTIVE=\(ISALevel.active)")
    var rng = SeededRandom(seed: 41)
    let x: [Float] = rng.row(Float.self, 1000, -10, 10)
    for algorithm in allAlgorithms {
      let implicit = try Softmax.forward(x, options: SoftmaxOptions(algorithm: algorithm))
      let explicit = try Softmax.forward(x, options: SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(isa: ISALevel.active)))
      XCTAssertNil(firstDifference(implicit, explicit), "\(algorithm): isa nil differs from isa \(ISALevel.active)")
    }
  }

  // MARK: - Agreement between levels

  func testLevelsAgree() {
    forEachScalarType { agree($0) }
  }

  func agree<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 42)
    for n in [1, 7, 17, 100, 4097, 10_000] {
      let x: [T] = rng.row(T.self, n, -20, 20)
      let g: [T] = rng.row(T.self, n, -1, 1)
      for algorithm in allAlgorithms {
        func run(_ level: ISALevel) -> (y: [T], z: [T], l: T, dy: [T], dz: [T])? {
          let options = SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(isa: level))
          return noThrow("\(describe(options)) C=\(n)") { () throws(SoftmaxKernelsError) in
            let y = try Softmax.forward(x, options: options)
            let z = try LogSoftmax.forward(x, options: options)
            return (
              y, z, try LogSumExp.forward(x, options: options),
              try Softmax.backward(output: y, outputGradient: g, options: options),
              try LogSoftmax.backward(output: z, outputGradient: g, options: options)
            )
          }
        }
        guard let base = run(.baseline) else { continue }
        forEachLevel(ISALevel.allSupported.filter { $0 != .baseline }) { level in
          guard let r = run(level) else { return }
          let context = "\(typeName(T.self)) \(algorithm) C=\(n): \(level) vs baseline"
          // Each within its bound of the reference, so within twice it of each other.
          let w = softmaxErrors(r.y, base.y.doubles, inputs: x.doubles).excess
          XCTAssertLessThanOrEqual(w.error, 2 * Bounds.softmax(T.self, columns: n), "softmax, \(context): \(w)")
          let wz = scaledAbsoluteError(r.z, base.z.doubles)
          XCTAssertLessThanOrEqual(wz.error, 2 * Bounds.logSoftmax(T.self), "logSoftmax, \(context): \(wz)")
          let wl = scaledAbsoluteError([r.l], [Double(base.l)])
          XCTAssertLessThanOrEqual(wl.error, 2 * Bounds.logSumExp(T.self), "logSumExp, \(context): \(wl)")
          let (atol, rtol) = Bounds.gradient(T.self)
          for (a, b, name) in [(r.dy, base.dy, "softmaxBackward"), (r.dz, base.dz, "logSoftmaxBackward")] {
            if let i = a.indices.first(where: { toleranceRatio(Double(a[$0]), Double(b[$0]), atol: atol, rtol: rtol) > 2 }) {
              XCTFail("\(name), \(context): element \(i): \(a[i]) vs \(b[i])")
            }
          }
        }
      }
    }
  }
}
