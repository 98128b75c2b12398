// What every test file shares: the seeded random generator, the base class whose `forEachLevel`
// runs a body at every supported ISA level (naming the level in every failure inside it), the
// one way to assert a thrown `SoftmaxKernelsError` and that outputs were left untouched, the
// ulp / relative / tolerance error measures, and small helpers (messages, bitwise comparison,
// the softmax family's three forward calls).

import Foundation
import SoftmaxKernels
import SoftmaxKernelsCore
import XCTest

// MARK: - Random numbers

/// A deterministic generator, so that every test input is the same on every run and machine.
///
/// Two streams, so that every test keeps the inputs its bounds were measured on: SplitMix64
/// (Steele, Lea & Flood 2014), the default, and xorshift64* (Vigna 2016; seeded with `seed | 1`),
/// which the sigmoid-family tests (sigmoid, BCE, SigLIP, attention weights) draw from.
struct SeededRandom: RandomNumberGenerator {
  enum Stream { case splitMix64, xorshift64Star }

  private var state: UInt64
  private let stream: Stream

  init(seed: UInt64, stream: Stream = .splitMix64) {
    self.stream = stream
    state = stream == .xorshift64Star ? seed | 1 : seed
  }

  mutating func next() -> UInt64 {
    switch stream {
    case .splitMix64:
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    case .xorshift64Star:
      state ^= state >> 12
      state ^= state << 25
      state ^= state >> 27
      return state &* 0x2545_F491_4F6C_DD1D
    }
  }

  /// Uniform in `[lo, hi)`, from the top 53 bits (independent of the standard library's
  /// `random(in:)` algorithm, so values never change with the toolchain).
  mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
    lo + (hi - lo) * (Double(next() >> 11) * 0x1p-53)
  }

  /// `count` values uniform in `[lo, hi)`, rounded to `T`.
  mutating func row<T: BinaryFloatingPoint>(_: T.Type, _ count: Int, _ lo: Double, _ hi: Double) -> [T] {
    (0..<count).map { _ in T(uniform(lo, hi)) }
  }
}

// MARK: - The base class: every ISA level (and scalar type), named in failures

/// The base class of the suite's test cases: `forEachLevel` and a failure context that is
/// appended to every failure recorded inside it.
class SoftmaxKernelsTestCase: XCTestCase {
  /// What the code running now is about ("isa=x86-64-v3", ...), innermost last.
  private var failureContext: [String] = []

  /// Runs `body` with `context` appended to every failure recorded inside it.
  func withFailureContext<R, E: Error>(_ context: String, _ body: () throws(E) -> R) throws(E) -> R {
    failureContext.append(context)
    defer { failureContext.removeLast() }
    return try body()
  }

  /// Runs `body` at every level of `levels` (by default every level this CPU supports, lowest
  /// first); every failure inside names the level.
  func forEachLevel<E: Error>(
    _ levels: [ISALevel] = ISALevel.allSupported, _ body: (ISALevel) throws(E) -> Void
  ) throws(E) {
    for level in levels {
      try withFailureContext("isa=\(level)") { () throws(E) in try body(level) }
    }
  }

  /// Runs `body` with the options of every algorithm (outer) at every level (inner).
  func forEachAlgorithmAndLevel<E: Error>(
    _ algorithms: [SoftmaxAlgorithm] = allAlgorithms, levels: [ISALevel] = ISALevel.allSupported,
    _ body: (SoftmaxOptions) throws(E) -> Void
  ) throws(E) {
    for algorithm in algorithms {
      try forEachLevel(levels) { (level) throws(E) in try body(SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(isa: level))) }
    }
  }

  /// Runs `body` for Float, then Double (a generic test: `forEachScalarType { check($0) }`);
  /// every failure inside names the type.
  func forEachScalarType<E: Error>(_ body: (any KernelScalar.Type) throws(E) -> Void) throws(E) {
    for type in [Float.self, Double.self] as [any KernelScalar.Type] {
      try withFailureContext("\(type)") { () throws(E) in try body(type) }
    }
  }

  private func annotated(_ description: String) -> String {
    failureContext.isEmpty ? description : description + " [" + failureContext.joined(separator: ", ") + "]"
  }

  #if canImport(ObjectiveC)
  override func record(_ issue: XCTIssue) {
    var issue = issue
    issue.compactDescription = annotated(issue.compactDescription)
    super.record(issue)
  }
  #else
  override func recordFailure(
    withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool
  ) {
    super.recordFailure(
      withDescription: annotated(description), inFile: filePath, atLine: lineNumber, expected: expected)
  }
  #endif
}

