// The options of `BinaryCrossEntropy`.

/// Options of `BinaryCrossEntropy`.
public struct BinaryCrossEntropyOptions: Sendable, Equatable {
  /// How the per-element losses are combined by `BinaryCrossEntropy.loss` and
  /// `BinaryCrossEntropy.lossAndGradient`; `.mean` by default (PyTorch's default): the sum over
  /// all elements divided by their count. `.sum` and `.none` both give the sum (`.none` as in
  /// every loss of the package). `rowLosses` (each element's loss) and `backward` (one upstream
  /// gradient per element) ignore it.
  public var reduction: LossReduction
  /// Check that every target is in `[0, 1]` (default). `false` skips the extra read of the
  /// targets; out-of-range targets then give PyTorch's formula's value.
  public var checksTargets: Bool
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are PyTorch's (`.mean`) with the targets
  /// checked, all cores and the process's level.
  public init(
    reduction: LossReduction = .mean, checksTargets: Bool = true,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.reduction = reduction
    self.checksTargets = checksTargets
    self.execution = execution
  }
}

extension BinaryCrossEntropyOptions: KernelOptions {
  /// PyTorch's defaults (`.mean`), targets checked, all cores, the process's level.
  public init() { self.init(reduction: .mean) }
}
