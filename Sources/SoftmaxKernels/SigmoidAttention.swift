// Sigmoid attention weights: row-wise over strided score matrices.

import Foundation
import SoftmaxKernelsCore

/// The options of ``SigmoidAttention``.
public struct SigmoidAttentionOptions: KernelOptions {
  /// The scale applied to the scores (finite); 1 by default.
  public var scale: Double
  /// The bias `b` (finite); `nil` (default) means `-log(sequenceLength)`.
  public var bias: Double?
  /// The sequence length `n` of the default bias; `nil` (default) means the row length.
  public var sequenceLength: Int?
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Scale 1, bias `-log(columns)`, all cores, the process's level.
  public init() { self.init(scale: 1) }

  /// Options with the given values.
  public init(
    scale: Double = 1, bias: Double? = nil, sequenceLength: Int? = nil,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.scale = scale
    self.bias = bias
    self.sequenceLength = sequenceLength
    self.execution = execution
  }
}

/// Attention weights without a softmax, row by row from a matrix of scores (queries x keys).
///
/// **Sigmoid attention** (Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
/// Self-Attention", ICLR 2025, arXiv:2409.04431; apple/ml-sigmoid-attention):
/// `P_ij = sigmoid(scale s_ij + b)` with the bias `b = -log n` by default (`n` = sequence
/// length = `columns` unless given), no row state; backward `dS = scale dP P (1 - P)`. Masked
/// scores of `-inf` give exact zeros (with `scale > 0`), so a fully masked row is 0, never NaN.
/// Accuracy: within `5 + 2 |u| (1 - P)` units of 2^-24 relative (Float), `u = scale s + b`,
/// whose rounding to Float moves `sigmoid(u)` by up to `|u| (1 - P)` units.
///
/// 16-bit scores (`Float16`, ``BFloat16``) are computed in `Float` and each weight and gradient
/// entry is rounded once, to the scores' type or to `Float` (``HalfPrecisionRowwiseGradient``).
///
/// **Layout**: `output` may be the scores' memory with the same stride (in place); the
/// backward's `inputGradient` may be `output` or `outputGradient`. Forms: ``RowwiseFunction``.
///
/// - Complexity: O(rows x columns), one pass; rows are spread over threads.
public enum SigmoidAttention: RowwiseGradient {
  /// Sigmoid attention takes ``SigmoidAttentionOptions``.
  public typealias Options = SigmoidAttentionOptions

  /// `output_ij = sigmoid(scale input_ij + bias)`.
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>,
    options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, T.self, options) { T.kernels($0).sigmoid.elementwise }
  }

  /// `inputGradient_ij = scale outputGradient_ij P_ij (1 - P_ij)` from the forward output `P`.
  public static func backward<T: KernelScalar>(
    output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: SigmoidAttentionOptions = SigmoidAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try backward(output: output, outputGradient: outputGradient, into: inputGradient, T.self, options) {
      T.kernels($0).sigmoid.elementwise
    }
  }

  /// The forward pass reading `X` and writing `Y`, computed in `A` (the scale and bias rounded
  /// to `A`) by the kernels `kernels(level)`.
  static func forward<X, Y, A: KernelScalar>(
    _ input: Rows<X>, into output: MutableRows<Y>, _: A.Type, _ options: SigmoidAttentionOptions,
    kernels: (ISALevel) -> ElementwiseKernels<X, Y, A>
  ) throws(SoftmaxKernelsError) {
    let m = try CheckedRows(input, into: output)
    // The default bias needs a sequence length; an empty row needs none (nothing is computed).
    let n = options.sequenceLength ?? max(m.columns, 1)
    let b: A = try AttentionWeights.sigmoidBias(options.bias.map { A($0) }, n)
    let scale = try AttentionWeights.finiteScale(options.scale, A.self)
    let plan = try ExecutionPlan(options.execution, elements: m.rows * m.columns)
    guard let s = m.input, let y = m.output else { return }
    let table = kernels(plan.level)
    AttentionWeights.forRows(m.rows, plan) { r in
      table.unary(.sigmoid, s + r * m.inputStride, y + r * m.outputStride, m.columns, scale, b)
    }
  }

  /// The backward pass reading `X` and writing `Y`, computed in `A`.
  static func backward<X, Y, A: KernelScalar>(
    output: Rows<X>, outputGradient: Rows<X>, into inputGradient: MutableRows<Y>, _: A.Type,
    _ options: SigmoidAttentionOptions, kernels: (ISALevel) -> ElementwiseKernels<X, Y, A>
  ) throws(SoftmaxKernelsError) {
    let m = try CheckedGradientRows(output, "output", outputGradient: outputGradient, into: inputGradient)
    let scale = try AttentionWeights.finiteScale(options.scale, A.self)
    let plan = try ExecutionPlan(options.execution, elements: m.rows * m.columns)
    guard let p = m.value, let g = m.outputGradient, let dx = m.inputGradient else { return }
    let table = kernels(plan.level)
    AttentionWeights.forRows(m.rows, plan) { r in
      table.gradient(
        .sigmoidFromOutput, p + r * m.valueStride, g + r * m.outputGradientStride,
        dx + r * m.inputGradientStride, m.columns, scale, 0)
    }
  }
}
