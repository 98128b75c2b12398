// The one switch from a catalog kernel to its public function.

import SoftmaxKernelsCore

extension CatalogKernel {
  /// Runs the kernel on `call` through its public strided entry point, so the catalog tests
  /// exercise exactly what users call.
  package func run<T: KernelScalar>(_ c: KernelCall<T>) throws(SoftmaxKernelsError) {
    let x = Rows(c.input, rows: c.rows, columns: c.columns, rowStride: c.inputRowStride)
    let g = Rows(c.gradient, rows: c.rows, columns: c.columns, rowStride: c.upstreamRowStride)
    let y = MutableRows(c.output, rows: c.rows, columns: c.columns, rowStride: c.outputRowStride)
    let softmax = c.softmaxOptions, execution = c.execution
    switch self {
    case .softmax: try Softmax.forward(x, into: y, options: softmax)
    case .logSoftmax: try LogSoftmax.forward(x, into: y, options: softmax)
    case .logSumExp: try LogSumExp.forward(x, into: c.output, options: softmax)
    case .softmaxBackward: try Softmax.backward(output: x, outputGradient: g, into: y, options: softmax)
    case .logSoftmaxBackward: try LogSoftmax.backward(output: x, outputGradient: g, into: y, options: softmax)
    case .stableMax: try StableMax.forward(x, into: y, options: execution)
    case .logStableMax: try LogStableMax.forward(x, into: y, options: execution)
    case .sigmoid: try Sigmoid.forward(x, into: y, options: execution)
    case .logSigmoid: try LogSigmoid.forward(x, into: y, options: execution)
    case .softplus: try Softplus.forward(x, into: y, options: SoftplusOptions(execution: execution))
    case .sigmoidBackward: try Sigmoid.backward(input: x, outputGradient: g, into: y, options: execution)
    case .logSigmoidBackward: try LogSigmoid.backward(input: x, outputGradient: g, into: y, options: execution)
    case .softplusBackward:
      try Softplus.backward(input: x, outputGradient: g, into: y, options: SoftplusOptions(execution: execution))
    // Attention with parameters the catalog's references know: `u = s / 2 - 2` is exact for
    // its inputs; LSSA without the causal mask (row-independent).
    case .sigmoidAttention:
      try SigmoidAttention.forward(x, into: y, options: Self.sigmoidAttentionOptions(execution))
    case .sigmoidAttentionBackward:
      try SigmoidAttention.backward(
        output: x, outputGradient: g, into: y, options: Self.sigmoidAttentionOptions(execution))
    case .softplusAttention:
      try SoftplusAttention.forward(
        x, into: y, options: SoftplusAttentionOptions(scale: .constant(1), causal: false, execution: execution))
    case .crossEntropy, .sphericalZLoss, .stableMaxCrossEntropy, .binaryCrossEntropy, .sigLIP,
      .softplusAttentionBackward, .linearCrossEntropy:
      preconditionFailure("\(self) has arguments of its own; its tests call it")
    }
  }

  /// The sigmoid-attention options of the catalog's calls: scale 1/2, bias -2.
  package static func sigmoidAttentionOptions(_ execution: ExecutionOptions) -> SigmoidAttentionOptions {
    SigmoidAttentionOptions(scale: 0.5, bias: -2, execution: execution)
  }
}
