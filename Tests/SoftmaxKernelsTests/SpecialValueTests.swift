// Every cell of the special-value table (../shared/SPEC.md §2.7) for every algorithm x every
// supported ISA level x Float and Double, with the special entry at every index of short rows
// (first vector, second vector of the unrolled body, partial tail) and at chosen indices of
// longer rows, plus a row long enough to be split over two threads and a row long enough for
// `.automatic` to pick the two-pass algorithm.
//
// The two-pass algorithm traps on a row holding +inf or a finite entry above FLT_MAX / log2(e)
// (see `runs`); those cases run in child processes (`test...InChildProcess`) so that the trap
// fails one test instead of ending the run.

import Foundation
import SoftmaxKernels
import XCTest

final class SpecialValueTests: SoftmaxKernelsTestCase {
  /// Row lengths with the special entry placed at every index: Float's 16 and Double's 8 lanes,
  /// the two-vector unroll, and partial tails.
  static let sweepSizes = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 37]
  /// Longer rows with the special entry at chosen indices.
  static let spotSizes: [(columns: Int, indices: [Int])] = [
    (64, [0, 15, 16, 63]), (65, [64]), (1000, [0, 500, 999]), (4097, [0, 2048, 4096]),
  ]

  static var positions: [(columns: Int, index: Int)] {
    sweepSizes.flatMap { n in (0..<n).map { (n, $0) } }
      + spotSizes.flatMap { s in s.indices.map { (s.columns, $0) } }
  }

  /// A finite background row, U[-3, 3), the same for every call with the same length.
  static func background<T: KernelScalar>(_: T.Type, _ n: Int) -> [T] {
    var rng = SeededRandom(seed: 0x5EED_0000 + UInt64(n))
    return rng.row(T.self, n, -3, 3)
  }

  /// Whether a case runs in this process. Two-pass traps on a row holding +inf or a finite
  /// entry so large that `x log2(e)` overflows (Kernels/Softmax/TwoPassSum.swift `scaled`: `Int(NaN)` from
  /// `foldExtended`), so those cases run only in the child process, which runs nothing else.
  static func runs<T: KernelScalar>(_ algorithm: SoftmaxAlgorithm, _ row: [T]) -> Bool {
    let traps = algorithm.resolved(columns: row.count) == .twoPass
      && row.contains { $0 > T.greatestFiniteMagnitude / T(M_LOG2E) }
    return ChildProcess.isChild ? traps : !traps
  }

  // MARK: - Failure reporting

  /// Mismatches of the current test: the first few are reported in full, the rest counted by
  /// (type, algorithm, level), so that one bug does not print thousands of lines.
  private var shown = 0
  private var counts: [String: Int] = [:]
  private var firstLine: (StaticString, UInt)?

  func report(_ message: String, key: String, file: StaticString, line: UInt) {
    counts[key, default: 0] += 1
    if firstLine == nil { firstLine = (file, line) }
    if shown < 12 {
      shown += 1
      XCTFail(message, file: file, line: line)
    }
  }

  override func tearDown() {
    let total = counts.values.reduce(0, +)
    if total > shown, let (file, line) = firstLine {
      let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
      XCTFail("\(total - shown) more mismatches not shown; mismatches per case: \(summary)", file: file, line: line)
    }
    shown = 0
    counts = [:]
    firstLine = nil
    super.tearDown()
  }

  // MARK: - The checker

  /// Runs softmax, log-softmax and log-sum-exp on `row` with every algorithm and level and
  /// compares them with the reference under the same options.
  func check<T: KernelScalar>(
    _ row: [T], _ label: @autoclosure () -> String, masked: Bool = false, limit: Bool = false,
    threads: Int? = nil, levels: [ISALevel] = ISALevel.allSupported,
    algorithms: [SoftmaxAlgorithm] = allAlgorithms, file: StaticString = #filePath, line: UInt = #line
  ) {
    let xd = row.doubles
    let n = row.count
    let expected: [Operation: [Double]] = [
      .softmax: Reference.softmax(xd, fullyMaskedRowIsZero: masked, positiveInfinityIsLimit: limit),
      .logSoftmax: Reference.logSoftmax(xd, fullyMaskedRowIsZero: masked, positiveInfinityIsLimit: limit),
      .logSumExp: [Reference.logSumExp(xd)],
    ]
    for algorithm in algorithms where Self.runs(algorithm, row) {
      forEachLevel(levels) { level in
        let options = SoftmaxOptions(algorithm: algorithm, fullyMaskedRowIsZero: masked, positiveInfinityIsLimit: limit, execution: ExecutionOptions(threads: threads, isa: level))
        func context() -> String { "\(label()) \(typeName(T.self)) \(describe(options)) row \(describeRow(xd))" }
        for operation in [Operation.softmax, .logSoftmax, .logSumExp] {
          guard
            let out = noThrow(context(), file: file, line: line, { () throws(SoftmaxKernelsError) -> [T] in
              switch operation {
              case .softmax: return try Softmax.forward(row, options: options)
              case .logSoftmax: return try LogSoftmax.forward(row, options: options)
              case .logSumExp: return [try LogSumExp.forward(row, options: options)]
              }
            })
          else { continue }
          if let m = mismatch(out, expected[operation]!, operation, inputs: xd, columns: n) {
            report(
              "\(context()): \(m)", key: "\(typeName(T.self)) \(algorithm) \(level) \(operation)",
              file: file, line: line)
          }
        }
      }
    }
  }

  /// `check` for Float and Double rows built by `make`.
  func checkBoth(
    _ label: @autoclosure () -> String, masked: Bool = false, limit: Bool = false,
    threads: Int? = nil, file: StaticString = #filePath, line: UInt = #line,
    _ make: (_ background: [Double]) -> [Double], columns n: Int
  ) {
    let f = make(Self.background(Float.self, n).doubles).map { Float($0) }
    check(f, label(), masked: masked, limit: limit, threads: threads, file: file, line: line)
    let d = make(Self.background(Double.self, n).doubles)
    check(d, label(), masked: masked, limit: limit, threads: threads, file: file, line: line)
  }

  /// Every (flag, flag) combination.
  static let flagSets: [(masked: Bool, limit: Bool)] = [(false, false), (true, false), (false, true), (true, true)]

  // MARK: - C = 0

  func testEmptyRow() {
    for algorithm in allAlgorithms {
      forEachLevel { level in
        for flags in Self.flagSets {
          let options = SoftmaxOptions(algorithm: algorithm, fullyMaskedRowIsZero: flags.masked, positiveInfinityIsLimit: flags.limit, execution: ExecutionOptions(isa: level))
          let context = "C = 0, \(describe(options))"
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward([Float](), options: options) }, [], context)
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.forward([Double](), options: options) }, [], context)
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try LogSumExp.forward([Float](), options: options) }, -.infinity, context)
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try LogSumExp.forward([Double](), options: options) }, -.infinity, context)
          // Rows of zero columns: every row's log-sum-exp is -inf; softmax writes nothing.
          var lse = [Float](repeating: 7, count: 4)
          let empty = [Float]()
          empty.withUnsafeBufferPointer { x in
            lse.withUnsafeMutableBufferPointer { out in
              _ = noThrow(context) { () throws(SoftmaxKernelsError) in
                try LogSumExp.forward(Rows(x, rows: 3, columns: 0), into: out, options: options)
              }
            }
          }
          XCTAssertEqual(lse, [-.infinity, -.infinity, -.infinity, 7], "rows x 0 columns, \(context)")
          var untouched = [Double](repeating: 7, count: 2)
          [Double]().withUnsafeBufferPointer { x in
            untouched.withUnsafeMutableBufferPointer { out in
              _ = noThrow(context) { () throws(SoftmaxKernelsError) in
                try Softmax.forward(Rows(x, rows: 3, columns: 0), into: MutableRows(out, rows: 3, columns: 0), options: options)
              }
            }
          }
          XCTAssertEqual(untouched, [7, 7], "softmax of rows x 0 columns wrote output, \(context)")
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in
            try LogSumExp.forward([Float]().span, options: options)
          }, -.infinity, context)
        }
      }
    }
  }

  // MARK: - NaN

  func testNaNAnywhereMakesTheRowNaN() {
    for (n, i) in Self.positions {
      for flags in [Self.flagSets[0], Self.flagSets[3]] {
        checkBoth("NaN at \(i)", masked: flags.masked, limit: flags.limit, { x in
          var x = x
          x[i] = .nan
          return x
        }, columns: n)
      }
    }
  }

  /// NaN filling whole vectors, several NaN, NaN with -inf, all NaN.
  func testNaNBlocksAndMixtures() {
    let cases: [(String, Int, (inout [Double]) -> Void)] = [
      ("NaN in all of elements 16..<32", 64, { x in for i in 16..<32 { x[i] = .nan } }),
      ("NaN in all of elements 8..<16", 64, { x in for i in 8..<16 { x[i] = .nan } }),
      ("NaN in all of elements 32..<48", 48, { x in for i in 32..<48 { x[i] = .nan } }),
      ("NaN in the whole partial tail 32..<37", 37, { x in for i in 32..<37 { x[i] = .nan } }),
      ("NaN in the whole partial tail 16..<20", 20, { x in for i in 16..<20 { x[i] = .nan } }),
      ("every element NaN", 37, { x in for i in x.indices { x[i] = .nan } }),
      ("NaN and -inf", 37, { x in x[3] = .nan; x[20] = -.infinity }),
      ("NaN in a row of -inf", 37, { x in for i in x.indices { x[i] = -.infinity }; x[33] = .nan }),
      ("NaN at even indices", 100, { x in for i in stride(from: 0, to: x.count, by: 2) { x[i] = .nan } }),
      ("NaN and 1e30", 40, { x in x[1] = 1e30; x[35] = .nan }),
    ]
    for (label, n, edit) in cases {
      for flags in Self.flagSets {
        checkBoth(label, masked: flags.masked, limit: flags.limit, { x in
          var x = x
          edit(&x)
          return x
        }, columns: n)
      }
    }
  }

  // MARK: - -inf

  func testFullyMaskedRow() {
    for n in Self.sweepSizes + [64, 65, 1000, 4097] {
      for flags in Self.flagSets {
        // Default: NaN rows, lse -inf. fullyMaskedRowIsZero: zeros / -inf / -inf.
        checkBoth("all -inf", masked: flags.masked, limit: flags.limit, { x in
          x.map { _ in -Double.infinity }
        }, columns: n)
      }
    }
  }

  func testNegativeInfinityAmongFiniteGivesExactZeros() {
    for (n, i) in Self.positions where n > 1 {
      checkBoth("-inf at \(i)", { x in
        var x = x
        x[i] = -.infinity
        return x
      }, columns: n)
    }
    for n in [2, 17, 37, 100, 4097] {
      for flags in Self.flagSets {
        checkBoth("-inf at every other index", masked: flags.masked, limit: flags.limit, { x in
          x.indices.map { $0 % 2 == 1 ? -.infinity : x[$0] }
        }, columns: n)
        checkBoth("only the last entry finite", masked: flags.masked, limit: flags.limit, { x in
          x.indices.map { $0 == x.count - 1 ? x[$0] : -.infinity }
        }, columns: n)
      }
    }
  }

  // MARK: - +inf

  func testPositiveInfinity() { positiveInfinityCases() }

  /// One +inf: NaN rows and lse +inf by default; one-hot (log-softmax 0 there, -inf elsewhere)
  /// with `positiveInfinityIsLimit`. Several +inf or +inf with NaN: NaN either way.
  func positiveInfinityCases() {
    for (n, i) in Self.positions {
      for flags in Self.flagSets {
        checkBoth("+inf at \(i)", masked: flags.masked, limit: flags.limit, { x in
          var x = x
          x[i] = .infinity
          return x
        }, columns: n)
      }
      // The one-hot entry is exact: log-softmax exactly 0, softmax exactly 1 (also checked
      // by `check`, restated here for the log-softmax 0).
      for algorithm in allAlgorithms {
        var x = Self.background(Float.self, n)
        x[i] = .infinity
        guard Self.runs(algorithm, x) else { continue }
        let options = SoftmaxOptions(algorithm: algorithm, positiveInfinityIsLimit: true)
        if let z = noThrow("+inf at \(i) C=\(n)", { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, options: options) }) {
          XCTAssertEqual(z[i], 0, "log-softmax at the +inf entry, \(describe(options)) C=\(n) index \(i)")
          XCTAssertEqual(z.filter { $0 == -.infinity }.count, n - 1, "\(describe(options)) C=\(n) index \(i): \(z)")
        }
      }
      if n > 1 {
        let j = (i + n / 2) % n == i ? (i + 1) % n : (i + n / 2) % n
        /// +inf at `i` and `second` at `j`.
        func checkPair(_ label: String, second: Double, _ flags: (masked: Bool, limit: Bool)) {
          checkBoth(label, masked: flags.masked, limit: flags.limit, { x in
            var x = x
            x[i] = .infinity
            x[j] = second
            return x
          }, columns: n)
        }
        // NaN whatever the options: with both flags set is the case that could go wrong.
        for flags in [Self.flagSets[0], Self.flagSets[3]] {
          checkPair("+inf at \(i) and \(j)", second: .infinity, flags)
          checkPair("+inf at \(i), NaN at \(j)", second: .nan, flags)
        }
        // NaN by default, one-hot with the limit option.
        for flags in [Self.flagSets[0], Self.flagSets[2]] {
          checkPair("+inf at \(i), -inf at \(j)", second: -.infinity, flags)
        }
      }
    }
    for n in [2, 17, 37] {
      for flags in Self.flagSets {
        checkBoth("every entry +inf", masked: flags.masked, limit: flags.limit, { x in
          x.map { _ in Double.infinity }
        }, columns: n)
        checkBoth("+inf among -inf", masked: flags.masked, limit: flags.limit, { x in
          x.indices.map { $0 == n / 2 ? .infinity : -.infinity }
        }, columns: n)
      }
    }
  }

  // MARK: - Huge finite magnitudes

  func testHugeMagnitudesAreExact() {
    // [1e30, -1e30] and the reverse: exact one-hot.
    for flags in [Self.flagSets[0], Self.flagSets[3]] {
      for row in [[1e30, -1e30], [-1e30, 1e30], [1e30, 1e30, -1e30]] {
        check(row.map { Float($0) }, "huge", masked: flags.masked, limit: flags.limit)
        check(row, "huge", masked: flags.masked, limit: flags.limit)
      }
    }
    // One huge spike among small values: exact one-hot; one huge negative entry: exact 0.
    for (n, i) in Self.positions where n > 1 {
      for (name, value) in [("1e30", 1e30), ("-1e30", -1e30)] {
        checkBoth("\(name) at \(i)", { x in
          var x = x
          x[i] = value
          return x
        }, columns: n)
      }
    }
    largestMagnitudeCases()
  }

  /// The largest finite magnitudes: `x - max` overflows to -inf and must still give exact 0.
  func largestMagnitudeCases() {
    let f: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0]
    let d: [Double] = [-.greatestFiniteMagnitude, .greatestFiniteMagnitude]
    forEachAlgorithmAndLevel(allAlgorithms.filter { Self.runs($0, f) }) { options in
      XCTAssertEqual(noThrow(describe(options)) { () throws(SoftmaxKernelsError) in try Softmax.forward(f, options: options) }, [1, 0, 0], describe(options))
      XCTAssertEqual(noThrow(describe(options)) { () throws(SoftmaxKernelsError) in try LogSumExp.forward(f, options: options) }, .greatestFiniteMagnitude, describe(options))
      XCTAssertEqual(noThrow(describe(options)) { () throws(SoftmaxKernelsError) in try Softmax.forward(d, options: options) }, [0, 1], describe(options))
      XCTAssertEqual(noThrow(describe(options)) { () throws(SoftmaxKernelsError) in try LogSumExp.forward(d, options: options) }, .greatestFiniteMagnitude, describe(options))
    }
  }

  /// pytorch/pytorch#11752: two equal logits of 1e8 must give log-softmax -log 2 (0 if the
  /// shift is not applied before the log-sum).
  func testLargeEqualLogits() {
    forEachAlgorithmAndLevel { options in
      let f: [Float] = [1e8, 1e8]
      if let z = noThrow(describe(options), { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(f, options: options) }) {
        for v in z { XCTAssertEqual(v, -Float(M_LN2), accuracy: Float(M_LN2).ulp, "Float \(describe(options)): \(z)") }
      }
      XCTAssertEqual(noThrow(describe(options)) { () throws(SoftmaxKernelsError) in try Softmax.forward(f, options: options) }, [0.5, 0.5], describe(options))
      let d: [Double] = [1e8, 1e8]
      if let z = noThrow(describe(options), { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(d, options: options) }) {
        for v in z { XCTAssertEqual(v, -M_LN2, accuracy: 2 * M_LN2.ulp, "Double \(describe(options)): \(z)") }
      }
    }
    check([Float](repeating: 1e8, count: 37), "37 equal logits of 1e8")
    check([1e8, 1e8 + 8, 1e8 - 8] as [Float], "logits 8 apart at 1e8")
    check([1e8, 1e8 + 1e-8 * 1e8, 1e8 - 3] as [Double], "logits near 1e8")
  }

  // MARK: - Uniform rows and C = 1

  func testAllEqualRowsAreUniform() {
    for n in Array(1...33) + [37, 64, 1000, 4097] {
      for v in [0, 3.25, -50, 88.5, 1e4, 1e8, -1e30, 1e30] {
        forEachScalarType { uniformRow($0, n, v) }
      }
    }
  }

  func uniformRow<T: KernelScalar>(_: T.Type, _ n: Int, _ v: Double) {
    let x = [T](repeating: T(v), count: n)
    let target = T(1) / T(n)
    forEachAlgorithmAndLevel { options in
      let context = "\(typeName(T.self)) \(describe(options)) C=\(n) all \(v)"
      guard let (y, z, l) = forward(x, options, context) else { return }
      XCTAssertTrue(y.allSatisfy { $0 == y[0] }, "softmax not uniform, \(context): \(Set(y))")
      if options.algorithm == .twoPass {
        // Two-pass sums C copies of e^x (not of e^0 = 1, an exact integer sum): only the
        // softmax bound holds, not the 2-ulp one. Measured: 6e-7 relative at C = 1000.
        XCTAssertEqual(
          Double(y[0]), Double(target), accuracy: Bounds.softmax(T.self, columns: n) * Double(target), context)
      } else {
        XCTAssertEqual(Double(y[0]), Double(target), accuracy: 2 * Double(target.ulp), context)
      }
      XCTAssertTrue(z.allSatisfy { $0 == z[0] }, "log-softmax not uniform, \(context): \(Set(z))")
      XCTAssertEqual(Double(z[0]), -log(Double(n)), accuracy: Bounds.logSoftmax(T.self) * max(1, log(Double(n))), context)
      let lse = Double(T(v)) + log(Double(n))
      XCTAssertEqual(Double(l), lse, accuracy: Bounds.logSumExp(T.self) * max(1, abs(lse)), context)
    }
  }

  func testSingleElementRows() {
    for v in [0, -5, 3.5, 90, 1e4, 5e4, 1e8, 1e30, -1e30] {
      forEachAlgorithmAndLevel { options in
        let context = "C = 1, x = \(v), \(describe(options))"
        // softmax [x] = [1] exactly (SPEC §2.7).
        XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward([Float(v)], options: options) }, [1], "Float " + context)
        XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward([v], options: options) }, [1], "Double " + context)
      }
      // log-softmax [0] and lse x, within the bounds.
      check([Float(v)], "C = 1")
      check([v], "C = 1")
    }
    for special in [Double.nan, .infinity, -.infinity] {
      for flags in Self.flagSets {
        check([Float(special)], "C = 1", masked: flags.masked, limit: flags.limit)
        check([special], "C = 1", masked: flags.masked, limit: flags.limit)
      }
    }
  }

  // MARK: - A row split over two threads

  /// The special cells on a row of 2^17 entries with `threads: 2`, which splits it into two
  /// chunks whose states are merged (Execution.swift `ExecutionPlan.run`).
  func testSpecialValuesInASplitRow() { splitRowCases() }

  func splitRowCases() {
    let n = 1 << 17
    let level = [ISALevel.active]
    var rng = SeededRandom(seed: 77)
    let base: [Float] = rng.row(Float.self, n, -3, 3)
    let baseD: [Double] = rng.row(Double.self, n, -3, 3)
    func run(
      _ label: String, masked: Bool = false, limit: Bool = false, double: Bool = false,
      _ edit: (inout [Double]) -> Void
    ) {
      var f = base.doubles
      edit(&f)
      check(f.map { Float($0) }, label + " (split row)", masked: masked, limit: limit, threads: 2, levels: level)
      guard double else { return }
      var d = baseD
      edit(&d)
      check(d, label + " (split row)", masked: masked, limit: limit, threads: 2, levels: level)
    }
    // 70_001 is in the second chunk; 0 and n - 1 are the ends of the row.
    run("NaN at 0") { $0[0] = .nan }
    run("NaN at 70001", double: true) { $0[70_001] = .nan }
    run("NaN at n - 1") { $0[n - 1] = .nan }
    run("NaN in all of the second chunk") { x in for i in 65_536..<x.count { x[i] = .nan } }
    run("-inf at 70001", double: true) { $0[70_001] = -.infinity }
    run("first chunk -inf") { x in for i in 0..<65_536 { x[i] = -.infinity } }
    run("all -inf") { x in for i in x.indices { x[i] = -.infinity } }
    run("all -inf", masked: true) { x in for i in x.indices { x[i] = -.infinity } }
    run("1e30 at 70001", double: true) { $0[70_001] = 1e30 }
    run("+inf at 70001", double: true) { $0[70_001] = .infinity }
    run("+inf at 70001", limit: true, double: true) { $0[70_001] = .infinity }
    run("+inf at 0 and n - 1", limit: true) { $0[0] = .infinity; $0[n - 1] = .infinity }
  }

  // MARK: - Default options on a row longer than 2^18

  /// The special cells with default options on a row longer than 2^18 entries, where the
  /// automatic rule changes at some levels (`SoftmaxAlgorithm.resolved(columns:logarithmic:level:streaming:vendor:narrowOutput:)`).
  func testDefaultOptionsOnARowLongerThan2To18() { longRowDefaultCases() }

  func longRowDefaultCases() {
    let n = (1 << 18) + 1
    var rng = SeededRandom(seed: 78)
    let base: [Float] = rng.row(Float.self, n, -3, 3)
    func run(_ label: String, limit: Bool = false, _ edit: (inout [Float]) -> Void) {
      var x = base
      edit(&x)
      check(x, label + " (default options, C = 2^18 + 1)", limit: limit, threads: 1, levels: [ISALevel.active], algorithms: [.automatic])
    }
    run("NaN at 5") { $0[5] = .nan }
    run("NaN at n - 1") { $0[n - 1] = .nan }
    run("-inf at 5") { $0[5] = -.infinity }
    run("+inf at 5") { $0[5] = .infinity }
    run("+inf at 5", limit: true) { $0[5] = .infinity }
  }

  // MARK: - Two-pass cases that trap, in child processes

  /// Runs the child entry point `childTest` and fails with its output unless it passed.
  func runChild(_ childTest: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard !ChildProcess.isChild else { return }
    guard let result = try ChildProcess.run("SpecialValueTests", childTest) else {
      throw XCTSkip("child processes are only run on Linux")
    }
    XCTAssertTrue(
      result.passed,
      "\(what) (run in a child process) "
        + (result.exited ? "failed (status \(result.status))" : "crashed (signal \(result.status))")
        + ":\n\(result.tail)", file: file, line: line)
    if result.exited {
      XCTAssertTrue(result.output.contains("Executed 1 test"), "the child ran no test:\n\(result.tail)", file: file, line: line)
    }
  }

  func testTwoPassPositiveInfinityInChildProcess() throws {
    try runChild("testChildTwoPassPositiveInfinity", "two-pass softmax of rows holding +inf")
  }

  func testTwoPassLargestFiniteInChildProcess() throws {
    try runChild("testChildTwoPassLargestFinite", "two-pass softmax of rows holding FLT_MAX / DBL_MAX")
  }

  /// Child entry point: the +inf cells with the two-pass algorithm only (see `runs`).
  func testChildTwoPassPositiveInfinity() throws {
    try ChildProcess.requireChild()
    positiveInfinityCases()
    splitRowCases()
    for flags in Self.flagSets {
      check([Float.infinity], "C = 1", masked: flags.masked, limit: flags.limit)
      check([Double.infinity], "C = 1", masked: flags.masked, limit: flags.limit)
    }
  }

  func testDefaultOptionsLongRowPositiveInfinityInChildProcess() throws {
    try runChild(
      "testChildDefaultOptionsLongRowPositiveInfinity",
      "softmax with default options of a row of 2^18 + 1 entries holding +inf")
  }

  /// Child entry point: `longRowDefaultCases`' +inf rows (see `runs`).
  func testChildDefaultOptionsLongRowPositiveInfinity() throws {
    try ChildProcess.requireChild()
    longRowDefaultCases()
  }

  /// Child entry point: rows with the largest finite values, two-pass only (see `runs`).
  func testChildTwoPassLargestFinite() throws {
    try ChildProcess.requireChild()
    largestMagnitudeCases()
  }
}
