// The StableMax cross-entropy (Prieto et al. 2025) and its gradient.

import SoftmaxKernelsCore

/// The StableMax cross-entropy of Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of
/// Numerical Stability" (ICLR 2025; code LucasPrietoAl/grokking-at-the-edge-of-numerical-stability):
/// `-logStableMax(x)_y` (see `StableMax`), with `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for
/// `x < 0`, and the gradient `s'(x_i) / sum_j s(x_j) - [i = y] s'(x_y) / s(x_y)`.
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
/// Edge cases: `-inf` gives `s = 0`; a `+inf` logit makes the loss `+inf` when it is not the
/// target's and NaN when it is (inf/inf), and the gradient NaN at the target's entry and 0 at
/// every other (the `+inf` entry's included); NaN makes the row NaN; an all `-inf` row is
/// 0/0 = NaN. (Observed at every level; the forward ``StableMax`` of a `+inf` entry is NaN there
/// and 0 elsewhere.) Complexity: two passes (sum, gradient); rows are spread over
/// threads.
///
/// Forms, reduction, layout and errors: those of ``ClassIndexLoss``; the reduction is `.mean`
/// over rows by default, as the reference code. Rows without columns throw. Float16 and
/// BFloat16 logits: see ``HalfPrecisionClassIndexLoss`` (loss in `Float`, gradient in the
/// logits' type).
public enum StableMaxCrossEntropy: ClassIndexLoss {
  /// The StableMax cross-entropy of the rows of `logits` against `targets` (one index in
  /// `[0, logits.columns)` per row); `rowLosses` receives each row's loss (any reduction).
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, rowLosses: rowLosses, options: options))
  }

  /// The StableMax cross-entropy and its gradient with respect to the logits, times
  /// `lossGradient`; `gradient` (the shape of `logits`) may be the logits' own memory (same
  /// start and stride).
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, lossGradient: T = 1, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    options: StableMaxCrossEntropyOptions = StableMaxCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(TargetLossCall(
      logits: logits, targets: targets, lossGradient: lossGradient, gradient: gradient,
      rowLosses: rowLosses, options: options))
  }

  /// Runs a call on `T` logits by the `T` kernels.
  static func run<T: KernelScalar>(_ call: TargetLossCall<T, T>) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(call) { T.kernels($0).losses.stableMaxRows }
  }

  /// Runs the rows of a checked call by the kernel `kernels(level)` (logits and gradient stored
  /// as `X`: `T`, or a 16-bit type with `T` = `Float`; the forward output type `Y` unused).
  static func run<X, Y, T: KernelScalar>(
    _ call: TargetLossCall<X, T>, kernels: (ISALevel) -> (StableMaxBatch<X, Y, T>, Range<Int>) -> LossPartial
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try call.run(checkParameters: {}) { c, level in
      var batch = StableMaxBatch<X, Y, T>(input: c.logits, inputStride: c.logitsStride, columns: call.logits.columns)
      batch.targets = call.targets.baseAddress
      batch.gradient = call.gradient?.buffer.baseAddress
      batch.gradientStride = c.gradientStride
      batch.gradientScale = c.gradientScale
      batch.rowLoss = call.rowLosses?.baseAddress
      let rows = kernels(level)
      return { rows(batch, $0) }
    }
  }
}
