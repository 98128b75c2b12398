// Three-pass reload with its exponentials in a scratch row of the thread's own (what it does
// when the output is written with streaming stores and a row fits a quarter of the level-2
// cache): the results are bitwise those of `threePassRecompute` and of reload into the output,
// for every level, for Float, Double, and 16-bit rows with 16-bit and Float outputs (before the
// scratch, a 16-bit output could not hold the exponentials), row lengths around the vector and
// window sizes, 1-3 threads (whole rows and rows split over threads), in place, with special
// rows between ordinary ones; nothing outside the output is written.

import SoftmaxKernels
import SoftmaxKernelsCore
import XCTest

final class ReloadScratchTests: SoftmaxKernelsTestCase {
  /// Around the vector widths (8 / 16 lanes), the 64-vector windows of the sums, and a row
  /// split over threads (65536 columns x 3 rows: fewer rows than 4 per thread, and a Float row
  /// that fits the scratch of a 1 MiB level-2 cache); rows of two and four blocks (normalised
  /// block by block, `BlockedSoftmaxTests`).
  let lengths = [1, 2, 3, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 4097, 20_000, 65_536, 65_537, 3 * 65_536 + 5]

  func testScratchReloadIsBitwiseRecompute() throws {
    try forEachScalarType { type in try check(type) }
  }

