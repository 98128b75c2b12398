// Accuracy of softmax, log-softmax and log-sum-exp against the float64 reference, for every
// algorithm x every supported ISA level x row lengths 1...33 (every partial vector of Float's 16
// and Double's 8 lanes) and longer rows around the unroll and window sizes, on several input
// distributions. Bounds: ../shared/SPEC.md §7.4 for Float; measured, then set, for Double.
// The measured maxima are printed once as a table (for the README's accuracy table).

import Foundation
import SoftmaxKernels
import XCTest

/// Max errors seen by the accuracy tests, printed by `AccuracyTests.tearDown()`.
final class ErrorTable: @unchecked Sendable {
  static let shared = ErrorTable()

  /// softmax relative error (raw, by row length), the same beyond the rounding of `x - max`
  /// (what the bounds apply to), `|sum - 1|`, and the scaled log-softmax and log-sum-exp errors.
  static let metrics = ["sm C<=1e4", "sm C>1e4", "sm excess", "|sum-1|", "logSoftmax", "logSumExp"]

  private let lock = NSLock()
  private var maxima: [String: Double] = [:]
  private var rows: [String] = []

  func record(_ type: String, _ algorithm: SoftmaxAlgorithm, _ input: String, _ metric: String, _ e: Double) {
    lock.lock()
    defer { lock.unlock() }
    for key in ["\(type)|\(algorithm)|\(input)", "\(type)|\(algorithm)|all inputs"] {
      if !rows.contains(key) { rows.append(key) }
      maxima["\(key)|\(metric)", default: 0] = max(maxima["\(key)|\(metric)", default: 0], e)
    }
  }

  func render() -> String {
    lock.lock()
    defer { lock.unlock() }
    func cell(_ v: Double?) -> String {
      guard let v else { return "-".padding(toLength: 11, withPad: " ", startingAt: 0) }
      return String(format: "%-11.2e", v)
    }
    let header = "type    algorithm           input            "
      + ErrorTable.metrics.map { $0.padding(toLength: 20, withPad: " ", startingAt: 0).prefix(11) + " " }.joined()
    var lines = [
      "Measured max errors (max over ISA levels \(ISALevel.allSupported) and row lengths). sm: softmax relative",
      "error (entries > 1e-30) for C <= 1e4 and C > 1e4; sm excess: the same beyond half an ulp of x - max",
      "(what the bounds apply to); logSoftmax, logSumExp: |error| / max(1, |reference|).", header,
    ]
    // "all inputs" rows first, then per input distribution.
    let ordered = rows.filter { $0.hasSuffix("all inputs") } + rows.filter { !$0.hasSuffix("all inputs") }
    for key in ordered {
      let parts = key.split(separator: "|").map(String.init)
      var line = parts[0].padding(toLength: 8, withPad: " ", startingAt: 0)
        + parts[1].padding(toLength: 20, withPad: " ", startingAt: 0)
        + parts[2].padding(toLength: 17, withPad: " ", startingAt: 0)
      for m in ErrorTable.metrics { line += cell(maxima["\(key)|\(m)"]) + " " }
      lines.append(line)
    }
    return lines.joined(separator: "\n")
  }
}

final class AccuracyTests: SoftmaxKernelsTestCase {
  /// Every partial vector for both types, unroll and window boundaries, and long rows.
  static let sizes = Array(1...33) + [63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 10_000, 100_003]

  struct Input {
    var name: String
    var lo: Double
    var hi: Double
    var seed: UInt64
  }

  static let uniform8 = Input(name: "U[-8,8)", lo: -8, hi: 8, seed: 1)
  static let uniform30 = Input(name: "U[-30,30)", lo: -30, hi: 30, seed: 2)
  /// exp(x) would overflow Float without the max shift (XNNPACK's test range).
  static let high90 = Input(name: "U[90,100)", lo: 90, hi: 100, seed: 3)
  /// Large magnitudes that the two-pass algorithm handles without falling back (< 1e5).
  static let around1e4 = Input(name: "1e4+U[-10,10)", lo: 1e4 - 10, hi: 1e4 + 10, seed: 4)
  static let around5e4 = Input(name: "5e4+U[-10,10)", lo: 5e4 - 10, hi: 5e4 + 10, seed: 5)
  /// Wide range: many entries underflow.
  static let wide1000 = Input(name: "U[-1000,1000)", lo: -1000, hi: 1000, seed: 6)
  /// Nearly equal logits: every exp(x - max) is close to 1, so the per-lane float sums add
  /// hundreds of nearly equal terms (the hardest case for the windowed summation).
  static let nearlyEqual = Input(name: "U[0,1e-3)", lo: 0, hi: 1e-3, seed: 7)