// MARK: - Thrown errors and untouched outputs

/// The `.invalidArgument` error naming `argument`, as `assertThrows` expects it: the reason is
/// free text; it must not be empty, and must contain `reasonContaining`.
func invalid(_ argument: String, reasonContaining: String = "") -> SoftmaxKernelsError {
  .invalidArgument(argument: argument, reason: reasonContaining)
}

/// Runs `body`, which must throw `expected`: equal to it, except that an `.invalidArgument` must
/// name the same argument with a non-empty reason that contains the expected one (see
/// `invalid`). The error's description must not be empty.
func assertThrows<R, E: Error>(
  _ expected: SoftmaxKernelsError, _ context: @autoclosure () -> String = "",
  file: StaticString = #filePath, line: UInt = #line, _ body: () throws(E) -> R
) {
  let at = context().isEmpty ? "" : context() + ": "
  let thrown: any Error
  do {
    let r = try body()
    return XCTFail("\(at)expected \(expected), returned \(r)", file: file, line: line)
  } catch {
    thrown = error
  }
  guard let error = thrown as? SoftmaxKernelsError else {
    return XCTFail("\(at)expected \(expected), threw \(thrown)", file: file, line: line)
  }
  if case .invalidArgument(let wanted, let wantedReason) = expected {
    if case .invalidArgument(let got, let reason) = error {
      XCTAssertEqual(got, wanted, "\(at)\(error)", file: file, line: line)
      XCTAssertFalse(reason.isEmpty, "\(at)empty reason", file: file, line: line)
      if !wantedReason.isEmpty {
        XCTAssertTrue(reason.contains(wantedReason), "\(at)\(error): the reason does not mention \"\(wantedReason)\"", file: file, line: line)
      }
    } else {
      XCTFail("\(at)expected \(expected), threw \(error)", file: file, line: line)
    }
  } else {
    XCTAssertEqual(error, expected, "\(at)", file: file, line: line)
  }
  XCTAssertFalse(error.description.isEmpty, "\(at)empty description", file: file, line: line)
}

/// Runs `body` on `values` and fails unless they are afterwards bit for bit what they were
/// (a call that throws writes nothing).
func assertUntouched<T: BinaryFloatingPoint>(
  _ values: inout [T], _ context: @autoclosure () -> String = "", file: StaticString = #filePath,
  line: UInt = #line, _ body: (inout [T]) -> Void
) {
  let before = values
  body(&values)
  if let i = firstDifference(values, before) {
    let at = context().isEmpty ? "" : context() + ": "
    let now = i < values.count ? "\(values[i])" : "no element"
    XCTFail("\(at)element \(i) was written: \(now), was \(before[i])", file: file, line: line)
  }
}

/// A value no function produces from the test inputs: marks memory that must not be written.
let sentinel = -12345.5

/// `body` with the array's buffer, or `nil`.
func withOptionalBuffer<T, R>(_ a: [T]?, _ body: (UnsafeBufferPointer<T>?) throws -> R) rethrows -> R {
  guard let a else { return try body(nil) }
  return try a.withUnsafeBufferPointer { try body($0) }
}

// MARK: - Error measures

extension Array where Element: BinaryFloatingPoint {
  /// The exact values as Double.
  var doubles: [Double] {
    if Element.self == Double.self { return unsafeBitCast(self, to: [Double].self) }
    if Element.self == Float.self {
      let f = unsafeBitCast(self, to: [Float].self)
      return [Double](unsafeUninitializedCapacity: f.count) { out, n in
        f.withUnsafeBufferPointer { p in for i in 0..<p.count { out[i] = Double(p[i]) } }
        n = f.count
      }
    }
    return map { Double($0) }
  }
}

/// The worst element of a comparison: its index, value, reference and error (in whatever
/// unit the measure uses; `.infinity` when a value is NaN or infinite where the reference is
/// not, or the other way round).
struct Worst: CustomStringConvertible {
  var error = 0.0
  var index = -1
  var value = 0.0
  var reference = 0.0

  mutating func update(_ e: Double, _ i: Int, _ v: Double, _ r: Double) {
    let e = e.isNaN ? Double.infinity : e
    if index < 0 || e > error { (error, index, value, reference) = (e, i, v, r) }
  }

