// The interface between the public loss API and the per-ISA loss kernels. Not API.

/// A batch of cross-entropy rows. Targets are already validated.
public struct _CrossEntropyBatch<T>: @unchecked Sendable {
  public var logits: UnsafePointer<T>
  public var logitsStride: Int
  public var rows: Int
  public var columns: Int
  /// Integer targets (`nil` for probability targets).
  public var targets: UnsafePointer<Int>?
  /// Probability targets, row-major with `probabilitiesStride` (`nil` for integer targets).
  public var probabilities: UnsafePointer<T>?
  public var probabilitiesStride: Int
  /// Class weights (`columns` entries) or `nil`.
  public var classWeights: UnsafePointer<T>?
  public var ignoreIndex: Int
  public var labelSmoothing: T
  public var zLossScale: T
  /// Soft-capping constant `c` (0: none).
  public var softcap: T
  /// Gradient rows (may equal `logits`), `nil` for forward only.
  public var gradient: UnsafeMutablePointer<T>?
  public var gradientStride: Int
  /// Per-row scale of the gradient: the upstream gradient over the reduction's denominator.
  /// `gradientScale[r]` when `perRowGradientScale` is not `nil`, else `gradientScale` for all.
  public var gradientScale: T
  public var perRowGradientScale: UnsafePointer<T>?
  /// Scale of the z-loss gradient (upstream over the z-loss denominator).
  public var zLossGradientScale: T
  /// Optional outputs, `rows` entries each.
  public var rowLoss: UnsafeMutablePointer<T>?
  public var rowLogSumExp: UnsafeMutablePointer<T>?
  public var rowArgmax: UnsafeMutablePointer<Int>?

  public init(
    logits: UnsafePointer<T>, logitsStride: Int, rows: Int, columns: Int,
    targets: UnsafePointer<Int>?, probabilities: UnsafePointer<T>?, probabilitiesStride: Int,
    classWeights: UnsafePointer<T>?, ignoreIndex: Int, labelSmoothing: T, zLossScale: T,
    softcap: T, gradient: UnsafeMutablePointer<T>?, gradientStride: Int, gradientScale: T,
    perRowGradientScale: UnsafePointer<T>?, zLossGradientScale: T,
    rowLoss: UnsafeMutablePointer<T>?, rowLogSumExp: UnsafeMutablePointer<T>?,
    rowArgmax: UnsafeMutablePointer<Int>?
  ) {
    self.logits = logits
    self.logitsStride = logitsStride
    self.rows = rows
    self.columns = columns
    self.targets = targets
    self.probabilities = probabilities
    self.probabilitiesStride = probabilitiesStride
    self.classWeights = classWeights
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    self.zLossScale = zLossScale
    self.softcap = softcap
    self.gradient = gradient
    self.gradientStride = gradientStride
    self.gradientScale = gradientScale
    self.perRowGradientScale = perRowGradientScale
    self.zLossGradientScale = zLossGradientScale
    self.rowLoss = rowLoss
    self.rowLogSumExp = rowLogSumExp
    self.rowArgmax = rowArgmax
  }
}

/// Partial sums over a range of rows, merged in row order by the caller.
public struct _LossPartial: Sendable {
  /// Sum of the rows' cross-entropy (smoothing included, z-loss excluded), in Double.
  public var loss = 0.0
  /// Sum of the rows' `lse^2` (non-ignored rows).
  public var zLoss = 0.0
  /// Non-ignored rows whose argmax equals the target.
  public var correct = 0
  public init() {}
  public mutating func merge(_ o: _LossPartial) {
    loss += o.loss
    zLoss += o.zLoss
    correct += o.correct
  }
}

/// A batch of rows for the spherical Z-loss (de Brebisson & Vincent 2016).
public struct _ZLossBatch<T>: @unchecked Sendable {
  public var logits: UnsafePointer<T>
  public var logitsStride: Int
  public var columns: Int
  public var targets: UnsafePointer<Int>
  public var a: T
  public var b: T
  public var varianceEpsilon: T
  public var gradient: UnsafeMutablePointer<T>?
  public var gradientStride: Int
  public var gradientScale: T
  public var rowLoss: UnsafeMutablePointer<T>?
  public init(
    logits: UnsafePointer<T>, logitsStride: Int, columns: Int, targets: UnsafePointer<Int>,
    a: T, b: T, varianceEpsilon: T, gradient: UnsafeMutablePointer<T>?, gradientStride: Int,
    gradientScale: T, rowLoss: UnsafeMutablePointer<T>?
  ) {
    self.logits = logits
    self.logitsStride = logitsStride
    self.columns = columns
    self.targets = targets
    self.a = a
    self.b = b
    self.varianceEpsilon = varianceEpsilon
    self.gradient = gradient
    self.gradientStride = gradientStride
    self.gradientScale = gradientScale
    self.rowLoss = rowLoss
  }
}

/// A batch of rows for StableMax (Prieto et al. 2025).
public struct _StableMaxBatch<T>: @unchecked Sendable {
  public var input: UnsafePointer<T>
  public var inputStride: Int
  public var columns: Int
  /// `stableMax` / `logStableMax` outputs (`nil` for the loss).
  public var output: UnsafeMutablePointer<T>?
  public var outputStride: Int
  public var logarithm: Bool
  /// Cross-entropy targets (`nil` for the forward functions).
  public var targets: UnsafePointer<Int>?
  public var gradient: UnsafeMutablePointer<T>?
  public var gradientStride: Int
  public var gradientScale: T
  public var rowLoss: UnsafeMutablePointer<T>?
  public init(
    input: UnsafePointer<T>, inputStride: Int, columns: Int, output: UnsafeMutablePointer<T>?,
    outputStride: Int, logarithm: Bool, targets: UnsafePointer<Int>?,
    gradient: UnsafeMutablePointer<T>?, gradientStride: Int, gradientScale: T,
    rowLoss: UnsafeMutablePointer<T>?
  ) {
    self.input = input
    self.inputStride = inputStride
    self.columns = columns
    self.output = output
    self.outputStride = outputStride
    self.logarithm = logarithm
    self.targets = targets
    self.gradient = gradient
    self.gradientStride = gradientStride
    self.gradientScale = gradientScale
    self.rowLoss = rowLoss
  }
}

/// The loss kernels one ISA module provides for one scalar type. Each processes a range of
/// rows on the calling thread and returns its partial sums.
public struct _LossKernelTable<T>: @unchecked Sendable {
  public var crossEntropyRows: (_ batch: _CrossEntropyBatch<T>, _ rows: Range<Int>) -> _LossPartial
  public var zLossRows: (_ batch: _ZLossBatch<T>, _ rows: Range<Int>) -> _LossPartial
  public var stableMaxRows: (_ batch: _StableMaxBatch<T>, _ rows: Range<Int>) -> _LossPartial
  public init(
    crossEntropyRows: @escaping (_CrossEntropyBatch<T>, Range<Int>) -> _LossPartial,
    zLossRows: @escaping (_ZLossBatch<T>, Range<Int>) -> _LossPartial,
    stableMaxRows: @escaping (_StableMaxBatch<T>, Range<Int>) -> _LossPartial
  ) {
    self.crossEntropyRows = crossEntropyRows
    self.zLossRows = zLossRows
    self.stableMaxRows = stableMaxRows
  }
}
