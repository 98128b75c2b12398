// Checks and dispatch behind `SigmoidAttention` and `SoftplusAttention`.

import Foundation
import SoftmaxKernelsCore

/// The shared checks and row loops of the attention-weight functions.
enum AttentionWeights {
  /// `scale` in the element type, checked finite.
  static func finiteScale<T: KernelScalar>(_ scale: Double, _: T.Type) throws(SoftmaxKernelsError) -> T {
    let value = T(scale)
    guard value.isFinite else { throw .invalidArgument(argument: "scale", reason: "\(scale) is not finite") }
    return value
  }

  static func sigmoidBias<T: KernelScalar>(_ bias: T?, _ n: Int) throws(SoftmaxKernelsError) -> T {
    if let bias {
      guard bias.isFinite else { throw .invalidArgument(argument: "bias", reason: "\(bias) is not finite") }
      return bias
    }
    guard n > 0 else {
      throw .invalidArgument(argument: "sequenceLength", reason: "\(n) is not positive (bias -log n)")
    }
    return T(-Foundation.log(Double(n)))
  }

  /// Runs `body(r)` for every row, rows split into one contiguous range per thread.
  static func forRows(_ rows: Int, _ plan: ExecutionPlan, _ body: (Int) -> Void) {
    forRowRanges(rows, plan) { range in for r in range { body(r) } }
  }

  static func forRowRanges(_ rows: Int, _ plan: ExecutionPlan, _ body: (Range<Int>) -> Void) {
    let t = min(plan.threads, rows)
    if t <= 1 { return body(0..<rows) }
    parallelFor(t) { i in body((rows * i / t)..<(rows * (i + 1) / t)) }
  }
}

/// The checked scalar parameters of a softplus-attention call.
struct SoftplusParameters<T: KernelScalar> {
  var logD: T = 0
  var constant: T = 0
  var lengthDependent = false
  var power: T = 0
  var offsetRows = 0
  var epsilon: T

  init(_ options: SoftplusAttentionOptions) throws(SoftmaxKernelsError) {
    let (scale, queryOffset, reweighting) = (options.scale, options.queryOffset, options.reweighting)
    let epsilon = T(options.epsilon)
    guard queryOffset >= 0 else {
      throw .invalidArgument(argument: "queryOffset", reason: "\(queryOffset) is negative")
    }
    guard epsilon >= 0, epsilon.isFinite else {
      throw .invalidArgument(argument: "epsilon", reason: "\(epsilon) is not a finite value >= 0")
    }
    self.epsilon = epsilon
    switch scale {
    case .lengthDependent(let d):
      guard d > 0 else {
        throw .invalidArgument(argument: "headDimension", reason: "\(d) is not positive")
      }
      logD = T(Foundation.log(Double(d)))
      lengthDependent = true
    case .constant(let c):
      // Checked in the element type: 1e39 is finite as a Double but not as a Float.
      guard T(c).isFinite else {
        throw .invalidArgument(argument: "scale", reason: "\(c) is not finite in \(T.self)")
      }
      constant = T(c)
    }
    if let reweighting {
      guard T(reweighting.power) > 0, T(reweighting.power).isFinite else {
        throw .invalidArgument(
          argument: "reweighting.power", reason: "\(reweighting.power) is not positive and finite")
      }
      guard reweighting.offsetRows >= 0 else {
        throw .invalidArgument(
          argument: "reweighting.offsetRows", reason: "\(reweighting.offsetRows) is negative")
      }
      power = T(reweighting.power)
      offsetRows = reweighting.offsetRows
    }
  }

  /// The kernel batch of a call (scores `S`, forward output `O`, input gradient `G`).
  func batch<S, O, G>(
    _ causal: Bool, _ queryOffset: Int, _ s: UnsafePointer<S>, _ sStride: Int,
    _ y: UnsafeMutablePointer<O>, _ yStride: Int, _ columns: Int
  ) -> SoftplusAttentionBatch<S, O, G, T> {
    var batch = SoftplusAttentionBatch<S, O, G, T>(scores: s, scoresStride: sStride, output: y, outputStride: yStride, columns: columns)
    batch.causal = causal
    batch.queryOffset = queryOffset
    batch.lengthDependentScale = lengthDependent
    batch.logHeadDimension = logD
    batch.constantScale = constant
    batch.power = power
    batch.offsetRows = offsetRows
    batch.epsilon = epsilon
    return batch
  }
}
