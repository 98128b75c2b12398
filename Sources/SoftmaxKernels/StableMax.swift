// StableMax, log-StableMax and the StableMax cross-entropy (Prieto et al. 2025).

import SoftmaxKernelsCore

/// StableMax of Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of Numerical
/// Stability" (ICLR 2025; code LucasPrietoAl/grokking-at-the-edge-of-numerical-stability):
/// `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for `x < 0`; `StableMax(x)_i = s(x_i) / sum_j s(x_j)`;
/// `logStableMax(x)_i = log s(x_i) - log sum_j s(x_j)`; the cross-entropy
/// `-logStableMax(x)_y` with gradient `s'(x_i) / sum_j s(x_j) - [i = y] s'(x_y) / s(x_y)`.
/// Because `s` grows linearly, probabilities saturate only polynomially and the loss of a
/// confidently classified row stays non-zero where float32 softmax cross-entropy gives exactly 0
/// ("Softmax Collapse"). The reference code computes in float64 and adds 1e-30 to `1 - x`; we
/// compute the sums in Double from Float rows and omit the 1e-30. The loss is
/// `log1p(rest / s(x_y))` with `rest = sum_j s(x_j) - s(x_y)` and `s(x_y)` evaluated exactly as
/// the sum's own term, so `p_y = 1` (one class, or `-inf` elsewhere) gives exactly 0 loss and 0
/// gradient. Accuracy (tests against Float80, measured maxima in parentheses): loss within
/// `2e-6 max(1, |loss|)` (Float; 1.6e-7) / `1e-14 max(1, |loss|)` (Double; 6e-16), gradients
/// within `1e-7 + 1e-5 |ref|` / `1e-16 + 1e-13 |ref|`, also for rows at `1e4`, `1e6` (Float) and
/// `1e12` (Double); StableMax is not shift-invariant (`s` is piecewise), so those rows are judged
/// against their own exact values.
///
/// Edge cases (those of the reference code's `s(x) / sum`): `-inf` gives `s = 0`; a `+inf`
/// entry gives inf/inf = NaN there and 0 elsewhere, and a NaN loss; NaN makes the row NaN; an
/// all `-inf` row is 0/0 = NaN. Complexity: two passes (sum, write); `logStableMax` evaluates a scalar Double log
/// per element (not the fast path). Rows are spread over threads. Float16 and BFloat16 rows:
/// see ``HalfPrecisionRowwiseFunction`` (outputs in the same 16-bit type or in `Float`).
public enum StableMax: RowwiseFunction {
  /// StableMax has nothing to choose but where it runs (no special-value policies: see the
  /// edge cases above).
  public typealias Options = ExecutionOptions

  /// StableMax `s(x_i) / sum_j s(x_j)` of each row of `input` into `output` (same shape; may be
  /// the input's memory: in place).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: false, options: options)
  }
}

/// log-StableMax `log s(x_i) - log sum_j s(x_j)` of the rows of a matrix (see ``StableMax``
/// for `s`, the accuracy and the edge cases).
public enum LogStableMax: RowwiseFunction {
  /// log-StableMax has nothing to choose but where it runs.
  public typealias Options = ExecutionOptions

  /// log-StableMax of each row of `input` into `output` (same shape; may be the input's
  /// memory: in place).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: true, options: options)
  }
}

/// Checks the arguments of a StableMax forward call, then runs it.
private func stableMaxForward<T: KernelScalar>(
  _ input: Rows<T>, into output: MutableRows<T>, logarithm: Bool, options: ExecutionOptions
) throws(SoftmaxKernelsError) {
  try stableMaxForward(input, into: output, logarithm: logarithm, options: options) {
    T.kernels($0).losses.stableMaxRows
  }
}

/// `stableMaxForward` of rows stored as `X` into outputs stored as `Y` (a 16-bit type and
/// itself or `Float`), by the kernel `kernels(level)`: checks `input` and `output` (same shape;
/// disjoint, or exactly the input's rows when `Y` is `X`), then runs the rows.
func stableMaxForward<X, Y, T>(
  _ input: Rows<X>, into output: MutableRows<Y>, logarithm: Bool, options: ExecutionOptions,
  kernels: (ISALevel) -> (StableMaxBatch<X, Y, T>, Range<Int>) -> LossPartial
) throws(SoftmaxKernelsError) {
  let (rows, columns) = (input.rows, input.columns)
  let inLayout = try RowLayout.input(input, "input")
  let outLayout = try RowLayout.output(output, "output", rows: rows, columns: columns, reading: (input.buffer, inLayout))
  let plan = try ExecutionPlan(options, elements: rows * columns)
  guard rows > 0, columns > 0, let x = input.buffer.baseAddress, let y = output.buffer.baseAddress else { return }
  var batch = StableMaxBatch<X, Y, T>(input: x, inputStride: inLayout.stride, columns: columns)
  batch.output = y
  batch.outputStride = outLayout.stride
  batch.logarithm = logarithm
  let kernel = kernels(plan.level)
  _ = plan.mapRows(rows, columns: columns) { kernel(batch, $0) }
}