  private func check<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 811)
    for columns in lengths {
      let rows = 3
      var x: [T] = rng.row(T.self, rows * columns, -30, 30)
      if columns > 2 {
        x[columns + 1] = .infinity  // row 1: one +inf (a special row between ordinary ones)
        x[2 * columns] = 1e4  // row 2: a dominant entry far from the others
      }
      try forEachLevel { level in
        for threads in [1, 2, 3] {
          let recompute = try softmaxRows(x, columns, .threePassRecompute, level, threads, streaming: false)
          let scratch = try softmaxRows(x, columns, .threePassReload, level, threads, streaming: true)
          let inOutput = try softmaxRows(x, columns, .threePassReload, level, threads, streaming: false)
          let context = "columns \(columns) \(level) threads \(threads)"
          if let i = firstDifference(recompute, scratch) {
            return XCTFail("scratch vs recompute, \(context): index \(i), \(scratch[i]) vs \(recompute[i])")
          }
          if let i = firstDifference(inOutput, scratch) {
            return XCTFail("scratch vs output, \(context): index \(i), \(scratch[i]) vs \(inOutput[i])")
          }
          var inPlace = x
          try inPlace.withUnsafeMutableBufferPointer { b in
            let m = MutableRows(b, rows: rows, columns: columns)
            try Softmax.forward(m.readOnly, into: m, options: options(.threePassReload, level, threads, streaming: true))
          }
          XCTAssertNil(firstDifference(recompute, inPlace), "in place, \(context)")
        }
      }
    }
  }

  /// 16-bit rows: the scratch holds the exponentials in Float, and each output is rounded once
  /// (to the 16-bit type, or not at all for a Float output): bitwise `threePassRecompute`,
  /// streamed or not.
  func testHalfPrecisionScratchReloadIsBitwiseRecompute() throws {
    for type in halfTypes { try check16(type) }
  }

  private func check16<H: HalfType>(_: H.Type) throws {
    var rng = SeededRandom(seed: 812)
    for columns in lengths {
      let x: [H] = (0..<(3 * columns)).map { _ in H(Float(rng.uniform(-30, 30))) }
      try forEachLevel { level in
        for threads in [1, 2] {
          let a = try assertScratchReloadIsRecompute(x, columns: columns, level, threads, "columns \(columns)")
          // The recomputing last pass streamed: its 16-bit rounding without the NaN check
          // (`storeNarrowedNonNaN`) gives the same bits.
          let c = try halfForward(.softmax, x, columns: columns, options: options(.threePassRecompute, level, threads, streaming: true))
          XCTAssertEqual(a.half.map(\.bits), c.half.map(\.bits), "\(H.self) output streamed, columns \(columns) \(level) threads \(threads)")
        }
      }
    }
  }

  /// A 16-bit output's rows longer than one block keep their exponentials in the scratch row
  /// only in calls of at least `narrowScratchRows` (16) rows; rows of one block always. The
  /// choice, and at 16 rows (the scratch row in use) the results: bitwise recompute.
  func testHalfPrecisionLongRowsTakeTheScratchRowFromSixteenRows() throws {
    XCTAssertEqual(narrowScratchRows, 16)
    let reload = SoftmaxOptions(algorithm: .threePassReload)
    func scratch(_ rows: Int, _ columns: Int, _ level: ISALevel) -> Bool {
      AlgorithmChoice(
        reload, .softmax, rows: rows, columns: columns, level: level, outputBytes: rows * columns * 2,
        scalarBytes: 4, narrowOutput: true
      ).reloadsFromScratch
    }
    for level in ISALevel.allSupported {
      XCTAssertTrue(scratch(16, 65_537, level), "16 x 65537, \(level)")
      XCTAssertTrue(scratch(100, 1 << 22, level), "100 x 2^22, \(level)")
      XCTAssertFalse(scratch(15, 65_537, level), "15 x 65537, \(level)")
      XCTAssertFalse(scratch(1, 1 << 20, level), "1 x 2^20, \(level)")
      XCTAssertFalse(scratch(16, (1 << 22) + 1, level), "16 x (2^22 + 1), \(level)")
      XCTAssertTrue(scratch(1, 65_536, level), "1 x 65536 (one block), \(level)")
      XCTAssertTrue(scratch(1, 1000, level), "1 x 1000, \(level)")
    }
    var rng = SeededRandom(seed: 813)
    let rows = 16, columns = 65_537
    for type in halfTypes { try check16(type, rows: rows, columns: columns, &rng) }
  }

  private func check16<H: HalfType>(_: H.Type, rows: Int, columns: Int, _ rng: inout SeededRandom) throws {
    var x: [H] = (0..<(rows * columns)).map { _ in H(Float(rng.uniform(-30, 30))) }
    x[3 * columns + 7] = H(Float.infinity)  // a special row among ordinary ones
    x[5 * columns + 65_536] = H(Float(1e4))  // a dominant entry in the second block
    try forEachLevel { level in
      for threads in [1, 2] {
        _ = try assertScratchReloadIsRecompute(x, columns: columns, level, threads, "\(rows) x \(columns)")
      }
    }
  }

  /// 16-bit rows `x` through `threePassReload` (streamed: the scratch row where the rule takes
  /// it) and `threePassRecompute`: the same bits, into a 16-bit and into a Float output.
  /// Returns recompute's outputs.
  private func assertScratchReloadIsRecompute<H: HalfType>(
    _ x: [H], columns: Int, _ level: ISALevel, _ threads: Int, _ shape: String
  ) throws -> (half: [H], float: [Float]) {
    let a = try halfForward(.softmax, x, columns: columns, options: options(.threePassRecompute, level, threads, streaming: false))
    let b = try halfForward(.softmax, x, columns: columns, options: options(.threePassReload, level, threads, streaming: true))
    XCTAssertEqual(a.half.map(\.bits), b.half.map(\.bits), "\(H.self) output, \(shape) \(level) threads \(threads)")
    XCTAssertNil(firstDifference(a.float, b.float), "\(H.self) rows, Float output, \(shape) \(level) threads \(threads)")
    return a
  }

  private func options(_ algorithm: SoftmaxAlgorithm, _ level: ISALevel, _ threads: Int, streaming: Bool) -> SoftmaxOptions {
    SoftmaxOptions(algorithm: algorithm, execution: ExecutionOptions(threads: threads, isa: level, streamingStores: streaming))
  }

  /// Softmax of the rows of `x` (`columns` each), written into a larger buffer whose other
  /// elements must stay untouched.
  private func softmaxRows<T: KernelScalar>(
    _ x: [T], _ columns: Int, _ algorithm: SoftmaxAlgorithm, _ level: ISALevel, _ threads: Int, streaming: Bool
  ) throws -> [T] {
    let rows = x.count / columns, offset = 5, sentinel = T(-12345)
    var buffer = [T](repeating: sentinel, count: x.count + offset + 64)
    try x.withUnsafeBufferPointer { xb in
      try buffer.withUnsafeMutableBufferPointer { b in
        let out = UnsafeMutableBufferPointer(rebasing: b[offset..<(offset + x.count)])
        try Softmax.forward(
          Rows(xb, rows: rows, columns: columns), into: MutableRows(out, rows: rows, columns: columns),
          options: options(algorithm, level, threads, streaming: streaming))
      }
    }
    XCTAssertTrue((buffer[..<offset] + buffer[(offset + x.count)...]).allSatisfy { $0 == sentinel }, "written outside")
    return Array(buffer[offset..<(offset + x.count)])
  }
}