  var description: String {
    index < 0 ? "no elements" : "error \(error) at index \(index): got \(value), reference \(reference)"
  }
}

/// `|a - b|`: 0 for equal values (infinities included) and for two NaN, infinite for a NaN
/// against a number.
func absoluteError(_ a: Double, _ b: Double) -> Double {
  if a == b || (a.isNaN && b.isNaN) { return 0 }
  let e = abs(a - b)
  return e.isNaN ? .infinity : e
}

/// `|v - r| / (atol + rtol |r|)`: at most 1 when `v` is within the tolerance of `r` (0 for equal
/// values and two NaN, infinite for a NaN against a number or a different infinity).
func toleranceRatio(_ v: Double, _ r: Double, atol: Double, rtol: Double) -> Double {
  let e = absoluteError(v, r)
  return e == 0 || e.isInfinite ? e : e / (atol + rtol * abs(r))
}

/// The worst error per key as a fraction of its bound, with where it happened: one assertion per
/// key at the end, so that a sweep reports each (operation, algorithm, level, ...) once, with its
/// worst case.
struct BoundTally {
  private var worst: [String: (ratio: Double, error: Double, bound: Double, detail: String)] = [:]
  private var keys: [String] = []

  /// Notes an error (NaN counts as infinite) and its bound under `key`.
  mutating func note(_ key: String, _ error: Double, bound: Double, _ detail: @autoclosure () -> String) {
    let e = error.isNaN ? Double.infinity : error
    let ratio = e / bound
    if let w = worst[key], !(ratio > w.ratio) { return }
    if worst[key] == nil { keys.append(key) }
    worst[key] = (ratio, e, bound, detail())
  }

  /// Asserts that every key's worst error is within its bound, in the order the keys came;
  /// with `printing`, prints each key's worst error and bound first.
  func check(printing: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
    for key in keys {
      let w = worst[key]!
      if printing { print(String(format: "%-70@ max %.3g (bound %.3g)", key as NSString, w.error, w.bound)) }
      XCTAssertLessThanOrEqual(
        w.ratio, 1, "\(key): worst \(w.detail) (error \(w.error), bound \(w.bound))", file: file, line: line)
    }
  }
}

/// The error of a Float result against a Double reference: relative, in units of 2^-24, when
/// the reference is a normal float; absolute, in units of the smallest subnormal (2^-149), below
/// that. Infinite for a wrong NaN / infinity.
func ulpError(_ y: Float, _ ref: Double) -> Double {
  if ref.isNaN { return y.isNaN ? 0 : .infinity }
  if y.isNaN { return .infinity }
  if ref.isInfinite || y.isInfinite { return Double(y) == ref ? 0 : .infinity }
  if abs(ref) < Double(Float.leastNormalMagnitude) {
    return abs(Double(y) - ref) / Double(Float.leastNonzeroMagnitude)
  }
  return abs(Double(y) - ref) / abs(ref) / 0x1p-24
}

/// The error of a Double result against a Double reference (units 2^-53 / 2^-1074), for
/// functions whose Double reference is accurate enough (libm's `exp`).
func ulpError(_ y: Double, _ ref: Double) -> Double {
  if ref.isNaN { return y.isNaN ? 0 : .infinity }
  if y.isNaN { return .infinity }
  if ref.isInfinite || y.isInfinite { return y == ref ? 0 : .infinity }
  if abs(ref) < Double.leastNormalMagnitude { return abs(y - ref) / Double.leastNonzeroMagnitude }
  return abs(y - ref) / abs(ref) / 0x1p-53
}

#if arch(x86_64)
/// The error of a Double result against a Float80 reference (units 2^-53 / 2^-1074).
func ulpError(_ y: Double, _ ref: Float80) -> Double {
  if ref.isNaN { return y.isNaN ? 0 : .infinity }
  if y.isNaN { return .infinity }
  if ref.isInfinite || y.isInfinite { return Float80(y) == ref ? 0 : .infinity }
  if abs(ref) < Float80(Double.leastNormalMagnitude) {
    return Double(abs(Float80(y) - ref) / Float80(Double.leastNonzeroMagnitude))
  }
  return Double(abs(Float80(y) - ref) / abs(ref)) / 0x1p-53
}
#endif

/// The worst ulp errors seen and where: relative (normal results) and absolute (subnormal
/// results) apart.
struct UlpWorst: CustomStringConvertible {
  var relative = 0.0
  var relativeAt = 0.0
  var subnormal = 0.0
  var subnormalAt = 0.0

