// Binary cross-entropy's reduced loss is bitwise the same for every thread count (its element
// sums are taken over fixed groups of elements merged in order), on inputs where the rounding of
// each partial sum shows: moderate random logits and soft targets, not values that swamp the sum.

import SoftmaxKernels
import XCTest

final class BCEReproducibilityTests: SoftmaxKernelsTestCase {
  func testReducedLossIsBitwiseTheSameForEveryThreadCount() throws {
    try check(Float.self)
    try check(Double.self)
  }

  private func check<T: KernelScalar>(_: T.Type) throws {
    var rng = SeededRandom(seed: 2026)
    let n = 7 * 65_781  // 460 467: rows of 7 classes; several fixed groups and an uneven split over 2, 3 and 7 threads
    let logits = (0..<n).map { _ in T(Int.random(in: -4000...4000, using: &rng)) / 1000 }
    let targets = (0..<n).map { _ in T(Int.random(in: 0...1000, using: &rng)) / 1000 }
    let posWeight = (0..<7).map { T($0 + 1) / 4 }
    try forEachLevel { level in
      for reduction in [LossReduction.sum, .mean] {
        for weights in [nil, posWeight] {
          var results: [T] = []
          for threads in [1, 2, 3, 7] {
            let options = BinaryCrossEntropyOptions(reduction: reduction, execution: ExecutionOptions(threads: threads, isa: level))
            results.append(try BinaryCrossEntropy.loss(logits: logits, targets: targets, posWeight: weights, options: options).loss)
            let fused = try BinaryCrossEntropy.lossAndGradient(
              logits: logits, targets: targets, posWeight: weights, options: options)
            XCTAssertEqual(fused.result.loss, results.last!, "\(T.self) \(level) \(reduction) \(threads) threads: fused")
          }
          XCTAssertEqual(Set(results).count, 1, "\(T.self) \(level) \(reduction) posWeight \(weights != nil): \(results)")
        }
      }
    }
  }
}
