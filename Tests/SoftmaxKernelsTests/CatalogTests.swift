// The catalog-driven suite: every kernel of `CatalogKernel` that takes rows (all but the losses
// and the softplus-attention backward, which have their own argument sets and tests) x every supported ISA
// level x Float and Double x row lengths around every boundary of `boundaryVectors` x three
// layouts (contiguous, strided, in place), against a Float80 reference, with the catalog's
// bound. Strided and in-place results must also be bitwise those of the contiguous call.

import Foundation
import SoftmaxKernels
import XCTest

final class CatalogTests: SoftmaxKernelsTestCase {
  /// Row lengths: 0, 1, and one below, at and above each boundary.
  static func lengths<T: KernelScalar>(_: T.Type) -> [Int] {
    let lanes = 64 / MemoryLayout<T>.size
    return [0, 1] + CatalogKernel.boundaryVectors.flatMap { v in [v * lanes - 1, v * lanes, v * lanes + 1] }
  }

  func testEveryRowKernelAtEveryLevelTypeLengthAndLayout() throws {
    for kernel in CatalogKernel.allCases where kernel.form != .loss {
      try forEachLevel { level in
        try check(kernel, Float.self, level)
        try check(kernel, Double.self, level)
      }
    }
  }

  /// The catalog lists the passes of every kernel, and no pass twice within a kernel.
  func testCatalogNamesPassesForEveryKernel() {
    for kernel in CatalogKernel.allCases {
      XCTAssertFalse(kernel.passes.isEmpty, "\(kernel)")
      XCTAssertEqual(Set(kernel.passes).count, kernel.passes.count, "\(kernel)")
      XCTAssertTrue(kernel.exponentialPasses.isSubset(of: kernel.passes), "\(kernel)")
    }
  }

  private func check<T: KernelScalar>(_ kernel: CatalogKernel, _: T.Type, _ level: ISALevel) throws {
    let bound = try XCTUnwrap(kernel.bound(T.self))
    var rng = SeededRandom(seed: UInt64(CatalogKernel.allCases.firstIndex(of: kernel)!) << 8 | UInt64(level.rawValue))
    var worst = 0.0
    for columns in Self.lengths(T.self) {
      let rows = columns > 20_000 ? 2 : 3
      // Multiples of 2^-10 in [-8, 8]: `x - max` is exact in Float, so the reference below
      // needs no rounding model of the shift.
      let x: [T] = (0..<rows * columns).map { _ in T(Int.random(in: -8192...8192, using: &rng)) / 1024 }
      let saved = try savedInput(kernel, x, rows: rows, columns: columns, level: level)
      let g: [T] = (0..<rows * columns).map { _ in T(Int.random(in: -1024...1024, using: &rng)) / 1024 }
      let outCount = kernel.form == .rowReduction ? rows : rows * columns
      let contiguous = try run(kernel, saved, g, rows: rows, columns: columns, stride: columns, level: level, outCount: outCount)
      // The same rows, strided (a gap of 3 elements after each row), and in place.
      if columns > 0 {
        let strided = try run(kernel, saved, g, rows: rows, columns: columns, stride: columns + 3, level: level, outCount: outCount)
        XCTAssertNil(firstDifference(strided, contiguous), "\(kernel) \(T.self) \(level) strided, columns \(columns)")
        if kernel.allowsInPlace {
          var y = saved
          try y.withUnsafeMutableBufferPointer { (b) throws(SoftmaxKernelsError) in
            try g.withUnsafeBufferPointer { (gb) throws(SoftmaxKernelsError) in
              try kernel.run(KernelCall(
                rows: rows, columns: columns, input: UnsafeBufferPointer(b), inputRowStride: columns,
                upstream: gb, upstreamRowStride: columns, output: b, outputRowStride: columns,
                isa: level, threads: 1))
            }
          }
          XCTAssertNil(firstDifference(y, contiguous), "\(kernel) \(T.self) \(level) in place, columns \(columns)")
        }
      }
      for r in 0..<rows {
        let row = Array(saved[(r * columns)..<((r + 1) * columns)]).map { Float80($0) }
        let grad = Array(g[(r * columns)..<((r + 1) * columns)]).map { Float80($0) }
        let reference = Self.reference(kernel, row, grad)
        let got = kernel.form == .rowReduction ? [contiguous[r]] : Array(contiguous[(r * columns)..<((r + 1) * columns)])
        worst = max(worst, Self.error(kernel, got.map { Float80($0) }, reference))
      }
    }
    print("  catalog \(kernel) \(T.self) \(level): worst error \(worst) (bound \(bound))")
    XCTAssertLessThanOrEqual(worst, bound, "\(kernel) \(T.self) \(level)")
  }

  /// The saved tensor a backward kernel takes (the forward output for softmax / log-softmax,
  /// the input otherwise), computed by the forward kernel of the same level.
  private func savedInput<T: KernelScalar>(
    _ kernel: CatalogKernel, _ x: [T], rows: Int, columns: Int, level: ISALevel
  ) throws -> [T] {
    let forward: CatalogKernel
    switch kernel {
    case .softmaxBackward: forward = .softmax
    case .logSoftmaxBackward: forward = .logSoftmax
    case .sigmoidAttentionBackward: forward = .sigmoidAttention
    default: return x
    }
    return try run(forward, x, [], rows: rows, columns: columns, stride: columns, level: level, outCount: x.count)
  }

