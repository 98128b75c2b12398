// Shift invariance of the losses (issue 8, defect 1): the same rows moved by a large offset
// (exact in the storage type) give the same losses and gradients within the documented bounds,
// for every option combination of `CrossEntropy`, every ISA level, threaded and not. Options
// that are not shift-invariant by definition (z-loss `lse^2`, soft-capping, StableMax's
// piecewise `s`) are judged against the wide reference of the shifted rows instead.

import Foundation
import SoftmaxKernels
import XCTest

final class LossShiftInvarianceTests: SoftmaxKernelsTestCase {
  /// 1031 classes (the issue's rows; not a multiple of any vector width) and 6 distinct rows;
  /// the threaded batch repeats them 22 times: 132 x 1031 = 136 092 elements, more than two
  /// threads' minimum of 2^16 each (Execution.swift), so `threads: 2` splits the rows.
  static let columns = 1031, rows = 6, repeats = 22

  /// Offsets with the grid that keeps `offset + [-8, 8)` exact: Float's ulp is 2^-10 at 1e4
  /// and 2^-4 at 1e6; Double's is 2^-13 at 1e12.
  static func offsets<T>(_ t: T.Type) -> [(offset: Double, grid: Double)] {
    let fine: Double = 1.0 / 64, coarse: Double = 1.0 / 16
    if Bounds.isFloat(t) { return [(0, fine), (1e4, fine), (-1e4, fine), (1e6, coarse)] }
    return [(0, fine), (1e12, fine), (-1e12, fine)]
  }

  /// Every option combination: reductions x class weights x label smoothing x z-loss x soft-capping x
  /// (integer targets: no ignored row / ignoreIndex -100 on two rows / ignoreIndex a class;
  /// probability targets).
  static func cases(weights: [Double]) -> [(CrossEntropyCase, probability: Bool)] {
    var all: [(CrossEntropyCase, Bool)] = []
    for reduction in LossReduction.allCases {
      for weighted in [false, true] {
        for eps in [0.0, 0.1] {
          for zLoss in [0.0, 1e-4] {
            for softcap in [nil, 30.0] {
              for (probability, ignore) in [(false, -100), (false, -7), (false, 3), (true, -100)] {
                all.append((CrossEntropyCase(
                  reduction: reduction, weights: weighted ? weights : nil, eps: eps, zLoss: zLoss,
                  ignoreIndex: ignore, softcap: softcap), probability))
              }
            }
          }
        }
      }
    }
    return all
  }

