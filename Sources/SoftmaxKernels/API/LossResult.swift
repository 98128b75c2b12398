// The one result type of every loss.

/// The result of a loss call: the reduced loss and its parts.
///
/// Per-row (per-element) losses are not part of the result: the buffer and `Span` forms write
/// them to the caller's `rowLosses`, the Array forms return them from `rowLosses(...)`.
public struct LossResult<T: KernelScalar>: Equatable, Sendable {
  /// The reduced loss (every auxiliary term included): `.mean` and `.sum` as PyTorch; with
  /// `.none` the sum of the per-row losses written to `rowLosses`.
  public var loss: T
  /// The z-loss part of `loss` (PaLM's `zLossScale * lse^2`); 0 for losses without one.
  public var zLoss: T
  /// Fraction of non-ignored rows whose argmax is the target, when the argmax was requested
  /// (cross-entropy with integer targets); otherwise `nil`.
  public var accuracy: Double?
  /// `dL/dt'`, the gradient with respect to the log-temperature, times the loss gradient
  /// (SigLIP's gradient call); otherwise `nil`.
  public var logTemperatureGradient: T?
  /// `dL/db`, the gradient with respect to the logit bias, times the loss gradient (SigLIP's
  /// gradient call); otherwise `nil`.
  public var biasGradient: T?

  /// A result with the given parts (for code that wraps or fakes a loss; the losses build
  /// their own).
  public init(
    loss: T, zLoss: T = 0, accuracy: Double? = nil, logTemperatureGradient: T? = nil,
    biasGradient: T? = nil
  ) {
    self.loss = loss
    self.zLoss = zLoss
    self.accuracy = accuracy
    self.logTemperatureGradient = logTemperatureGradient
    self.biasGradient = biasGradient
  }
}
