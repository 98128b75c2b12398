// Public option types of the loss kernels, re-exported by `SoftmaxKernels`.

/// How per-row losses are combined (PyTorch's `reduction`).
///
/// For `BinaryCrossEntropy` every element is a row: `.none` gives one loss per element,
/// `.mean` the sum over all elements divided by the element count (not by the weights, as
/// PyTorch), `.sum` the sum over all elements.
public enum LossReduction: String, CaseIterable, Sendable {
  /// One loss per row; ignored rows give 0.
  case none
  /// Sum over rows divided by the total weight of the non-ignored targets (their count when
  /// unweighted); for probability targets, divided by the number of rows.
  case mean
  /// Sum over rows.
  case sum
}

/// Options of `CrossEntropy` (PyTorch `torch.nn.functional.cross_entropy` semantics).
public struct CrossEntropyOptions: Sendable, Equatable {
  /// How the per-row losses are combined; `.mean` by default (PyTorch's default).
  public var reduction: LossReduction
  /// Rows whose target is this value contribute nothing (loss 0, gradient 0) and are left out of
  /// the mean's denominator. PyTorch's default, -100. A value inside `[0, columns)` ignores the
  /// rows with that target; the class stays in every row's softmax (pytorch/pytorch#63004).
  public var ignoreIndex: Int
  /// Label smoothing `eps` in [0, 1]: the target becomes `(1 - eps) onehot + eps / columns`
  /// (Szegedy et al. 2016); ignored rows are excluded from both parts (pytorch/pytorch#73205).
  public var labelSmoothing: Double
  /// PaLM's auxiliary z-loss `zLossScale * lse^2` per non-ignored row (Chowdhery et al. 2023
  /// used 1e-4); with `.mean` divided by the number of non-ignored rows (as Liger-Kernel).
  /// Reported separately in `LossResult.zLoss` and included in `loss`.
  public var zLossScale: Double
  /// Logit soft-capping `c tanh(x / c)` applied before the softmax (Gemma 2, Grok; Liger-Kernel
  /// `softcap`), with the gradient's chain factor `1 - tanh^2(x / c)`. `nil`: no capping; else
  /// a positive finite `c`.
  public var softcap: Double?
  /// With `.mean` and every target ignored (or a zero total weight): `false` gives NaN (0/0,
  /// PyTorch), `true` gives 0.
  public var zeroWhenNoValidTargets: Bool
  /// The threads (rows are spread over them) and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are PyTorch's `cross_entropy` defaults
  /// (`.mean`, ignore index -100, no label smoothing) with no z-loss and no soft-capping.
  public init(
    reduction: LossReduction = .mean, ignoreIndex: Int = -100, labelSmoothing: Double = 0,
    zLossScale: Double = 0, softcap: Double? = nil, zeroWhenNoValidTargets: Bool = false,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.reduction = reduction
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.softcap = softcap
    self.zeroWhenNoValidTargets = zeroWhenNoValidTargets
    self.execution = execution
  }

  /// The softmax-family options for the same threads and level.
  var softmaxOptions: SoftmaxOptions { SoftmaxOptions(execution: execution) }
}

extension CrossEntropyOptions: KernelOptions {
  /// PyTorch's `cross_entropy` defaults, all cores, the process's level.
  public init() { self.init(reduction: .mean) }
}