  func crossEntropy<T: KernelScalar>(_: T.Type) throws {
    let n = Self.columns, rows = Self.rows, bigRows = rows * Self.repeats
    var rng = SeededRandom(seed: 8_001)
    let weights: [T] = rng.row(T.self, n, 0.5, 2)
    var targets = (0..<rows).map { _ in Int(rng.next() % UInt64(n)) }
    targets[2] = 3  // a row masked when ignoreIndex is the class 3
    var t = [T](repeating: 0, count: rows * n)
    for r in 0..<rows {
      let raw = (0..<n).map { _ in rng.uniform(0, 1) }
      let s = raw.reduce(0, +)
      for k in 0..<n { t[r * n + k] = T(raw[k] / s) }
    }
    let cases = Self.cases(weights: weights.map { Double($0) })
    for (offset, grid) in Self.offsets(T.self) {
      var local = SeededRandom(seed: 8_002)
      let base = gridRow(&local, rows * n, grid: grid)
      let x: [T] = exactlyShiftedRows(T.self, base, offset: offset)
      let xd = x.map { Double($0) }
      let wide = (0..<rows).map { WideRow(Array(xd[$0 * n..<($0 + 1) * n])) }
      let capped = (0..<rows).map { WideRow(Array(xd[$0 * n..<($0 + 1) * n]), softcap: 30) }
      let bigX = Array([[T]](repeating: x, count: Self.repeats).joined())
      let bigT = Array([[T]](repeating: t, count: Self.repeats).joined())
      var tally = LossTally(), lseWorst = 0.0
      for (c, probability) in cases {
        var y = targets
        if !probability && c.ignoreIndex == -7 { y[1] = -7; y[4] = -7 }
        let bigY = Array([[Int]](repeating: y, count: Self.repeats).joined())
        let ref = CrossEntropyWideReference(
          rows: c.softcap == nil ? wide : capped, c, targets: probability ? nil : y,
          probabilities: probability ? t.map { Double($0) } : nil)
        let refGradient = (0..<rows).map { ref.gradient(row: $0) }
        let w: [T]? = c.weights == nil ? nil : weights
        try forEachLevel { level in
          var options = c.options
          options.execution.isa = level
          let at = "\(T.self) offset \(offset) \(c) \(probability ? "probabilities" : "targets") \(level)"
          let out = try runCrossEntropy(
            x, rows: rows, columns: n, targets: probability ? nil : y, probabilities: probability ? t : nil,
            weights: w, options: options)
          tally.loss(Double(out.loss), ref.loss, bound: LossBounds.crossEntropyLoss(T.self), at)
          for r in 0..<rows {
            tally.loss(Double(out.rowLosses[r]), ref.rowLosses[r], bound: LossBounds.crossEntropyLoss(T.self), "\(at) row \(r)")
            let g = out.gradient[r * n..<(r + 1) * n].map { Double($0) }
            tally.gradient(g, refGradient[r], bound: LossBounds.crossEntropyGradient(T.self, scale: ref.gradientScale(row: r), cap: c.softcap), floor: 1e-30, "\(at) row \(r)")
            let lse = Double(ref.rows[r].lse)
            lseWorst = max(lseWorst, absoluteError(Double(out.rowLogSumExp[r]), lse) / max(1, abs(lse)))
          }
          // Threaded (rows split over 2 threads) and not: every row bitwise the same; the repeated batch's
          // mean equals the small batch's, its sum is `repeats` times it.
          let factor = c.reduction == .mean ? 1 : Double(Self.repeats)
          options.execution.threads = 1
          let one = try runCrossEntropy(
            bigX, rows: bigRows, columns: n, targets: probability ? nil : bigY,
            probabilities: probability ? bigT : nil, weights: w, options: options)
          options.execution.threads = 2
          let two = try runCrossEntropy(
            bigX, rows: bigRows, columns: n, targets: probability ? nil : bigY,
            probabilities: probability ? bigT : nil, weights: w, options: options)
          XCTAssertTrue(one.rowsIdentical(to: two), "threads 1 vs 2: \(at)")
          tally.loss(Double(one.loss), ref.loss * factor, bound: LossBounds.crossEntropyLoss(T.self), "\(at) one thread")
          tally.loss(Double(two.loss), ref.loss * factor, bound: LossBounds.crossEntropyLoss(T.self), "\(at) threaded")
          let last = bigRows - rows
          for r in 0..<rows {
            tally.loss(Double(two.rowLosses[last + r]), ref.rowLosses[r], bound: LossBounds.crossEntropyLoss(T.self), "\(at) threaded row \(r)")
            let g = two.gradient[(last + r) * n..<(last + r + 1) * n].map { Double($0) }
            let scaled = refGradient[r].map { $0 / (c.reduction == .mean ? Double(Self.repeats) : 1) }
            let scale = ref.gradientScale(row: r) / (c.reduction == .mean ? Double(Self.repeats) : 1)
            tally.gradient(g, scaled, bound: LossBounds.crossEntropyGradient(T.self, scale: scale, cap: c.softcap), floor: 1e-30, "\(at) threaded row \(r)")
          }
        }
      }
      print("shift invariance, cross-entropy, \(T.self) offset \(offset): \(tally); rowLogSumExp \(lseWorst)")
      XCTAssertLessThanOrEqual(tally.loss, 1, "\(T.self) offset \(offset): \(tally)")
      XCTAssertLessThanOrEqual(tally.gradient, 1, "\(T.self) offset \(offset): \(tally)")
      XCTAssertLessThanOrEqual(lseWorst, Bounds.logSumExp(T.self), "\(T.self) offset \(offset)")
    }
  }

  func testCrossEntropyFloat() throws { try crossEntropy(Float.self) }
  func testCrossEntropyDouble() throws { try crossEntropy(Double.self) }

