// Public options of `LinearCrossEntropy`.

/// Options of `LinearCrossEntropy`: PyTorch's `cross_entropy` options that apply to a linear
/// layer's logits, gradient filtering, and the execution.
///
/// The Double-valued options are converted to `Float` before they are checked: a value that
/// overflows to infinity there, or a positive `softcap` that rounds to 0, throws.
public struct LinearCrossEntropyOptions: Sendable, Equatable {
  /// How the per-token losses are combined; `.mean` (over the non-ignored tokens) by default.
  public var reduction: LossReduction
  /// Tokens whose target is this value contribute nothing (loss 0, gradient 0) and are left
  /// out of the mean's denominator. PyTorch's default, -100. A value inside `[0, classes)`
  /// ignores the tokens with that target; the class stays in every token's softmax.
  public var ignoreIndex: Int
  /// Label smoothing `eps` in [0, 1]: the target becomes `(1 - eps) onehot + eps / V`.
  public var labelSmoothing: Double
  /// PaLM's auxiliary z-loss `zLossScale * lse^2` per non-ignored token (1e-4 in Chowdhery et
  /// al. 2023); with `.mean` divided by the number of non-ignored tokens. Reported in
  /// `LossResult.zLoss` and included in `loss`.
  public var zLossScale: Double
  /// Logit soft-capping `c tanh(z / c)` before the softmax (Gemma 2); `nil`: none, else a `c`
  /// positive and finite in `Float` whose reciprocal is finite (not below 2.9e-39).
  public var softcap: Double?
  /// With `.mean` and every target ignored: `false` gives NaN (0/0, PyTorch), `true` gives 0.
  public var zeroWhenNoValidTargets: Bool
  /// Gradient filtering (Wijmans et al. 2024, "Cut Your Losses"): `nil` (the default) computes
  /// every term. With a value `f` (finite, `>= 0`), a tile of 128 tokens x 256 classes whose
  /// gradient entries `dL/dz` are all below `f a` in magnitude adds nothing to the gradients,
  /// where `a` is the tile's largest per-token scale of `p`: `|s| (1 + 2 zLossScale |lse|)`, `s`
  /// the token's upstream scale (`lossGradient / validTokens` with `.mean`). So each dropped
  /// entry is below `f a`, and each gradient changes by at most `f a` times the sum of the
  /// magnitudes of the skipped rows of the other operand. The loss and the per-token outputs
  /// are never filtered; a tile with a NaN token is never skipped. `2^-12` (CCE's choice for
  /// bfloat16) skips tiles whose probabilities are all below bfloat16's resolution near 1.
  /// With label smoothing every entry holds the constant `-s eps / V`: tiles are skipped only
  /// where `eps / V` is below about `f (1 + 2 zLossScale |lse|)`, and then that term is dropped
  /// with the rest.
  public var gradientFilter: Double?
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are PyTorch's `cross_entropy` defaults
  /// (`.mean`, ignore index -100, no label smoothing), no z-loss, no soft-capping, no
  /// gradient filtering.
  public init(
    reduction: LossReduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, softcap: Double? = nil, zeroWhenNoValidTargets: Bool = false,
    gradientFilter: Double? = nil, execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.reduction = reduction
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.softcap = softcap
    self.zeroWhenNoValidTargets = zeroWhenNoValidTargets
    self.gradientFilter = gradientFilter
    self.execution = execution
  }
}

extension LinearCrossEntropyOptions: KernelOptions {
  /// PyTorch's `cross_entropy` defaults, all cores, the process's level.
  public init() { self.init(reduction: .mean) }
}
