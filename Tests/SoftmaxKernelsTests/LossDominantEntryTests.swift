// Rows with one dominant entry ("Softmax Collapse", issue 8): every loss against the wide
// reference whose `lse - x_c` is `(m - x_c) + log1p(rest)`, target at the dominant entry and
// elsewhere. A tiny loss `log1p(rest)` must keep relative accuracy, not just absolute.

import Foundation
import SoftmaxKernels
import XCTest

final class LossDominantEntryTests: SoftmaxKernelsTestCase {
  static func margins<T>(_ t: T.Type) -> [Double] {
    Bounds.isFloat(t) ? [10, 20, 30, 80] : [10, 30, 80, 200, 700]
  }

  /// Two rows per shape: `margin` at entry `k`, the others multiples of 1/64 in [-2, 0); row 0
  /// has its target at `k`, row 1 elsewhere.
  static func rows<T: KernelScalar>(_: T.Type, columns n: Int, margin: Double, seed: UInt64)
    -> (x: [T], targets: [Int], dominant: Int)
  {
    var rng = SeededRandom(seed: seed)
    var x = (0..<2 * n).map { _ in T(-2 + Double(rng.next() % 128) / 64) }
    let k = Int(rng.next() % UInt64(n))
    x[k] = T(margin)
    x[n + k] = T(margin)
    return (x, [k, n == 1 ? k : (k + 1) % n], k)
  }

  /// Runs `body` for every row length and margin, with the case's seed (counting up from
  /// `seed + 1`), its two rows (`Self.rows`) and their values as Double.
  static func forEachCase<T: KernelScalar>(
    _: T.Type, seed: UInt64,
    _ body: (_ n: Int, _ margin: Double, _ seed: UInt64, _ rows: (x: [T], targets: [Int], dominant: Int), _ xd: [Double]) throws -> Void
  ) rethrows {
    var seed = seed
    for n in [2, 17, 1031] {
      for margin in margins(T.self) {
        seed += 1
        let r = rows(T.self, columns: n, margin: margin, seed: seed)
        try body(n, margin, seed, r, r.x.map { Double($0) })
      }
    }
  }

  func crossEntropy<T: KernelScalar>(_: T.Type) throws {
    var tally = LossTally(), relative = 0.0, relativeAt = ""
    var entryRelative = 0.0, entryAt = ""
    try Self.forEachCase(T.self, seed: 9_000) { n, margin, seed, rows, xd in
      let (x, targets, k) = rows
      let wide = (0..<2).map { WideRow(Array(xd[$0 * n..<($0 + 1) * n])) }
      // Probability targets: row 0 one-hot at the dominant entry, row 1 spread.
      var t = [T](repeating: 0, count: 2 * n)
      t[k] = 1
      for i in 0..<n { t[n + i] = T(1 / Double(n)) }
      var wrng = SeededRandom(seed: seed)
      let weights: [T] = wrng.row(T.self, n, 0.5, 2)
      try forEachLevel { level in
        for probability in [false, true] {
          for (weighted, eps, zLoss) in [(false, 0.0, 0.0), (true, 0.0, 0.0), (true, 0.1, 1e-4)] {
            let c = CrossEntropyCase(
              reduction: .none, weights: weighted ? weights.map { Double($0) } : nil, eps: eps,
              zLoss: zLoss, ignoreIndex: -100, softcap: nil)
            var options = c.options
            options.execution.isa = level
            let ref = CrossEntropyWideReference(
              rows: wide, c, targets: probability ? nil : targets,
              probabilities: probability ? t.map { Double($0) } : nil)
            let out = try runCrossEntropy(
              x, rows: 2, columns: n, targets: probability ? nil : targets,
              probabilities: probability ? t : nil, weights: weighted ? weights : nil, options: options)
            let at = "\(T.self) C=\(n) margin \(margin) \(c) \(probability ? "probabilities" : "targets") \(level)"
            for r in 0..<2 {
              tally.loss(Double(out.rowLosses[r]), ref.rowLosses[r], bound: LossBounds.crossEntropyLoss(T.self), "\(at) row \(r)")
              tally.gradient(out.gradient[r * n..<(r + 1) * n].map { Double($0) }, ref.gradient(row: r),
                             bound: LossBounds.crossEntropyGradient(T.self, scale: ref.gradientScale(row: r)),
                             floor: Bounds.isFloat(T.self) ? 1e-30 : 1e-300, "\(at) row \(r)")
            }
            // The one-hot soft target at the dominant entry k (row 0): its gradient
            // A p_k - w_k t_k ~ -w_k rest must keep its relative accuracy (it cancelled before).
            if probability && n > 1 {
              let ref0 = ref.gradient(row: 0)[k]
              let e = absoluteError(Double(out.gradient[k]), ref0) / abs(ref0)
              if e > entryRelative { (entryRelative, entryAt) = (e, at) }
            }
            // The dominant target's loss w_y log1p(rest): relative accuracy.
            if eps == 0 && zLoss == 0 && n > 1 {
              let e = absoluteError(Double(out.rowLosses[0]), ref.rowLosses[0]) / ref.rowLosses[0]
              if e > relative { (relative, relativeAt) = (e, at) }
            }
          }
        }
      }
    }
    print("dominant entry, cross-entropy, \(T.self): \(tally); dominant-target loss relative \(relative) (\(relativeAt)); one-hot soft target's dominant gradient entry relative \(entryRelative) (\(entryAt))")
    XCTAssertLessThanOrEqual(entryRelative, LossBounds.dominantLossRelative(T.self), entryAt)
    XCTAssertLessThanOrEqual(tally.loss, 1, "\(tally)")
    XCTAssertLessThanOrEqual(tally.gradient, 1, "\(tally)")
    XCTAssertLessThanOrEqual(relative, LossBounds.dominantLossRelative(T.self), relativeAt)
  }

