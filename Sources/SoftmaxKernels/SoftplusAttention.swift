// Softplus attention weights (LSSA / LSSAR) and their gradient.

import Foundation
import SoftmaxKernelsCore

/// The options of ``SoftplusAttention``.
public struct SoftplusAttentionOptions: KernelOptions {
  /// The softplus scale `c_i`: LSSA's length-dependent one or a constant; `.constant(1)` by
  /// default (plain softplus normalisation).
  public var scale: SoftplusAttention.Scale
  /// Query `i` sees keys `0...i + queryOffset` (default true); masked entries are 0.
  public var causal: Bool
  /// The position of row 0 among the queries (decoding with a cache); `>= 0`, default 0.
  public var queryOffset: Int
  /// LSSAR's re-weighting; `nil` (default) gives the LSSA weights.
  public var reweighting: SoftplusAttention.Reweighting?
  /// Added to the L1 norm of LSSA (1e-8 by default, as the reference implementations).
  public var epsilon: Double
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// `.constant(1)`, causal, no offset, LSSA, `epsilon` 1e-8, all cores, the process's level.
  public init() { self.init(scale: .constant(1)) }

  /// Options with the given values.
  public init(
    scale: SoftplusAttention.Scale, causal: Bool = true, queryOffset: Int = 0,
    reweighting: SoftplusAttention.Reweighting? = nil, epsilon: Double = 1e-8,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.scale = scale
    self.causal = causal
    self.queryOffset = queryOffset
    self.reweighting = reweighting
    self.epsilon = epsilon
    self.execution = execution
  }
}

/// Softplus attention weights, row by row from a matrix of scores (queries x keys).
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
/// 16-bit scores (`Float16`, ``BFloat16``) are computed in `Float` (intermediates in a `Float`
/// row) and each weight and gradient entry is rounded once, to the scores' type or to `Float`.
///
/// **Layout**: `output` may be the scores buffer with the same stride (in place) for the
/// forward calls; the softplus backward needs an `inputGradient` that overlaps nothing else (it
/// holds intermediates). Masked entries (`causal`) are written as 0 (gradient 0).
///
/// - Complexity: O(rows x columns). LSSA: two passes over each row (one exponential and one
///   logarithm per entry); LSSAR: four (plus one logarithm and one exponential per entry);
///   backward: three or four. Rows are spread over threads.
public enum SoftplusAttention: RowwiseFunction {
  /// Softplus attention takes ``SoftplusAttentionOptions``.
  public typealias Options = SoftplusAttentionOptions

  /// The softplus scale `c_i` of query `i`.
  public enum Scale: Sendable, Equatable {
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

  /// LSSA weights (L1-normalised softplus) of each row of `input`, or LSSAR weights when
  /// `options.reweighting` is given. `output` may be the input's memory with the same stride.
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>,
    options: SoftplusAttentionOptions = SoftplusAttentionOptions()
  ) throws(SoftmaxKernelsError) {
    try forward(input, into: output, T.self, options) { T.kernels($0).sigmoid.softplusAttentionRows }
  }

  /// The forward pass for scores stored as `X` and weights as `Y`, computed in `A` by the
  /// kernel `kernel(level)`.
  static func forward<X, Y, A: KernelScalar>(
    _ input: Rows<X>, into output: MutableRows<Y>, _: A.Type, _ options: SoftplusAttentionOptions,
    kernel: (ISALevel) -> (SoftplusAttentionBatch<X, Y, Y, A>, Range<Int>) -> Void
  ) throws(SoftmaxKernelsError) {
    let m = try CheckedRows(input, into: output)
    let parameters = try SoftplusParameters<A>(options)
    let plan = try ExecutionPlan(options.execution, elements: m.rows * m.columns)
    guard let s = m.input, let y = m.output else { return }
    let batch: SoftplusAttentionBatch<X, Y, Y, A> = parameters.batch(
      options.causal, options.queryOffset, s, m.inputStride, y, m.outputStride, m.columns)
    let rowsKernel = kernel(plan.level)
    AttentionWeights.forRowRanges(m.rows, plan) { rowsKernel(batch, $0) }
  }
}