  /// StableMax (not shift-invariant: judged against the shifted rows) and the spherical Z-loss
  /// (invariant), every level, threaded and not.
  func targetLosses<T: KernelScalar>(_: T.Type) throws {
    let n = Self.columns, rows = Self.rows
    var rng = SeededRandom(seed: 8_003)
    let targets = (0..<rows).map { _ in Int(rng.next() % UInt64(n)) }
    for (offset, grid) in Self.offsets(T.self) {
      var local = SeededRandom(seed: 8_004)
      let base = gridRow(&local, rows * n, grid: grid)
      let x: [T] = exactlyShiftedRows(T.self, base, offset: offset)
      let xd = x.map { Double($0) }
      let bigX = Array([[T]](repeating: x, count: Self.repeats).joined())
      let bigY = Array([[Int]](repeating: targets, count: Self.repeats).joined())
      var stable = LossTally(), spherical = LossTally()
      let stableRef = (0..<rows).map { stableMaxWide(Array(xd[$0 * n..<($0 + 1) * n]), target: targets[$0], scale: 1) }
      let sphericalRef = (0..<rows).map {
        sphericalZLossWide(Array(base[$0 * n..<($0 + 1) * n]), target: targets[$0], a: 1, b: 3, epsilon: 1e-12, scale: 1)
      }
      try forEachLevel { level in
        for threads in [1, 2] {
          let options = ExecutionOptions(threads: threads, isa: level)
          let at = "\(T.self) offset \(offset) \(level) threads \(threads)"
          let (sm, smRows, smGradient) = try runClassIndexLoss(StableMaxCrossEntropy.self, bigX, rows: bigRows(), columns: n, targets: bigY, execution: options)
          let (zl, zlRows, zlGradient) = try runClassIndexLoss(SphericalZLoss.self,
            bigX, rows: bigRows(), columns: n, targets: bigY, execution: options, SphericalZLossOptions(a: 1, b: 3))
          var smTotal = 0.0, zlTotal = 0.0
          for r in 0..<rows {
            smTotal += stableRef[r].loss
            zlTotal += sphericalRef[r].loss
            for copy in [0, Self.repeats - 1] {
              let q = copy * rows + r
              stable.loss(Double(smRows[q]), stableRef[r].loss, bound: LossBounds.targetLoss(T.self), "\(at) row \(q)")
              spherical.loss(Double(zlRows[q]), sphericalRef[r].loss, bound: LossBounds.targetLoss(T.self), "\(at) row \(q)")
              stable.gradient(smGradient[q * n..<(q + 1) * n].map { Double($0) }, stableRef[r].gradient,
                              bound: LossBounds.gradient(T.self), floor: 1e-30, "\(at) row \(q)")
              spherical.gradient(zlGradient[q * n..<(q + 1) * n].map { Double($0) }, sphericalRef[r].gradient,
                                 bound: LossBounds.gradient(T.self), floor: 1e-30, "\(at) row \(q)")
            }
          }
          let k = Double(Self.repeats)
          stable.loss(Double(sm), smTotal * k, bound: LossBounds.targetLoss(T.self), "\(at) sum")
          spherical.loss(Double(zl), zlTotal * k, bound: LossBounds.targetLoss(T.self), "\(at) sum")
        }
      }
      print("shift, StableMax cross-entropy, \(T.self) offset \(offset): \(stable)")
      print("shift invariance, spherical Z-loss, \(T.self) offset \(offset): \(spherical)")
      for (name, tally) in [("StableMax", stable), ("spherical Z-loss", spherical)] {
        XCTAssertLessThanOrEqual(tally.loss, 1, "\(name) \(T.self) offset \(offset): \(tally)")
        XCTAssertLessThanOrEqual(tally.gradient, 1, "\(name) \(T.self) offset \(offset): \(tally)")
      }
    }
  }

  func bigRows() -> Int { Self.rows * Self.repeats }

  func testTargetLossesFloat() throws { try targetLosses(Float.self) }
  func testTargetLossesDouble() throws { try targetLosses(Double.self) }
}
