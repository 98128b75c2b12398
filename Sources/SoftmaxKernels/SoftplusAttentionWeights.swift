// Softplus attention weights (LSSA / LSSAR) of `AttentionWeights`.

import Foundation
import SoftmaxKernelsCore

// MARK: - Softplus attention

extension AttentionWeights {
  /// LSSA weights (L1-normalised softplus), or LSSAR weights when `reweighting` is given.
  ///
  /// - Parameters:
  ///   - rows: the number of queries.
  ///   - columns: the number of keys.
  ///   - scores: row `i` starts at `i * scoresRowStride`.
  ///   - scoresRowStride: elements from one row's start to the next; default `columns`.
  ///   - output: receives the weights; may be `scores` with the same stride (in place).
  ///   - outputRowStride: the output's row stride; default `columns`.
  ///   - scale: the softplus scale `c_i`: LSSA's length-dependent one or a constant.
  ///   - causal: query `i` sees keys `0...i + queryOffset` (default true); masked entries are 0.
  ///   - queryOffset: the position of row 0 among the queries (decoding with a cache). >= 0.
  ///   - reweighting: LSSAR's re-weighting; `nil` (default) gives the LSSA weights.
  ///   - epsilon: added to the L1 norm of LSSA (1e-8, as the reference implementations).
  ///   - options: threads and instruction-set level.
  public static func softplus<T: KernelScalar>(
    rows: Int, columns: Int,
    scores: UnsafeBufferPointer<T>, scoresRowStride: Int? = nil,
    output: UnsafeMutableBufferPointer<T>, outputRowStride: Int? = nil,
    scale: SoftplusScale, causal: Bool = true, queryOffset: Int = 0,
    reweighting: Reweighting? = nil, epsilon: T = T(1e-8),
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    let inLayout = try RowLayout.input(scores, rows: rows, columns: columns, stride: scoresRowStride, "scores")
    let outLayout = try RowLayout.output(
      output, rows: rows, columns: columns, stride: outputRowStride, "output", reading: (scores, inLayout))
    let parameters = try SoftplusParameters<T>(scale, queryOffset, reweighting, epsilon)
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let s = scores.baseAddress, let y = output.baseAddress else { return }
    let batch = parameters.batch(causal, queryOffset, s, inLayout.stride, y, outLayout.stride, columns)
    let table = T.kernels(plan.level).sigmoid
    forRowRanges(rows, plan) { table.softplusAttentionRows(batch, $0) }
  }

  /// The gradient with respect to the scores of `softplus(...)`, from the scores, the forward
  /// output and the upstream gradient (same parameters as the forward call).
  /// `inputGradient` must not overlap the other buffers.
  public static func softplusBackward<T: KernelScalar>(
    rows: Int, columns: Int,
    scores: UnsafeBufferPointer<T>, scoresRowStride: Int? = nil,
    output: UnsafeBufferPointer<T>, outputRowStride: Int? = nil,
    outputGradient: UnsafeBufferPointer<T>, outputGradientRowStride: Int? = nil,
    inputGradient: UnsafeMutableBufferPointer<T>, inputGradientRowStride: Int? = nil,
    scale: SoftplusScale, causal: Bool = true, queryOffset: Int = 0,
    reweighting: Reweighting? = nil, epsilon: T = T(1e-8),
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    let sLayout = try RowLayout.input(scores, rows: rows, columns: columns, stride: scoresRowStride, "scores")
    let dxLayout = try RowLayout.input(
      UnsafeBufferPointer(inputGradient), rows: rows, columns: columns, stride: inputGradientRowStride,
      "inputGradient")
    let yLayout = try RowLayout.input(output, rows: rows, columns: columns, stride: outputRowStride, "output")
    let gLayout = try RowLayout.input(
      outputGradient, rows: rows, columns: columns, stride: outputGradientRowStride, "outputGradient")
    let dxRaw = UnsafeRawBufferPointer(
      start: inputGradient.baseAddress, count: dxLayout.span * MemoryLayout<T>.stride)
    for (buffer, layout, name) in [
      (UnsafeRawPointer(scores.baseAddress), sLayout, "scores"),
      (UnsafeRawPointer(output.baseAddress), yLayout, "output"),
      (UnsafeRawPointer(outputGradient.baseAddress), gLayout, "outputGradient"),
    ] {
      let raw = UnsafeRawBufferPointer(start: buffer, count: layout.span * MemoryLayout<T>.stride)
      do throws(SoftmaxKernelsError) {
        try BinaryCrossEntropy.checkDisjoint(raw, dxRaw, "inputGradient")
      } catch {
        throw .invalidArgument(argument: "inputGradient", reason: "overlaps \(name)")
      }
    }
    let parameters = try SoftplusParameters<T>(scale, queryOffset, reweighting, epsilon)
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let s = scores.baseAddress, let y = output.baseAddress,
      let g = outputGradient.baseAddress, let dx = inputGradient.baseAddress
    else { return }
    var batch = parameters.batch(
      causal, queryOffset, s, sLayout.stride, UnsafeMutablePointer(mutating: y), yLayout.stride,
      columns)
    batch.outputGradient = g
    batch.outputGradientStride = gLayout.stride
    batch.inputGradient = dx
    batch.inputGradientStride = dxLayout.stride
    let table = T.kernels(plan.level).sigmoid
    forRowRanges(rows, plan) { table.softplusAttentionBackwardRows(batch, $0) }
  }

  /// LSSA / LSSAR weights of a row-major `rows x columns` array.
  public static func softplus<T: KernelScalar>(
    _ scores: [T], columns: Int, scale: SoftplusScale, causal: Bool = true,
    queryOffset: Int = 0, reweighting: Reweighting? = nil,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    let rows = try Softmax.shape(scores.count, columns).0
    return try Sigmoid.map(scores) { (s, y) throws(SoftmaxKernelsError) in
      try softplus(
        rows: rows, columns: columns, scores: s, output: y, scale: scale, causal: causal,
        queryOffset: queryOffset, reweighting: reweighting, options: options)
    }
  }
}
