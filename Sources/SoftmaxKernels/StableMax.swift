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
/// per element (not the fast path). Rows are spread over threads.
public enum StableMax {
  /// StableMax (or log-StableMax with `logarithm`) of each row.
  public static func stableMax<T: KernelScalar>(
    rows: Int, columns: Int, input: UnsafeBufferPointer<T>, inputRowStride: Int? = nil,
    output: UnsafeMutableBufferPointer<T>, outputRowStride: Int? = nil, logarithm: Bool = false,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    let inLayout = try RowLayout.input(input, rows: rows, columns: columns, stride: inputRowStride, "input")
    let outLayout = try RowLayout.output(
      output, rows: rows, columns: columns, stride: outputRowStride, "output", reading: (input, inLayout))
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    guard rows > 0, columns > 0, let x = input.baseAddress, let y = output.baseAddress else { return }
    let batch = StableMaxBatch<T>(
      input: x, inputStride: inLayout.stride, columns: columns, output: y,
      outputStride: outLayout.stride, logarithm: logarithm, targets: nil, gradient: nil,
      gradientStride: 0, gradientScale: 0, rowLoss: nil)
    let table = T.kernels(plan.level).losses
    _ = plan.mapRows(rows, columns: columns) { table.stableMaxRows(batch, $0) }
  }

  /// StableMax of a vector (or of rows of `columns` entries).
  public static func stableMax<T: KernelScalar>(
    _ input: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try Softmax.mapRows(input, columns) { (x, y, r, c) throws(SoftmaxKernelsError) in
      try stableMax(rows: r, columns: c, input: x, output: y, options: options)
    }
  }

  /// log-StableMax of a vector (or of rows of `columns` entries).
  public static func logStableMax<T: KernelScalar>(
    _ input: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try Softmax.mapRows(input, columns) { (x, y, r, c) throws(SoftmaxKernelsError) in
      try stableMax(rows: r, columns: c, input: x, output: y, logarithm: true, options: options)
    }
  }
}
