// The one switch from a catalog kernel to its public function.

import SoftmaxKernelsCore

extension CatalogKernel {
  /// Runs the kernel on `call` through its public entry point (strided buffers), so the catalog
  /// tests exercise exactly what users call.
  package func run<T: KernelScalar>(_ c: KernelCall<T>) throws(SoftmaxKernelsError) {
    let x = c.input, y = c.output, g = c.gradient
    switch self {
    case .softmax:
      try Softmax.softmax(
        rows: c.rows, columns: c.columns, input: x, inputRowStride: c.inputRowStride, output: y,
        outputRowStride: c.outputRowStride, options: c.softmaxOptions)
    case .logSoftmax:
      try Softmax.logSoftmax(
        rows: c.rows, columns: c.columns, input: x, inputRowStride: c.inputRowStride, output: y,
        outputRowStride: c.outputRowStride, options: c.softmaxOptions)
    case .logSumExp:
      try Softmax.logSumExp(
        rows: c.rows, columns: c.columns, input: x, inputRowStride: c.inputRowStride, output: y,
        options: c.softmaxOptions)
    case .softmaxBackward:
      try Softmax.softmaxBackward(
        rows: c.rows, columns: c.columns, output: x, outputRowStride: c.inputRowStride,
        outputGradient: g, outputGradientRowStride: c.upstreamRowStride, inputGradient: y,
        inputGradientRowStride: c.outputRowStride, options: c.softmaxOptions)
    case .logSoftmaxBackward:
      try Softmax.logSoftmaxBackward(
        rows: c.rows, columns: c.columns, output: x, outputRowStride: c.inputRowStride,
        outputGradient: g, outputGradientRowStride: c.upstreamRowStride, inputGradient: y,
        inputGradientRowStride: c.outputRowStride, options: c.softmaxOptions)
    case .stableMax, .logStableMax:
      try StableMax.stableMax(
        rows: c.rows, columns: c.columns, input: x, inputRowStride: c.inputRowStride, output: y,
        outputRowStride: c.outputRowStride, logarithm: self == .logStableMax, options: c.softmaxOptions)
    case .sigmoid, .logSigmoid, .softplus, .sigmoidBackward, .logSigmoidBackward, .softplusBackward:
      try forEachRow(c) { (x, g, y) throws(SoftmaxKernelsError) in
        let o = c.execution
        switch self {
        case .sigmoid: try Sigmoid.sigmoid(x, into: y, options: o)
        case .logSigmoid: try Sigmoid.logSigmoid(x, into: y, options: o)
        case .softplus: try Sigmoid.softplus(x, into: y, options: o)
        case .sigmoidBackward: try Sigmoid.sigmoidBackward(input: x, outputGradient: g, into: y, options: o)
        case .logSigmoidBackward: try Sigmoid.logSigmoidBackward(input: x, outputGradient: g, into: y, options: o)
        default: try Sigmoid.softplusBackward(input: x, outputGradient: g, into: y, options: o)
        }
      }
    case .crossEntropy, .sphericalZLoss, .stableMaxCrossEntropy, .binaryCrossEntropy, .sigLIP,
      .sigmoidAttention, .softplusAttention:
      preconditionFailure("\(self) is a loss or attention kernel with its own arguments; its tests call it")
    }
  }

  /// Calls `body` once for the whole matrix when it is contiguous, else once per row (the
  /// elementwise functions take one vector).
  private func forEachRow<T>(
    _ c: KernelCall<T>,
    _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) throws(SoftmaxKernelsError) -> Void
  ) throws(SoftmaxKernelsError) {
    let contiguous = c.inputRowStride == c.columns && c.outputRowStride == c.columns
      && (c.upstream == nil || c.upstreamRowStride == c.columns)
    if contiguous || c.rows <= 1 {
      let n = c.rows * c.columns
      try body(
        UnsafeBufferPointer(rebasing: c.input.prefix(n)),
        c.upstream.map { UnsafeBufferPointer(rebasing: $0.prefix(n)) } ?? c.gradient,
        UnsafeMutableBufferPointer(rebasing: c.output.prefix(n)))
      return
    }
    for r in 0..<c.rows {
      func row<B: Collection>(_ b: B, _ stride: Int) -> Range<Int> where B.Index == Int {
        (r * stride)..<(r * stride + c.columns)
      }
      try body(
        UnsafeBufferPointer(rebasing: c.input[row(c.input, c.inputRowStride)]),
        c.upstream.map { UnsafeBufferPointer(rebasing: $0[row($0, c.upstreamRowStride)]) } ?? c.gradient,
        UnsafeMutableBufferPointer(rebasing: c.output[row(c.output, c.outputRowStride)]))
    }
  }
}
