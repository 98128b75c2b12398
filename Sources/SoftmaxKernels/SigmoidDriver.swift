// Checks, threading and dispatch behind the sigmoid-family entry points.

import SoftmaxKernelsCore

// MARK: - Implementation

extension Sigmoid {
  static func checkSoftplus<T: KernelScalar>(_ beta: T, _ threshold: T) throws(SoftmaxKernelsError) {
    guard beta > 0, beta.isFinite else {
      throw .invalidArgument(argument: "beta", reason: "\(beta) is not positive and finite")
    }
    guard !threshold.isNaN else { throw .invalidArgument(argument: "threshold", reason: "is NaN") }
  }

  /// Throws unless `output` is disjoint from `input` or starts at the same element (in place,
  /// only when both have one type).
  static func checkElementwiseAliasing<X, Y>(
    _ input: UnsafeBufferPointer<X>, _ output: UnsafeMutableBufferPointer<Y>, _ argument: String
  ) throws(SoftmaxKernelsError) {
    try checkAliasing(
      input: UnsafeRawPointer(input.baseAddress), RowLayout(rows: 1, columns: input.count, stride: input.count),
      X.self, output: UnsafeRawPointer(output.baseAddress),
      RowLayout(rows: 1, columns: output.count, stride: output.count), Y.self, outputArgument: argument)
  }

  /// Runs `body(i, range_i)` for `i` in `0..<plan.threads`, the ranges splitting `0..<count`
  /// into contiguous chunks (on 64-element boundaries; trailing ones may be empty), one thread
  /// each.
  static func chunked(_ count: Int, _ plan: ExecutionPlan, _ body: (Int, Range<Int>) -> Void) {
    let t = plan.threads
    if t <= 1 { return body(0, 0..<count) }
    let per = ((count + t - 1) / t + 63) / 64 * 64
    parallelFor(t) { i in
      let lo = min(count, i * per)
      body(i, lo..<min(count, lo + per))
    }
  }

  static func unary<T: KernelScalar>(
    _ op: SigmoidUnaryOperation, _ input: UnsafeBufferPointer<T>,
    _ output: UnsafeMutableBufferPointer<T>, _ a: T, _ b: T, _ options: ExecutionOptions
  ) throws(SoftmaxKernelsError) {
    try unary(op, input, output, a, b, options) { T.kernels($0).sigmoid.elementwise }
  }

  /// `output[i] = op(input[i])` with the elementwise kernels `kernels(level)` (of `Float` /
  /// `Double`, or of a 16-bit type with a 16-bit or `Float` output).
  static func unary<X, Y, A>(
    _ op: SigmoidUnaryOperation, _ input: UnsafeBufferPointer<X>,
    _ output: UnsafeMutableBufferPointer<Y>, _ a: A, _ b: A, _ options: ExecutionOptions,
    kernels: (ISALevel) -> ElementwiseKernels<X, Y, A>
  ) throws(SoftmaxKernelsError) {
    guard input.count == output.count else {
      throw .countMismatch(argument: "output", expected: input.count, actual: output.count)
    }
    try checkElementwiseAliasing(input, output, "output")
    let plan = try ExecutionPlan(options.execution, elements: input.count)
    guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
    let table = kernels(plan.level)
    chunked(input.count, plan) { _, r in table.unary(op, x + r.lowerBound, y + r.lowerBound, r.count, a, b) }
  }

  static func gradient<T: KernelScalar>(
    _ op: SigmoidGradientOperation, _ v: UnsafeBufferPointer<T>, _ g: UnsafeBufferPointer<T>,
    _ dx: UnsafeMutableBufferPointer<T>, _ a: T, _ b: T, _ options: ExecutionOptions
  ) throws(SoftmaxKernelsError) {
    try gradient(op, v, g, dx, a, b, options) { T.kernels($0).sigmoid.elementwise }
  }

  /// `dx[i] = g[i] op'(v[i])` with the elementwise kernels `kernels(level)`.
  static func gradient<X, Y, A>(
    _ op: SigmoidGradientOperation, _ v: UnsafeBufferPointer<X>, _ g: UnsafeBufferPointer<X>,
    _ dx: UnsafeMutableBufferPointer<Y>, _ a: A, _ b: A, _ options: ExecutionOptions,
    kernels: (ISALevel) -> ElementwiseKernels<X, Y, A>
  ) throws(SoftmaxKernelsError) {
    guard g.count == v.count else {
      throw .countMismatch(argument: "outputGradient", expected: v.count, actual: g.count)
    }
    guard dx.count == v.count else {
      throw .countMismatch(argument: "inputGradient", expected: v.count, actual: dx.count)
    }
    try checkElementwiseAliasing(v, dx, "inputGradient")
    try checkElementwiseAliasing(g, dx, "inputGradient")
    let plan = try ExecutionPlan(options.execution, elements: v.count)
    guard let vp = v.baseAddress, let gp = g.baseAddress, let dp = dx.baseAddress, v.count > 0
    else { return }
    let table = kernels(plan.level)
    chunked(v.count, plan) { _, r in
      table.gradient(op, vp + r.lowerBound, gp + r.lowerBound, dp + r.lowerBound, r.count, a, b)
    }
  }
}