  mutating func add(_ error: Double, at x: Double, subnormal isSubnormal: Bool) {
    if isSubnormal {
      if error > subnormal || error.isNaN { (subnormal, subnormalAt) = (error, x) }
    } else if error > relative || error.isNaN {
      (relative, relativeAt) = (error, x)
    }
  }

  var description: String {
    String(format: "%.3f ulp (relative) at x = %.9g; subnormal results %.3f ulp (absolute) at x = %.9g",
           relative, relativeAt, subnormal, subnormalAt)
  }
}

// MARK: - Comparisons and messages

/// Same value, same sign of zero, or both NaN: "bit-for-bit" for the values the kernels make.
func identical<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> Bool {
  (a.isNaN && b.isNaN) || (a == b && a.sign == b.sign)
}

/// The first index where two arrays are not `identical`, or nil.
func firstDifference<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Int? {
  if a.count != b.count { return Swift.min(a.count, b.count) }
  return a.indices.first { !identical(a[$0], b[$0]) }
}

/// The name of a scalar type for messages.
func typeName<T>(_: T.Type) -> String { T.self == Float.self ? "Float" : "Double" }

/// Every algorithm a test iterates over.
let allAlgorithms = SoftmaxAlgorithm.allCases

/// "alg=... isa=..." for messages.
func describe(_ options: SoftmaxOptions) -> String {
  var s = "alg=\(options.algorithm) isa=\(options.execution.isa.map { "\($0)" } ?? "default")"
  if options.fullyMaskedRowIsZero { s += " fullyMaskedRowIsZero" }
  if options.positiveInfinityIsLimit { s += " positiveInfinityIsLimit" }
  if let t = options.execution.threads { s += " threads=\(t)" }
  return s
}

/// Calls `body` and reports a thrown error as a test failure (the library's functions use
/// typed throws; `XCTAssertNoThrow` would lose the result).
func noThrow<R>(
  _ message: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line,
  _ body: () throws(SoftmaxKernelsError) -> R
) -> R? {
  do { return try body() } catch {
    XCTFail("unexpected error \(error): \(message())", file: file, line: line)
    return nil
  }
}

// MARK: - The softmax family's forward calls

/// Softmax, log-softmax and log-sum-exp of one row, or nil (and a failure) if one throws.
func forward<T: KernelScalar>(
  _ x: [T], _ options: SoftmaxOptions, _ context: @autoclosure () -> String,
  file: StaticString = #filePath, line: UInt = #line
) -> (y: [T], z: [T], l: T)? {
  noThrow(context(), file: file, line: line) { () throws(SoftmaxKernelsError) in
    (try Softmax.forward(x, options: options), try LogSoftmax.forward(x, options: options),
     try LogSumExp.forward(x, options: options))
  }
}

/// Softmax, log-softmax and log-sum-exp of the rows of `columns` entries of `x`, or nil (and a
/// failure) if one throws.
func forward<T: KernelScalar>(
  _ x: [T], columns: Int, _ options: SoftmaxOptions, _ context: @autoclosure () -> String,
  file: StaticString = #filePath, line: UInt = #line
) -> (y: [T], z: [T], l: [T])? {
  noThrow(context(), file: file, line: line) { () throws(SoftmaxKernelsError) in
    (try Softmax.forward(x, columns: columns, options: options),
     try LogSoftmax.forward(x, columns: columns, options: options),
     try LogSumExp.forward(x, columns: columns, options: options))
  }
}

/// `f(x)` for every `x` of `inputs` with one of the kernels' vector functions at `level` (the
/// test hooks: `\.expNonPositive`, `\.expNegative`, `\.log`, `\.log1pUnit`). The outputs start
/// as `unwritten`, so a check can tell an output the function did not write.
func applyVectorFunction<T: KernelScalar>(
  _ function: KeyPath<VectorFunctionHooks<T>, VectorFunction<T>>, to inputs: [T], level: ISALevel,
  unwritten: T = .nan
) -> [T] {
  var outputs = [T](repeating: unwritten, count: inputs.count)
  inputs.withUnsafeBufferPointer { x in
    outputs.withUnsafeMutableBufferPointer { y in
      T.vectorFunctionHooks(level)[keyPath: function](x.baseAddress!, y.baseAddress!, x.count)
    }
  }
  return outputs
}
