// Checks, algorithm choice and dispatch behind the public `Softmax` functions.

import SoftmaxKernelsCore

extension SoftmaxAlgorithm {
  /// The algorithm `.automatic` runs for rows of `columns` entries; `logarithmic` is true for
  /// log-softmax and log-sum-exp. Other cases return themselves.
  ///
  /// Rule, from `softmax-bench` on 1 GiB inputs (AMD EPYC, x86-64-v3, 2 cores; see
  /// <doc:Algorithms>):
  /// - softmax rows of up to 2^18 entries: `threePassReload`. The row is re-read from L2/L3,
  ///   and one exponential per entry wins (W2: 11.8 / 22.2 GB/s at 1 / 2 threads against 9.7 /
  ///   18.4 for `online` and 8.8 / 17.1 for `twoPass`);
  /// - longer softmax rows: `online`. Every pass streams from memory and the fewer passes win
  ///   at 2 threads (W1: 15.3 GB/s against 14.8 `twoPass`, 13.2 `threePassReload`; at 1
  ///   thread 9.0 against 9.2 for `threePassReload`);
  /// - log-softmax and log-sum-exp: `online` (no output to reload; W4: 9.8 / 18.2 GB/s against
  ///   9.0 / 16.9 for the three-pass algorithms).
  public func resolved(columns: Int, logarithmic: Bool = false) -> SoftmaxAlgorithm {
    guard self == .automatic else { return self }
    if logarithmic { return .online }
    return columns > 1 << 18 ? .online : .threePassReload
  }
}

/// Checks the arguments of a softmax-family forward call, then runs it: `output` receives the
/// rows (softmax, log-softmax), `logSumExp` one value per row (then `output` is not used).
/// (Neither argument is an optional `MutableRows`: in this unspecialised generic code its type
/// metadata would be looked up on every call, ~330 instructions.)
func softmaxForward<T: KernelScalar>(
  _ operation: SoftmaxOperation, _ input: Rows<T>, output: MutableRows<T>,
  logSumExp: UnsafeMutableBufferPointer<T>, options: SoftmaxOptions
) throws(SoftmaxKernelsError) {
  let (rows, columns) = (input.rows, input.columns)
  let inLayout = try RowLayout.input(input, "input")
  var outputStride = columns
  if operation != .logSumExp {
    outputStride = try RowLayout.output(output, "output", rows: rows, columns: columns, reading: (input.buffer, inLayout)).stride
  } else {
    // One value per row: any overlap with the rows read would be overwritten before it is read.
    try checkDisjoint(ArgumentMemory("output", logSumExp, count: rows), ArgumentMemory("input", input, inLayout))
  }
  let plan = try ExecutionPlan(options.execution, elements: rows * columns)
  guard rows > 0 else { return }
  // A zero-column row still has a log-sum-exp (-inf); give the kernel a valid pointer.
  var dummy = T.zero
  try withUnsafeMutablePointer(to: &dummy) { (d) throws(SoftmaxKernelsError) in
    var batch = ForwardBatch<T>(input: input.buffer.baseAddress ?? UnsafePointer(d), inputStride: inLayout.stride, columns: columns, operation: operation, algorithm: SoftmaxPasses(options.algorithm.resolved(columns: columns, logarithmic: operation != .softmax)))
    batch.output = operation == .logSumExp ? nil : output.buffer.baseAddress ?? d
    batch.outputStride = outputStride
    batch.logSumExp = logSumExp.baseAddress
    batch.fullyMaskedRowIsZero = options.fullyMaskedRowIsZero
    batch.positiveInfinityIsLimit = options.positiveInfinityIsLimit
    batch.streamingStores = batch.output != nil
      && options.execution.streams(outputBytes: rows * outputStride * MemoryLayout<T>.stride)
    let table = T.kernels(plan.level).softmax
    plan.run(
      rows: rows, columns: columns,
      wholeRows: { table.forwardRows(batch, $0) },
      splitRow: { table.forwardSplitRow(batch, $0, $1, $2) })
  }
}

/// Checks the arguments of a softmax or log-softmax backward call, then runs it.
func softmaxBackward<T: KernelScalar>(
  _ operation: BackwardOperation, output: Rows<T>, outputGradient: Rows<T>,
  into inputGradient: MutableRows<T>, options: SoftmaxOptions
) throws(SoftmaxKernelsError) {
  let m = try CheckedGradientRows(output, "output", outputGradient: outputGradient, into: inputGradient)
  let plan = try ExecutionPlan(options.execution, elements: m.rows * m.columns)
  guard let y = m.value, let g = m.outputGradient, let dx = m.inputGradient else { return }
  var batch = BackwardBatch<T>(output: y, outputStride: m.valueStride, gradient: g, gradientStride: m.outputGradientStride, inputGradient: dx, inputGradientStride: m.inputGradientStride, columns: m.columns, operation: operation)
  batch.fullyMaskedRowIsZero = options.fullyMaskedRowIsZero
  let table = T.kernels(plan.level).softmax
  plan.run(
    rows: m.rows, columns: m.columns,
    wholeRows: { table.backwardRows(batch, $0) },
    splitRow: { table.backwardSplitRow(batch, $0, $1, $2) })
}

extension SoftmaxPasses {
  /// The pass structure of a resolved algorithm (never `.automatic`).
  init(_ algorithm: SoftmaxAlgorithm) {
    switch algorithm {
    case .threePassRecompute: self = .threePassRecompute
    case .threePassReload, .automatic: self = .threePassReload
    case .twoPass: self = .twoPass
    case .online: self = .online
    }
  }
}
