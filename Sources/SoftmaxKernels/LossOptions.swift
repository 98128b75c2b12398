// Public option types of the loss kernels, re-exported by `SoftmaxKernels`.

/// How per-row losses are combined (PyTorch's `reduction`), the same in every loss and form.
///
/// For `BinaryCrossEntropy` every element is a row: `.none` gives the sum of the per-element
/// losses as `LossResult.loss` (its `rowLosses(...)` gives each), `.mean` the sum over all
/// elements divided by the element count (not by the weights, as PyTorch), `.sum` the sum over
/// all elements.
public enum LossReduction: String, CaseIterable, Sendable {
  /// No reduction: each row's loss is written to `rowLosses` when that buffer is given (buffer
  /// forms; ignored rows give 0), and `LossResult.loss` is their sum (the gradient is that of
  /// the sum, or of each row's loss times its `rowLossGradients` entry where a loss takes
  /// them). Never throws for want of `rowLosses`; `rowLosses(...)` gives the row losses in every
  /// form.
  case none
  /// Sum over rows divided by the total weight of the non-ignored targets (their count when
  /// unweighted); for probability targets, divided by the number of rows.
  case mean
  /// Sum over rows.
  case sum
}

/// Options of `CrossEntropy` (PyTorch `torch.nn.functional.cross_entropy` semantics).
///
/// The Double-valued options are converted to the element type before they are checked: a
/// value that overflows to infinity there, or a positive `softcap` that rounds to 0, throws.
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
  /// a `c` positive and finite in the element type, with a finite reciprocal (a subnormal `c`
  /// below 2.9e-39 in Float throws).
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

/// Options of `SphericalZLoss`: the loss's shape `a`, `b`, its variance epsilon, the reduction
/// and the execution. The values are converted to the element type before they are checked
/// (a value that rounds to `0` or overflows to infinity there throws).
public struct SphericalZLossOptions: Sendable, Equatable {
  /// The sharpness `a` of `softplus(a (b - z)) / a`: positive and finite in the element type.
  /// The paper tunes it as a hyper-parameter (no published default), so the memberwise
  /// initialiser requires it.
  public var a: Double
  /// The standardised score `b` the target is pushed past: finite in the element type. A
  /// hyper-parameter as `a`.
  public var b: Double
  /// The `epsilon` of `sigma^2 = var(o) + epsilon`: finite and `>= 0` in the element type, and
  /// positive when the rows have a single entry (their variance is 0). Default `1e-12`.
  public var varianceEpsilon: Double
  /// How the row losses are combined: `.mean` over rows by default; `.none` and `.sum` give
  /// their sum (with `.none`, the buffer forms also write each row's loss to `rowLosses`).
  public var reduction: LossReduction
  /// The threads (rows are spread over them) and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values: `a` and `b` are required; the defaults are
  /// `varianceEpsilon` 1e-12, `.mean`, all cores and the process's level.
  public init(
    a: Double, b: Double, varianceEpsilon: Double = 1e-12, reduction: LossReduction = .mean,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    (self.a, self.b, self.varianceEpsilon) = (a, b, varianceEpsilon)
    (self.reduction, self.execution) = (reduction, execution)
  }
}

extension SphericalZLossOptions: KernelOptions {
  /// The neutral `a = 1`, `b = 1` (set both for training: they are the loss's
  /// hyper-parameters), `varianceEpsilon` 1e-12, `.mean`, all cores, the process's level.
  public init() { self.init(a: 1, b: 1) }
}

/// Options of `StableMaxCrossEntropy`: the reduction and the execution.
public struct StableMaxCrossEntropyOptions: Sendable, Equatable {
  /// How the row losses are combined: `.mean` over rows by default (as the reference code);
  /// `.none` and `.sum` give their sum (with `.none`, the buffer forms also write each row's
  /// loss to `rowLosses`).
  public var reduction: LossReduction
  /// The threads (rows are spread over them) and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are `.mean`, all cores and the process's level.
  public init(reduction: LossReduction = .mean, execution: ExecutionOptions = ExecutionOptions()) {
    self.reduction = reduction
    self.execution = execution
  }
}

extension StableMaxCrossEntropyOptions: KernelOptions {
  /// `.mean` (the reference code's), all cores, the process's level.
  public init() { self.init(reduction: .mean) }
}