  func testCrossEntropyFloat() throws { try crossEntropy(Float.self) }
  func testCrossEntropyDouble() throws { try crossEntropy(Double.self) }

  func targetLosses<T: KernelScalar>(_: T.Type) throws {
    var stable = LossTally(), spherical = LossTally()
    try Self.forEachCase(T.self, seed: 9_100) { n, margin, _, rows, xd in
      let (x, targets) = (rows.x, rows.targets)
      try forEachLevel { level in
        let options = ExecutionOptions(isa: level)
        let at = "\(T.self) C=\(n) margin \(margin) \(level)"
        let (_, smRows, smGradient) = try runClassIndexLoss(StableMaxCrossEntropy.self, x, rows: 2, columns: n, targets: targets, execution: options)
        let (_, zlRows, zlGradient) = try runClassIndexLoss(SphericalZLoss.self,
          x, rows: 2, columns: n, targets: targets, execution: options, SphericalZLossOptions(a: 1, b: 3))
        for r in 0..<2 {
          let row = Array(xd[r * n..<(r + 1) * n])
          let s = stableMaxWide(row, target: targets[r], scale: 1)
          let z = sphericalZLossWide(row, target: targets[r], a: 1, b: 3, epsilon: 1e-12, scale: 1)
          stable.loss(Double(smRows[r]), s.loss, bound: LossBounds.targetLoss(T.self), "\(at) row \(r)")
          spherical.loss(Double(zlRows[r]), z.loss, bound: LossBounds.targetLoss(T.self), "\(at) row \(r)")
          stable.gradient(smGradient[r * n..<(r + 1) * n].map { Double($0) }, s.gradient,
                          bound: LossBounds.gradient(T.self), floor: 1e-30, "\(at) row \(r)")
          spherical.gradient(zlGradient[r * n..<(r + 1) * n].map { Double($0) }, z.gradient,
                             bound: LossBounds.gradient(T.self), floor: 1e-30, "\(at) row \(r)")
        }
      }
    }
    print("dominant entry, StableMax cross-entropy, \(T.self): \(stable)")
    print("dominant entry, spherical Z-loss, \(T.self): \(spherical)")
    for (name, tally) in [("StableMax", stable), ("spherical Z-loss", spherical)] {
      XCTAssertLessThanOrEqual(tally.loss, 1, "\(name): \(tally)")
      XCTAssertLessThanOrEqual(tally.gradient, 1, "\(name): \(tally)")
    }
  }

  func testTargetLossesFloat() throws { try targetLosses(Float.self) }
  func testTargetLossesDouble() throws { try targetLosses(Double.self) }
}
