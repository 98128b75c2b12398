import Foundation
import SoftmaxKernels
import XCTest

final class CrossEntropySoftcapTests: SoftmaxKernelsTestCase {
  /// Soft-capping `c tanh(x / c)` against the float64 reference applied to capped logits, with
  /// the chain factor `1 - tanh^2` on the gradient, for every ISA level; and by finite
  /// differences on the Double path.
  func testSoftcapAgainstReference() throws {
    var rng = SeededRandom(seed: 77)
    let rows = 5, classes = 37, cap = 30.0
    try forEachLevel { level in
      for weighted in [false, true] {
        let x: [Float] = rng.row(Float.self, rows * classes, -80, 80)
        let targets = (0..<rows).map { _ in Int(rng.next() % UInt64(classes)) }
        let w: [Float]? = weighted ? rng.row(Float.self, classes, 0.5, 2) : nil
        let capped = x.map { cap * tanh(Double($0) / cap) }
        let ref = CrossEntropyReference.integer(
          capped, targets, classes, weights: w?.map(Double.init), eps: 0.1, ignore: -100,
          reduction: .mean, zLoss: 1e-4)
        let options = CrossEntropyOptions(labelSmoothing: 0.1, zLossScale: 1e-4, softcap: cap, execution: ExecutionOptions(isa: level))
        let (result, gradient) = try CrossEntropy.lossAndGradient(
          logits: x, targets: targets, classWeights: w, columns: classes, options: options)
        XCTAssertEqual(Double(result.loss), ref.loss, accuracy: 2e-6 * max(1, ref.loss), "\(level) w=\(weighted)")
        for i in 0..<x.count {
          let t = tanh(Double(x[i]) / cap)
          let expected = ref.gradient[i] * (1 - t * t)
          XCTAssertEqual(Double(gradient[i]), expected, accuracy: 1e-7 + 1e-5 * abs(expected), "\(level) i \(i)")
        }
      }
    }
    // Finite differences (Double), and +-inf logits capped to +-c.
    let xd: [Double] = rng.row(Double.self, 2 * 9, -50, 50)
    let o = CrossEntropyOptions(softcap: 20)
    let (_, g) = try CrossEntropy.lossAndGradient(logits: xd, targets: [3, 8], columns: 9, options: o)
    for i in [0, 3, 9, 17] {
      var xp = xd, xm = xd
      xp[i] += 1e-6
      xm[i] -= 1e-6
      let fd = (try CrossEntropy.loss(logits: xp, targets: [3, 8], columns: 9, options: o).loss
        - CrossEntropy.loss(logits: xm, targets: [3, 8], columns: 9, options: o).loss) / 2e-6
      XCTAssertEqual(g[i], fd, accuracy: 1e-7, "index \(i)")
    }
    let infinite = try CrossEntropy.loss(
      logits: [.infinity, 0, -.infinity] as [Float], targets: [1], columns: 3,
      options: CrossEntropyOptions(softcap: 5)).loss
    let expected = log(exp(5.0) + 1 + exp(-5.0))
    XCTAssertEqual(Double(infinite), expected, accuracy: 1e-6)
    // A non-positive or infinite cap throws before anything is written.
    for bad in [0.0, -1, .infinity, .nan] {
      assertThrows(invalid("softcap"), "softcap \(bad)") {
        try CrossEntropy.loss(logits: [1, 2] as [Float], targets: [0], columns: 2, options: CrossEntropyOptions(softcap: bad))
      }
    }
  }
}
