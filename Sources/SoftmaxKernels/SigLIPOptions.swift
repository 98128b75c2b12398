// The options of `SigLIP`.

/// Options of `SigLIP`: the layout of the positive pairs in the block, the batch size the
/// loss is divided by, threads and level. The trainable inputs (log-temperature and bias) are
/// arguments of the calls, not options.
public struct SigLIPOptions: Sendable, Equatable {
  /// Row `i`'s positive pair is column `i + positiveOffset`; `nil` makes every pair a negative
  /// (the blocks of other devices' texts in the chunked multi-device loss). Default 0 (the
  /// diagonal).
  ///
  /// Every row of a `rows x columns` block has its positive pair in the block, so a value
  /// must be in `0...(columns - rows)` (only 0 for a square block; none when `rows > columns`:
  /// use `nil`). Other values throw `SoftmaxKernelsError.invalidArgument` naming
  /// `positiveOffset`, before anything is written.
  public var positiveOffset: Int?
  /// The `B` the summed loss is divided by (the global batch size in the chunked loss);
  /// `nil` (default) means the block's `rows`. Positive when given (and the block has rows).
  public var batchSize: Int?
  /// The threads (rows are spread over them) and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are the single-device loss (positives on the
  /// diagonal, `B = rows`) on all cores at the process's level.
  public init(
    positiveOffset: Int? = 0, batchSize: Int? = nil, execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.positiveOffset = positiveOffset
    self.batchSize = batchSize
    self.execution = execution
  }
}

extension SigLIPOptions: KernelOptions {
  /// The single-device loss (positives on the diagonal, `B = rows`), all cores, the process's
  /// level.
  public init() { self.init(positiveOffset: 0) }
}
