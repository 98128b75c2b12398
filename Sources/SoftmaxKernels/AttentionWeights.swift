// Softmax-free attention-weight normalisations: sigmoid attention and softplus attention with
// L1 normalisation (LSSA) and re-weighting (LSSAR), row-wise over strided score matrices.

import Foundation
import SoftmaxKernelsCore

/// Attention weights without a softmax, computed row by row from a matrix of scores
/// (`rows` queries x `columns` keys, row-major with row strides).
///
/// **Sigmoid attention** (Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
/// Self-Attention", ICLR 2025, arXiv:2409.04431; apple/ml-sigmoid-attention):
/// `P_ij = sigmoid(scale s_ij + b)` with the bias `b = -log n` by default (`n` = sequence
/// length = `columns` unless given), no row state; backward `dS = scale dP P (1 - P)`. Masked
/// scores of `-inf` give exact zeros (with `scale > 0`), so a fully masked row is 0, never NaN.
/// Accuracy: within `5 + 2 |u| (1 - P)` units of 2^-24 relative (Float), `u = scale s + b`,
/// whose rounding to Float moves `sigmoid(u)` by up to `|u| (1 - P)` units.
///
/// **Softplus attention** (Gao & Spratling, "Softplus Attention with Re-weighting Boosts Length
/// Extrapolation in Large Language Models", arXiv:2501.13428; the formulas are taken from a
/// paper note and a third-party re-implementation that agree, not from the authors' code): with
/// `N_i` the number of keys
/// query `i` sees (`i + queryOffset + 1` when `causal`, else `columns`) and
/// `c_i = log(d) log(N_i)` (`.lengthDependent(headDimension: d)`) or a constant `c`:
///
///     f_ij = softplus(c_i s_ij) for visible keys, 0 for masked ones
///     LSSA:  A_ij = f_ij / (sum_j f_ij + eps)                          (eps = 1e-8)
///     LSSAR: U_ij = max(A_ij N_i - O_i, 0);  A_ij = U_ij^p / sum_j U_ij^p
///            (O_i = 0 for the first `offsetRows` queries, else 1; a row of zeros stays 0)
///
/// The re-weighting raises `U_ij / max_j U_ij` (in [0, 1]) to the power `p` as
/// `exp(p log(.))`, so long rows cannot overflow (`(N - 1)^15` exceeds Float's range for
/// `N > 370`). The first query (N = 1, `log 1 = 0`) gets a uniform row. Accuracy
/// (`AttentionWeightTests`, Float): LSSA weights within 2e-6 relative; LSSAR weights within
/// `(2 + p) x 1e-6` of the row's largest weight (`U = A N - 1` cancels where `A N` is close to 1,
/// so small weights have no relative bound; measured 2.2e-6 for p = 15 on 4096 keys).
///
/// **Layout**: `output` may be the scores buffer with the same stride (in place) for the
/// forward calls; the softplus backward needs an `inputGradient` that overlaps nothing else (it
/// holds intermediates). Masked entries (`causal`) are written as 0 (gradient 0).
///
/// - Complexity: O(rows x columns). Sigmoid: one pass. LSSA: two passes over each row
///   (one exponential and one logarithm per entry); LSSAR: four (plus one logarithm and one
///   exponential per entry); backward: three or four. Rows are spread over threads.
public enum AttentionWeights {
  /// The softplus scale `c_i` of query `i`.
  public enum SoftplusScale: Sendable, Equatable {
    /// LSSA's `c_i = log(d) log(N_i)`, `d` the head dimension.
    case lengthDependent(headDimension: Int)
    /// The same `c` for every query.
    case constant(Double)
  }

  /// LSSAR's re-weighting `A <- max(A N - O, 0)^p` (then L1-normalised).
  public struct Reweighting: Sendable, Equatable {
    /// The power `p` (the paper: 3 at 1K context, 15 for long contexts). Positive.
    public var power: Double
    /// Queries below this index use `O = 0` (the paper's first 3 rows), the others `O = 1`.
    public var offsetRows: Int

    /// A re-weighting with the paper's defaults: `p = 3`, the first 3 queries with `O = 0`.
    public init(power: Double = 3, offsetRows: Int = 3) {
      self.power = power
      self.offsetRows = offsetRows
    }
  }
}

// MARK: - Sigmoid attention

extension AttentionWeights {
  /// `output_ij = sigmoid(scale scores_ij + bias)`, `bias` defaulting to `-log(sequenceLength)`
  /// (`sequenceLength` defaults to `columns`).
  public static func sigmoid<T: KernelScalar>(
    rows: Int, columns: Int,
    scores: UnsafeBufferPointer<T>, scoresRowStride: Int? = nil,
    output: UnsafeMutableBufferPointer<T>, outputRowStride: Int? = nil,
    scale: T = 1, bias: T? = nil, sequenceLength: Int? = nil,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    let inLayout = try RowLayout.input(scores, rows: rows, columns: columns, stride: scoresRowStride, "scores")
    let outLayout = try RowLayout.output(
      output, rows: rows, columns: columns, stride: outputRowStride, "output", reading: (scores, inLayout))
    let b = try sigmoidBias(bias, sequenceLength ?? columns)
    guard scale.isFinite else { throw .invalidArgument(argument: "scale", reason: "\(scale) is not finite") }
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let s = scores.baseAddress, let y = output.baseAddress else { return }
    let table = T.kernels(plan.level).sigmoid
    forRows(rows, plan) { r in
      table.unary(.sigmoid, s + r * inLayout.stride, y + r * outLayout.stride, columns, scale, b)
    }
  }

  /// `inputGradient_ij = scale outputGradient_ij P_ij (1 - P_ij)` from the forward output `P`;
  /// `inputGradient` may be `output` or `outputGradient` (same stride).
  public static func sigmoidBackward<T: KernelScalar>(
    rows: Int, columns: Int,
    output: UnsafeBufferPointer<T>, outputRowStride: Int? = nil,
    outputGradient: UnsafeBufferPointer<T>, outputGradientRowStride: Int? = nil,
    inputGradient: UnsafeMutableBufferPointer<T>, inputGradientRowStride: Int? = nil,
    scale: T = 1, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    let pLayout = try RowLayout.input(output, rows: rows, columns: columns, stride: outputRowStride, "output")
    let gLayout = try RowLayout.input(
      outputGradient, rows: rows, columns: columns, stride: outputGradientRowStride, "outputGradient")
    let dxLayout = try RowLayout.output(
      inputGradient, rows: rows, columns: columns, stride: inputGradientRowStride, "inputGradient",
      reading: (output, pLayout), alsoReading: (outputGradient, gLayout))
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let p = output.baseAddress, let g = outputGradient.baseAddress,
      let dx = inputGradient.baseAddress
    else { return }
    let table = T.kernels(plan.level).sigmoid
    forRows(rows, plan) { r in
      table.gradient(
        .sigmoidFromOutput, p + r * pLayout.stride, g + r * gLayout.stride,
        dx + r * dxLayout.stride, columns, scale, 0)
    }
  }

  /// Sigmoid attention weights of a row-major `rows x columns` array.
  public static func sigmoid<T: KernelScalar>(
    _ scores: [T], columns: Int, scale: T = 1, bias: T? = nil, sequenceLength: Int? = nil,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    let rows = try Softmax.shape(scores.count, columns).0
    return try Sigmoid.map(scores) { (s, y) throws(SoftmaxKernelsError) in
      try sigmoid(
        rows: rows, columns: columns, scores: s, output: y, scale: scale, bias: bias,
        sequenceLength: sequenceLength, options: options)
    }
  }
}
