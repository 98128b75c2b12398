// The gradient of the softplus attention weights with respect to the scores.

import SoftmaxKernelsCore

extension SoftplusAttention {
  /// The gradient with respect to the scores of ``forward(_:into:options:)-(Rows<T>,_,_)``, from the scores
  /// `input`, the forward `output` and the upstream gradient (all the same shape; the same
  /// options as the forward call). `inputGradient` must not overlap the other matrices (it
  /// holds intermediates).
  public static func backward<T: KernelScalar>(
    input: Rows<T>, output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(input: input, output: output, outputGradient: outputGradient, into: inputGradient, T.self, options) {
      T.kernels($0).sigmoid.softplusAttentionBackwardRows
    }
  }

  /// The backward pass for scores, forward output and upstream gradient stored as `X` and the
  /// input gradient as `G`, computed in `A` by the kernel `kernel(level)`.
  static func backward<X, G, A: KernelScalar>(
    input: Rows<X>, output: Rows<X>, outputGradient: Rows<X>, into inputGradient: MutableRows<G>, _: A.Type,
    _ options: SoftplusAttentionOptions, kernel: (ISALevel) -> (SoftplusAttentionBatch<X, X, G, A>, Range<Int>) -> Void
  ) throws(SoftmaxKernelsError) {
    let (rows, columns) = (input.rows, input.columns)
    let sLayout = try RowLayout.input(input, "input")
    let dxLayout = try RowLayout.input(inputGradient.readOnly, "inputGradient", rows: rows, columns: columns)
    let yLayout = try RowLayout.input(output, "output", rows: rows, columns: columns)
    let gLayout = try RowLayout.input(outputGradient, "outputGradient", rows: rows, columns: columns)
    try checkDisjoint(
      outputs: [ArgumentMemory("inputGradient", inputGradient.readOnly, dxLayout)],
      inputs: [
        ArgumentMemory("input", input, sLayout), ArgumentMemory("output", output, yLayout),
        ArgumentMemory("outputGradient", outputGradient, gLayout),
      ])
    let parameters = try SoftplusParameters<A>(options)
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let s = input.buffer.baseAddress, let y = output.buffer.baseAddress,
      let g = outputGradient.buffer.baseAddress, let dx = inputGradient.buffer.baseAddress
    else { return }
    var batch: SoftplusAttentionBatch<X, X, G, A> = parameters.batch(
      options.causal, options.queryOffset, s, sLayout.stride, UnsafeMutablePointer(mutating: y),
      yLayout.stride, columns)
    batch.outputGradient = g
    batch.outputGradientStride = gLayout.stride
    batch.inputGradient = dx
    batch.inputGradientStride = dxLayout.stride
    let rowsKernel = kernel(plan.level)
    AttentionWeights.forRowRanges(rows, plan) { rowsKernel(batch, $0) }
  }

  /// The gradient with respect to the scores (contiguous rows of `columns` keys).
  public static func backward<T: KernelScalar>(
    input: Span<T>, output: Span<T>, outputGradient: Span<T>, columns: Int,
    into inputGradient: inout MutableSpan<T>,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try checkCount(output.count, equals: input.count, "output")
    try checkCount(outputGradient.count, equals: input.count, "outputGradient")
    try checkCount(inputGradient.count, equals: input.count, "inputGradient")
    try withBuffer(input) { (s) throws(SoftmaxKernelsError) in
      try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
        try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
          try withMutableBuffer(&inputGradient) { (dx) throws(SoftmaxKernelsError) in
            try backward(
              input: Rows(s, columns: columns), output: Rows(y, columns: columns),
              outputGradient: Rows(g, columns: columns), into: MutableRows(dx, columns: columns),
              options: options)
          }
        }
      }
    }
  }

  /// The gradient with respect to the scores (rows of `columns` keys).
  public static func backward<T: KernelScalar>(
    input: [T], output: [T], outputGradient: [T], columns: Int,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    var result = [T](repeating: 0, count: input.count)
    try withMutableSpan(&result) { (span) throws(SoftmaxKernelsError) in
      try withSpan(input) { (inputSpan) throws(SoftmaxKernelsError) in
        try withSpan(output) { (outputSpan) throws(SoftmaxKernelsError) in
          try withSpan(outputGradient) { (outputGradientSpan) throws(SoftmaxKernelsError) in
            try backward(
              input: inputSpan, output: outputSpan, outputGradient: outputGradientSpan, columns: columns,
              into: &span, options: options)
          }
        }
      }
    }
    return result
  }
}