  /// Runs `kernel` with every row at `stride` (input, upstream and output alike).
  private func run<T: KernelScalar>(
    _ kernel: CatalogKernel, _ x: [T], _ g: [T], rows: Int, columns: Int, stride: Int,
    level: ISALevel, outCount: Int
  ) throws -> [T] {
    func spread(_ v: [T]) -> [T] {
      var out = [T](repeating: .nan, count: rows == 0 ? 0 : (rows - 1) * stride + columns)
      for r in 0..<rows { for c in 0..<columns { out[r * stride + c] = v[r * columns + c] } }
      return out
    }
    let sx = spread(x), sg = g.isEmpty ? [] : spread(g)
    let reduction = kernel.form == .rowReduction
    var y = [T](repeating: .nan, count: reduction ? outCount : sx.count)
    try sx.withUnsafeBufferPointer { (xb) throws(SoftmaxKernelsError) in
      try sg.withUnsafeBufferPointer { (gb) throws(SoftmaxKernelsError) in
        try y.withUnsafeMutableBufferPointer { (yb) throws(SoftmaxKernelsError) in
          try kernel.run(KernelCall(
            rows: rows, columns: columns, input: xb, inputRowStride: stride,
            upstream: sg.isEmpty ? nil : gb, upstreamRowStride: stride, output: yb,
            outputRowStride: reduction ? 1 : stride, isa: level, threads: 1))
        }
      }
    }
    if reduction { return y }
    var packed = [T](repeating: 0, count: rows * columns)
    for r in 0..<rows { for c in 0..<columns { packed[r * columns + c] = y[r * stride + c] } }
    return packed
  }

  /// The index of the first entry that differs in value or sign (`-0` differs from `0`; all
  /// NaNs are alike), `nil` when the arrays are identical.
  private func firstDifference<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { i in
      !(a[i].isNaN && b[i].isNaN) && !(a[i] == b[i] && a[i].sign == b[i].sign)
    }
  }

  // MARK: - Float80 references (no cancellation: shifts by the exact maximum, sums of positives)

  static func reference(_ kernel: CatalogKernel, _ x: [Float80], _ g: [Float80]) -> [Float80] {
    func lse(_ v: [Float80]) -> Float80 {
      guard let m = v.max() else { return -.infinity }
      return m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
    }
    func s(_ v: Float80) -> Float80 { v >= 0 ? v + 1 : 1 / (1 - v) }
    func sigmoid(_ v: Float80) -> Float80 { 1 / (1 + Foundation.exp(-v)) }
    func softplus(_ v: Float80) -> Float80 { v > 20 ? v : Foundation.log1p(Foundation.exp(v)) }
    switch kernel {
    case .softmax: let l = lse(x); return x.map { Foundation.exp($0 - l) }
    case .logSoftmax: let l = lse(x); return x.map { $0 - l }
    case .logSumExp: return [lse(x)]
    case .softmaxBackward:
      let dot = zip(x, g).reduce(0) { $0 + $1.0 * $1.1 }
      return zip(x, g).map { $0 * ($1 - dot) }
    case .logSoftmaxBackward:
      let sum = g.reduce(0, +)
      return zip(x, g).map { $1 - Foundation.exp($0) * sum }
    case .stableMax: let t = x.reduce(0) { $0 + s($1) }; return x.map { s($0) / t }
    case .logStableMax: let t = x.reduce(0) { $0 + s($1) }; return x.map { Foundation.log(s($0) / t) }
    case .sigmoid: return x.map(sigmoid)
    case .logSigmoid: return x.map { -softplus(-$0) }
    case .softplus: return x.map(softplus)
    case .sigmoidBackward: return zip(x, g).map { sigmoid($0) * (1 - sigmoid($0)) * $1 }
    case .logSigmoidBackward: return zip(x, g).map { (1 - sigmoid($0)) * $1 }
    case .softplusBackward: return zip(x, g).map { ($0 > 20 ? 1 : sigmoid($0)) * $1 }
    case .sigmoidAttention: return x.map { sigmoid($0 / 2 - 2) }
    case .sigmoidAttentionBackward: return zip(x, g).map { $0 * (1 - $0) * $1 / 2 }
    case .softplusAttention:
      let f = x.map(softplus), total = f.reduce(0, +) + 1e-8
      return f.map { $0 / total }
    default: return []
    }
  }

  /// The catalog's error measure (see `CatalogKernel.bound`).
  static func error(_ kernel: CatalogKernel, _ got: [Float80], _ reference: [Float80]) -> Double {
    var worst: Float80 = 0
    let scale = max(1, reference.map(abs).max() ?? 1)
    for (y, r) in zip(got, reference) where y != r {
      let e: Float80
      switch kernel {
      case .softmax, .stableMax, .sigmoid, .sigmoidAttention, .softplusAttention:
        e = abs(y - r) / max(r, 1e-30)
      case .softmaxBackward, .logSoftmaxBackward, .sigmoidBackward, .logSigmoidBackward, .softplusBackward,
        .sigmoidAttentionBackward:
        e = abs(y - r) / scale
      default:
        e = abs(y - r) / max(1, abs(r))
      }
      if !(e <= worst) { worst = e.isNaN ? .infinity : e }
    }
    return Double(worst)
  }
}
