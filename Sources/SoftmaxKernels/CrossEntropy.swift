// Cross-entropy from logits with PyTorch's options, fused with its gradient: the buffer forms.

import SoftmaxKernelsCore

/// Cross-entropy between the softmax of logits and integer or probability targets, with the
/// semantics of PyTorch's `torch.nn.functional.cross_entropy`, plus
/// PaLM's auxiliary z-loss, and the fused gradient with respect to the logits.
///
/// For row `n` with logits `x`, `lse = log sum_c exp(x_c)`, `p = softmax(x)`, target `y`, class
/// weights `w` (1 without), label smoothing `eps`, `C` classes and `W = sum_c w_c`:
/// - loss: `l_n = (1 - eps) w_y (lse - x_y) + (eps / C)(W lse - sum_c w_c x_c)`, and
///   `zLossScale * lse^2` on top; ignored rows (target == `ignoreIndex`) contribute 0.
/// - `.mean` divides by `sum` of `w_y` over non-ignored rows (their count when unweighted); the
///   z-loss by their count. Probability targets `t`: `l_n = sum_c w_c t'_c (lse - x_c)` with
///   `t' = (1 - eps) t + eps / C`, and `.mean` divides by the number of rows.
/// - gradient: `dx_i = s [(1 - eps) w_y (p_i - [i = y]) + (eps / C)(W p_i - w_i)]
///   + 2 zLossScale lse p_i s_z` (probability targets: `s (p_i sum_c w_c t'_c - w_i t'_i)`),
///   where `s` is the upstream gradient over the mean's denominator. The target entry is
///   computed as `expm1(x_y - lse)` (or `-rest / (1 + rest)` when the target is the dominant
///   maximum), so it does not cancel as `p_y -> 1`; the loss `lse - x_y` is then
///   `log1p(rest)`, with `rest` the sum of the other classes' `exp(x_c - x_y)`, so it stays
///   non-zero where a float32 `log_softmax` rounds it to 0 ("Softmax Collapse").
///
/// **16-bit logits** (`Float16`, ``BFloat16``): the strided forms (`Rows<H>` logits, class or
/// probability targets) and the Array forms `loss` / `lossAndGradient` with class targets take
/// 16-bit logits, with `Float` weights, probabilities and outputs and a gradient in the logits'
/// type; the result is bitwise that of the logits widened to `Float` (see
/// <doc:SixteenBitStorage>).
///
/// **Edge cases** (PyTorch's): a target outside `[0, C)` that is not
/// `ignoreIndex` throws (naming the row); `.mean` with every target ignored, or whose targets'
/// class weights sum to 0, gives NaN (and a NaN gradient for the rows with a target, PyTorch's
/// 0 / 0; PyTorch gives +-inf where nonzero weights cancel to 0), or 0 and a zero gradient
/// (z-loss included) with `zeroWhenNoValidTargets`; a negative total (negative class weights)
/// divides as PyTorch does; no rows: `.mean` NaN, `.sum`
/// 0; `-inf` at the target gives `+inf` with a finite gradient; a `-inf` logit with `eps > 0`
/// gives `+inf` (with probability targets too: every term `w_c t'_c (lse - x_c)` has
/// `t'_c >= eps / C`), except where its class weight is 0 (`0 x inf`: NaN); with probability
/// targets and `eps = 0` a `-inf` logit whose `t_c` is 0 gives NaN (`0 x inf`, as PyTorch); a
/// NaN or `+inf` logit, or an all `-inf` row, gives NaN loss and gradient for that row.
/// `ignoreIndex` is a sample mask: an ignored class stays in the softmax denominator
/// (pytorch/pytorch#63004). Probabilities are not checked (negative or NaN values are used as
/// given, as PyTorch does).
///
/// **Accuracy** (enforced by the tests against a Float80 reference that does not cancel; measured
/// maxima over every option combination, ISA level and thread count in parentheses): loss (reduced
/// and per row) within `2e-6 max(1, |loss|)` for Float (1.8e-7), `1e-14 max(1, |loss|)` for Double
/// (2.7e-15). Gradients within `4e-7 G + 1e-5 |ref|` for Float (0.052 of it on the tests' rows,
/// 0.386 on an outside review's cancelling rows) and
/// `4e-16 G + 1e-13 |ref|` for Double (0.026; 0.555), where `G = |s| max(1, A, max_c w_c) +
/// |2 lambda lse zs|` is the row's gradient scale (`s` the upstream gradient over the mean's
/// normaliser, `A = sum_c w_c t'_c`, `zs` the z-loss's scale): every term of the gradient is at
/// most `G`, so where the exact gradient cancels (soft targets equal to the softmax) the error is
/// a few ulps of `G`, not of the result (an outside review broke the former absolute
/// `1e-7` / `1e-16`: 2.4x at unit weights, 121x with class weights 100). With soft-capping at
/// `c`, add `2 c u G` (`u` = 2^-24 / 2^-53): the capped logits are rounded to the row's type,
/// which moves each `p_i` by up to `2 c u p_i` (a second review: 4.1x of the bound without
/// it in Double at `c = 30`). The bounds assume `s`, `G` and `C G` are normal numbers of the
/// type (an upstream gradient of 1e-44 in Float, or of 3e38 with class weights 4, leaves
/// that: 11% relative and `inf` there). The gradient is
/// `A e_i / S - u_i` from the exponentials `e_i = exp(x_i - m)` the sum pass kept (`m` the row's
/// maximum, `x_i - m` exact near it); where the row's maximum `x_k` dominates (`S < 2`) and the
/// targets are probabilities, entry `k` is `-A rest / (1 + rest) + (A - u_k)` with `A - u_k`
/// summed without entry `k`, so a one-hot soft label at the argmax keeps its relative accuracy
/// (3e-16 relative in Double; before 2026-12-01 it cancelled to about 1 ulp of `w_k`, 2e-12
/// relative). A row's log-sum-exp is carried as its maximum `m` and `log sum exp(x - m)`, and
/// every term as `(m - x_c) + log sum`, so these bounds hold for rows far from 0 too (shift
/// invariance: `1e4 + U[-8, 8)`, `1e6 + ...` in Float, `1e12 + ...` in Double give the same
/// losses and gradients); the z-loss `lse^2` and soft-capping are not shift-invariant and keep
/// the bounds against the exact value. Soft-capping's chain factor `1 - tanh(x / c)^2` is
/// computed as `4 q / (1 + q)^2`, `q = e^(-2|x / c|)`, so it keeps its digits far beyond `c`
/// (it was `1 - (capped / c)^2`: 2.3% off at `x = 187`, `c = 30`). The loss of a row whose target
/// dominates (`log1p(rest)`, tiny) has relative error below `1e-5` (Float; 1.6e-7 measured) /
/// `1e-13` (Double; 1.9e-16) while every term of `rest` is a normal number; the exponentials are
/// flushed to 0 below `2^-126` (Float) / `2^-1022` (Double), so a row with terms below that
/// (`[0, -80, -88 x 100]` in Float) loses them: an absolute error of at most `(C - 1) 2^-126` /
/// `(C - 1) 2^-1022` (3% relative on that row; an outside review). Reductions
/// accumulate in Double over fixed groups of rows (at least 2^18 elements each) merged in group
/// order, so every output, the reduced loss included, is bitwise the same for every thread
/// count (`ReproducibilityTests`: threads 1, 2, 3, 7).
///
/// **Memory and complexity**: forward reads each logit row from memory once (a max pass, then
/// passes over the cached row); with the gradient, one more write pass, and one exponential per
/// entry: the sum pass keeps `exp(x_i - m)` in a scratch row of `C` Float (or Double) values
/// per thread, which the gradient pass scales (with soft-capping, two more: the capped row and
/// its chain factors); no intermediate log-softmax. The gradient may overwrite the logits (same
/// start and stride) so a training step
/// needs no second logits-sized buffer (as Liger-Kernel). Rows are spread over threads.
///
/// **Forms**: each function takes strided buffers (`Rows`, with the optional per-row outputs
/// `rowLosses`, `rowLogSumExp`, `rowArgmax`), `Span`s of contiguous rows of `columns` classes,
/// or arrays (results returned). Arguments come in one order: inputs, `columns`, upstream
/// gradients, outputs, `options` last. `.none` (as in every loss of the package): `loss` is
/// the sum of the row losses, which the buffer forms also write to `rowLosses` when it is
/// given; `rowLosses(...)` gives each row's loss. Outputs must not overlap an input (but for
/// the gradient in place over the logits) or each other. A call that throws has written
/// nothing.
public enum CrossEntropy {}

