// Binary cross-entropy with logits (PyTorch `BCEWithLogitsLoss`): the namespace and its buffer
// forms. Span and Array forms: BinaryCrossEntropy+Span.swift; the checks and the kernel call:
// BinaryCrossEntropyDriver.swift.

/// Binary cross-entropy with logits, with PyTorch's `weight`, `pos_weight` and `reduction`
/// (`torch.nn.BCEWithLogitsLoss`).
///
/// For logits `x`, targets `y` in `[0, 1]` (soft labels allowed), per-element weights `w`
/// (default 1) and per-class positive weights `p` (default 1; `posWeight[c]` applies to every
/// element of column `c` of the row-major `rows x posWeight.count` layout):
///
///     loss_i = -w_i [p y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))]
///            = w_i [(1 - y_i) softplus(x_i) + p y_i softplus(-x_i)]
///     dloss_i/dx_i = w_i [(1 - y_i) sigmoid(x_i) - p y_i sigmoid(-x_i)]
///                  = w_i [sigmoid(x_i) (1 + (p - 1) y_i) - p y_i]
///
/// `softplus(±x) = max(±x, 0) + log1p(e^-|x|)` never overflows; the gradient form has no
/// cancellation for hard labels (PyTorch's `sigmoid(x) - y` rounds to 0 once `sigmoid(x)`
/// rounds to 1). Reductions (`LossReduction`, in `BinaryCrossEntropyOptions.reduction`) of
/// `loss` and `lossAndGradient`: `.mean` (sum over **all** elements divided by their count, not
/// by the weights, as PyTorch), `.sum`, and `.none`, which gives the sum of the per-element
/// losses (as `.sum`, and as every loss of the package) and the gradient of that sum. The
/// per-element losses themselves: `rowLosses`; their gradient for one upstream gradient per
/// element: `backward`.
///
/// Every function has three forms: buffers (`UnsafeBufferPointer`, nothing allocated; the
/// outputs may be the logits' memory), `Span` / `inout MutableSpan`, and `Array` (returning
/// its outputs). The elements are one flat vector: `posWeight` alone gives it rows.
///
/// **16-bit logits** (`Float16`, ``BFloat16``): the buffer and `Array` forms take them with
/// `Float` targets and weights; the loss is bitwise that of the logits widened to `Float`, and
/// the gradient is written in the logits' type, rounded once.
///
/// **Accuracy** (`BCETests`, against the stable form above in Float80, which is checked against
/// PyTorch's own formula in Double): per-element losses within 8 units of 2^-24 relative error
/// (Float), gradients within 8 units of 2^-24 of `|w| ((1 - y) sigmoid(x) + p y sigmoid(-x))`
/// (relative for hard labels; soft labels cancel), the mean over 2^20 elements within 1e-6
/// relative (sums accumulate in Double across 4096-element windows).
///
/// **Edge cases**: `x = +inf` gives loss 0 for `y = 1` and `+inf` for `y = 0`; `x = -inf` the
/// reverse (the vanishing term is 0, not `0 * inf`); gradients are then 0 or `±w`. NaN logits
/// propagate. `.mean` of zero elements is NaN, `.sum` (and `.none`) is 0 (PyTorch).
///
/// **Errors** (thrown before anything is written): count mismatches, `posWeight` empty or not
/// dividing the element count, targets outside `[0, 1]` or NaN (unless
/// `BinaryCrossEntropyOptions.checksTargets` is false: the check reads the targets once more),
/// an output (`gradient`, `rowLosses`) overlapping another output or an input: the only
/// overlaps allowed are exactly the logits' memory (in place) and, for `backward`'s
/// `gradient`, exactly the `rowLossGradients`' memory.
///
/// - Complexity: O(n), one read of each input, one exponential, one logarithm and one division
///   per element; the fused loss-and-gradient call reads everything once.
public enum BinaryCrossEntropy {}

// MARK: - Buffers

extension BinaryCrossEntropy {
  /// The reduced loss of `logits` against `targets`: `.mean`, `.sum`, or for `.none` the sum
  /// of the per-element losses (those are given by `rowLosses`).
  ///
  /// - Parameters:
  ///   - logits: `x`, one per element.
  ///   - targets: `y` in `[0, 1]`, one per element.
  ///   - weight: `w`, one per element; `nil` means every weight is 1.
  ///   - posWeight: `p`, one per class (column); its count divides the element count. `nil`
  ///     means every positive weight is 1.
  ///   - options: reduction, the target check, threads and level.
  /// - Returns: `loss`; the other parts of the result are 0 or `nil`.
  /// - Throws: the errors listed on `BinaryCrossEntropy`.
  public static func loss<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try reduced(
      Inputs(logits, targets, weight, posWeight), lossGradient: 1, gradient: nil, options: options)
  }

  /// The reduced loss (`.mean`, `.sum`, or for `.none` the sum of the per-element losses)
  /// and, in the same pass, its gradient with respect to the logits,
  /// `d(lossGradient * loss)/dx`, written to `gradient` (one per element; it may be `logits`
  /// itself). `lossGradient` is the upstream gradient of the reduced loss (default 1); the
  /// other arguments are those of `loss(logits:targets:weight:posWeight:options:)`. For one
  /// upstream gradient per element use `backward`.
  ///
  /// - Returns: `loss`, the loss itself (not multiplied by `lossGradient`).
  /// - Throws: the errors listed on `BinaryCrossEntropy`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    lossGradient: T = 1, gradient: UnsafeMutableBufferPointer<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try reduced(
      Inputs(logits, targets, weight, posWeight), lossGradient: lossGradient, gradient: gradient,
      options: options)
  }

  /// The loss of each element (reduction `.none`; `options.reduction` is ignored), written to
  /// `rowLosses` (one per element; it may be `logits` itself). The arguments are those of
  /// `loss(logits:targets:weight:posWeight:options:)`.
  public static func rowLosses<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try run(
      Inputs(logits, targets, weight, posWeight), rowLosses: rowLosses, sum: false, gradient: nil,
      rowLossGradients: nil, gradientScale: 1, options)
  }

  /// The gradient with respect to the logits of the per-element losses (reduction `.none`;
  /// `options.reduction` is ignored) for one upstream gradient per element,
  /// `gradient_i = rowLossGradients_i * dloss_i/dx_i`, written to `gradient` (it may be
  /// `logits` or `rowLossGradients` itself). The other arguments are those of
  /// `loss(logits:targets:weight:posWeight:options:)`.
  public static func backward<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    rowLossGradients: UnsafeBufferPointer<T>, gradient: UnsafeMutableBufferPointer<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    try checkCount(rowLossGradients.count, equals: logits.count, "rowLossGradients")
    try Sigmoid.checkElementwiseAliasing(rowLossGradients, gradient, "gradient")
    _ = try run(
      Inputs(logits, targets, weight, posWeight), rowLosses: nil, sum: false, gradient: gradient,
      rowLossGradients: rowLossGradients, gradientScale: 1, options)
  }
}
