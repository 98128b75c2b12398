// Checks and dispatch behind the public `Softmax` functions (the algorithm choice:
// AlgorithmChoice.swift).

import SoftmaxKernelsCore

/// Checks the arguments of a softmax-family forward call, then runs it: `output` receives the
/// rows (softmax, log-softmax), `logSumExp` one value per row (then `output` is not used).
/// (Neither argument is an optional `MutableRows`: in this unspecialised generic code its type
/// metadata would be looked up on every call, ~330 instructions.)
func softmaxForward<T: KernelScalar>(
  _ operation: SoftmaxOperation, _ input: Rows<T>, output: MutableRows<T>,
  logSumExp: UnsafeMutableBufferPointer<T>, options: SoftmaxOptions
) throws(SoftmaxKernelsError) {
  try softmaxForward(operation, input, output: output, logSumExp: logSumExp, options: options) {
    T.kernels($0).softmax
  }
}

/// `softmaxForward` for rows stored as `X` with outputs stored as `Y` (a 16-bit type and
/// itself or `Float`), run by the table `kernels(level)`.
func softmaxForward<X, Y>(
  _ operation: SoftmaxOperation, _ input: Rows<X>, output: MutableRows<Y>,
  logSumExp: UnsafeMutableBufferPointer<Y>, options: SoftmaxOptions,
  kernels: (ISALevel) -> SoftmaxKernelTable<X, Y>
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
  var dummy = (0.0, 0.0)
  let table = kernels(plan.level)
  withUnsafeMutableBytes(of: &dummy) { d in
    let choice = AlgorithmChoice(
      options, operation, rows: rows, columns: columns, level: plan.level,
      outputBytes: operation == .logSumExp ? 0 : rows * columns * MemoryLayout<Y>.stride,
      scalarBytes: table.arithmeticBytes, narrowOutput: MemoryLayout<Y>.stride < table.arithmeticBytes)
    var batch = ForwardBatch<X, Y>(
      input: input.buffer.baseAddress ?? UnsafePointer(d.baseAddress!.assumingMemoryBound(to: X.self)),
      inputStride: inLayout.stride, columns: columns, operation: operation,
      algorithm: SoftmaxPasses(choice.algorithm))
    batch.output = operation == .logSumExp ? nil : output.buffer.baseAddress ?? d.baseAddress!.assumingMemoryBound(to: Y.self)
    batch.outputStride = outputStride
    batch.logSumExp = logSumExp.baseAddress
    batch.fullyMaskedRowIsZero = options.fullyMaskedRowIsZero
    batch.positiveInfinityIsLimit = options.positiveInfinityIsLimit
    batch.streamingStores = choice.streamingStores
    // Not for the stored exponentials of threePassReload at x86-64-v4: there 8320 x 32768
    // Float rows fell from 18.7 to 12.4-13.8 GB/s at 2 threads with the prefetch (1 thread:
    // 9.5 to 9.2, once 6.7), where every other three-pass cell gained 4-37% and the same cell
    // at x86-64-v3 16% / 19% (1 / 2 threads; Intel Xeon Sapphire Rapids, 2026-11-30).
    // With the exponentials in a scratch row the prefetch pays: 8192 x 32768, x86-64-v4, 21.6 /
    // 36.8 GB/s with it against 16.3 / 24.5 without (1 / 2 threads; AMD EPYC Zen 4, 2026-11-30).
    let storesAtV4 = choice.algorithm == .threePassReload && operation == .softmax && plan.level == .x86_64_v4
      && !choice.reloadsFromScratch
    batch.reloadsFromScratch = choice.reloadsFromScratch
    batch.prefetchNextRow = !storesAtV4 && prefetchesNextRow(rows: rows, columns: columns, X.self)
    batch.prefetchNextBlock = prefetchesNextBlock(columns: columns, X.self, arithmeticBytes: table.arithmeticBytes)
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
  try softmaxBackward(operation, output: output, outputGradient: outputGradient, into: inputGradient, options: options) {
    T.kernels($0).softmax
  }
}

/// `softmaxBackward` for a forward output and upstream gradient stored as `X`, the input
/// gradient stored as `Y`, run by the table `kernels(level)`.
func softmaxBackward<X, Y>(
  _ operation: BackwardOperation, output: Rows<X>, outputGradient: Rows<X>,
  into inputGradient: MutableRows<Y>, options: SoftmaxOptions,
  kernels: (ISALevel) -> SoftmaxKernelTable<X, Y>
) throws(SoftmaxKernelsError) {
  let m = try CheckedGradientRows(output, "output", outputGradient: outputGradient, into: inputGradient)
  let plan = try ExecutionPlan(options.execution, elements: m.rows * m.columns)
  guard let y = m.value, let g = m.outputGradient, let dx = m.inputGradient else { return }
  var batch = BackwardBatch<X, Y>(output: y, outputStride: m.valueStride, gradient: g, gradientStride: m.outputGradientStride, inputGradient: dx, inputGradientStride: m.inputGradientStride, columns: m.columns, operation: operation)
  batch.fullyMaskedRowIsZero = options.fullyMaskedRowIsZero
  let table = kernels(plan.level)
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