extension CrossEntropy {
  /// Cross-entropy of the rows of `logits` against integer targets.
  ///
  /// - Parameters:
  ///   - logits: `rows x C` logits, `C = logits.columns` classes.
  ///   - targets: one class index per row, in `[0, C)` or equal to
  ///     `CrossEntropyOptions.ignoreIndex`.
  ///   - classWeights: `C` weights `w_c`; `nil` means every weight is 1.
  ///   - rowLosses: receives each row's loss (z-loss included), whatever the reduction.
  ///   - rowLogSumExp: receives each row's log-sum-exp (to compose other losses).
  ///   - rowArgmax: receives each row's first argmax; enables `accuracy`.
  ///   - options: reduction, ignore index, label smoothing, z-loss, soft-capping, threads, level.
  ///
  /// The per-row outputs must not overlap an input or each other.
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<T>? = nil,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let outputs = CrossEntropyOutputs<T, T>(rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, rowArgmax: rowArgmax)
    return try run(logits, .classes(targets), classWeights, options, outputs)
  }

  /// Cross-entropy against integer targets and its gradient with respect to the logits, in
  /// one fused call.
  ///
  /// - Parameters:
  ///   - logits: `rows x C` logits, `C = logits.columns` classes.
  ///   - targets: one class index per row, in `[0, C)` or equal to
  ///     `CrossEntropyOptions.ignoreIndex`.
  ///   - classWeights: `C` weights `w_c`; `nil` means every weight is 1.
  ///   - lossGradient: the upstream gradient of the reduced loss (with `.none`, of the sum).
  ///   - rowLossGradients: with `.none` only, the upstream gradient of each row's loss, in
  ///     place of `lossGradient`.
  ///   - gradient: receives `d(lossGradient * loss)/d logits` (the shape of `logits`); may be
  ///     the logits' own memory (same start and stride).
  ///   - rowLosses: receives each row's loss (z-loss included), whatever the reduction.
  ///   - rowLogSumExp: receives each row's log-sum-exp (to compose other losses).
  ///   - rowArgmax: receives each row's first argmax; enables `accuracy`.
  ///   - options: reduction, ignore index, label smoothing, z-loss, soft-capping, threads, level.
  ///
  /// The outputs must not overlap an input (but for the gradient in place) or each other.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<T>? = nil,
    lossGradient: T = 1, rowLossGradients: UnsafeBufferPointer<T>? = nil, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let outputs = CrossEntropyOutputs<T, T>(
      gradient: gradient, lossGradient: lossGradient, rowLossGradients: rowLossGradients,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, rowArgmax: rowArgmax)
    return try run(logits, .classes(targets), classWeights, options, outputs)
  }

  /// Each row's cross-entropy against integer targets (z-loss included; `options.reduction` is
  /// taken as `.none`), written to `rowLosses` (one entry per row, not overlapping an input).
  public static func rowLosses<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<T>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try run(logits, .classes(targets), classWeights, options.unreduced, CrossEntropyOutputs<T, T>(rowLosses: rowLosses))
  }

  /// Cross-entropy against probability (soft) targets: `probabilities` has the shape of
  /// `logits` (its own row stride). The other arguments are those of the integer-target form.
  public static func loss<T: KernelScalar>(
    logits: Rows<T>, probabilities: Rows<T>, classWeights: UnsafeBufferPointer<T>? = nil,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let outputs = CrossEntropyOutputs<T, T>(rowLosses: rowLosses, rowLogSumExp: rowLogSumExp)
    return try run(logits, .probabilities(probabilities), classWeights, options, outputs)
  }

  /// Cross-entropy against probability targets and its gradient with respect to the logits.
  /// `gradient` may overwrite the logits but not the probabilities. The other arguments are
  /// those of the integer-target form.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, probabilities: Rows<T>, classWeights: UnsafeBufferPointer<T>? = nil,
    lossGradient: T = 1, rowLossGradients: UnsafeBufferPointer<T>? = nil, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let outputs = CrossEntropyOutputs<T, T>(
      gradient: gradient, lossGradient: lossGradient, rowLossGradients: rowLossGradients,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp)
    return try run(logits, .probabilities(probabilities), classWeights, options, outputs)
  }

  /// Each row's cross-entropy against probability targets (`options.reduction` is taken as
  /// `.none`), written to `rowLosses`.
  public static func rowLosses<T: KernelScalar>(
    logits: Rows<T>, probabilities: Rows<T>, classWeights: UnsafeBufferPointer<T>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    let outputs = CrossEntropyOutputs<T, T>(rowLosses: rowLosses)
    _ = try run(logits, .probabilities(probabilities), classWeights, options.unreduced, outputs)
  }
}