  override class func tearDown() {
    print(ErrorTable.shared.render())
    super.tearDown()
  }

  func testFloatUniform8() { sweep(Float.self, Self.uniform8) }
  func testFloatUniform30() { sweep(Float.self, Self.uniform30) }
  func testFloat90To100() { sweep(Float.self, Self.high90) }
  func testFloatAround1e4() { sweep(Float.self, Self.around1e4) }
  func testFloatAround5e4() { sweep(Float.self, Self.around5e4) }
  func testFloatWide1000() { sweep(Float.self, Self.wide1000) }
  func testFloatNearlyEqual() { sweep(Float.self, Self.nearlyEqual) }

  func testDoubleUniform8() { sweep(Double.self, Self.uniform8) }
  func testDoubleUniform30() { sweep(Double.self, Self.uniform30) }
  func testDouble90To100() { sweep(Double.self, Self.high90) }
  func testDoubleAround1e4() { sweep(Double.self, Self.around1e4) }
  func testDoubleAround5e4() { sweep(Double.self, Self.around5e4) }
  func testDoubleWide1000() { sweep(Double.self, Self.wide1000) }
  func testDoubleNearlyEqual() { sweep(Double.self, Self.nearlyEqual) }

  func sweep<T: KernelScalar>(
    _ type: T.Type, _ input: Input, file: StaticString = #filePath, line: UInt = #line
  ) {
    let name = typeName(T.self)
    var rng = SeededRandom(seed: input.seed)
    // The worst case of one (operation, algorithm, level) over all sizes, as a fraction of the
    // size's bound.
    var tally = BoundTally()

    for n in Self.sizes {
      let x = rng.row(T.self, n, input.lo, input.hi)
      let xd = x.doubles
      let refY = Reference.softmax(xd)
      let refZ = Reference.logSoftmax(xd)
      let refL = Reference.logSumExp(xd)
      let smBound = Bounds.softmax(T.self, columns: n)
      forEachAlgorithmAndLevel { options in
        let key = "\(name) \(input.name) \(describe(options))"
        guard let (y, z, l) = forward(x, options, key) else { return }

        let (rel, relExcess) = softmaxErrors(y, refY, inputs: xd)
        let sum = sumError(y)
        let logErr = scaledAbsoluteError(z, refZ)
        let lseErr = scaledAbsoluteError([l], [refL])

        let (t, algorithm) = (ErrorTable.shared, options.algorithm)
        t.record(name, algorithm, input.name, n <= 10_000 ? "sm C<=1e4" : "sm C>1e4", rel.error)
        t.record(name, algorithm, input.name, "sm excess", relExcess.error)
        t.record(name, algorithm, input.name, "|sum-1|", sum)
        t.record(name, algorithm, input.name, "logSoftmax", logErr.error)
        t.record(name, algorithm, input.name, "logSumExp", lseErr.error)

        tally.note(
          "softmax relative error beyond the rounding of x - max, \(key)", relExcess.error, bound: smBound,
          "C=\(n): \(relExcess) (bound \(smBound)); largest raw relative error \(rel.error)")
        tally.note("|sum - 1|, \(key)", sum, bound: smBound, "C=\(n): |sum - 1| = \(sum) (bound \(smBound))")
        tally.note(
          "logSoftmax error / max(1,|ref|), \(key)", logErr.error, bound: Bounds.logSoftmax(T.self),
          "C=\(n): \(logErr) (bound \(Bounds.logSoftmax(T.self)))")
        tally.note(
          "logSumExp error / max(1,|ref|), \(key)", lseErr.error, bound: Bounds.logSumExp(T.self),
          "C=\(n): got \(l), reference \(refL), scaled error \(lseErr.error) (bound \(Bounds.logSumExp(T.self)))")
      }
    }
    // One assertion per (operation, algorithm, level): the worst row length and element.
    tally.check(file: file, line: line)
  }
}
