// The interface between the public loss API and the per-ISA loss kernels. Not API.

/// A batch of cross-entropy rows. Targets are already validated.
package struct CrossEntropyBatch<T>: @unchecked Sendable {
  package var logits: UnsafePointer<T>
  package var logitsStride: Int
  package var rows: Int
  package var columns: Int
  /// Integer targets (`nil` for probability targets).
  package var targets: UnsafePointer<Int>?
  /// Probability targets, row-major with `probabilitiesStride` (`nil` for integer targets).
  package var probabilities: UnsafePointer<T>?
  package var probabilitiesStride: Int
  /// Class weights (`columns` entries) or `nil`.
  package var classWeights: UnsafePointer<T>?
  package var ignoreIndex: Int
  package var labelSmoothing: T
  package var zLossScale: T
  /// Soft-capping constant `c` (0: none).
  package var softcap: T
  /// Gradient rows (may equal `logits`), `nil` for forward only.
  package var gradient: UnsafeMutablePointer<T>?
  package var gradientStride: Int
  /// Per-row scale of the gradient: the upstream gradient over the reduction's denominator.
  /// `gradientScale[r]` when `perRowGradientScale` is not `nil`, else `gradientScale` for all.
  package var gradientScale: T
  package var perRowGradientScale: UnsafePointer<T>?
  /// Scale of the z-loss gradient (upstream over the z-loss denominator).
  package var zLossGradientScale: T
  /// Optional outputs, `rows` entries each.
  package var rowLoss: UnsafeMutablePointer<T>?
  package var rowLogSumExp: UnsafeMutablePointer<T>?
  package var rowArgmax: UnsafeMutablePointer<Int>?

  package init(
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
package struct LossPartial: Sendable {
  /// Sum of the rows' cross-entropy (smoothing included, z-loss excluded), in Double.
  package var loss = 0.0
  /// Sum of the rows' `lse^2` (non-ignored rows).
  package var zLoss = 0.0
  /// Non-ignored rows whose argmax equals the target.
  package var correct = 0
  package init() {}
  package mutating func merge(_ o: LossPartial) {
    loss += o.loss
    zLoss += o.zLoss
    correct += o.correct
  }
}

/// A batch of rows for the spherical Z-loss (de Brebisson & Vincent 2016).
package struct ZLossBatch<T>: @unchecked Sendable {
  package var logits: UnsafePointer<T>
  package var logitsStride: Int
  package var columns: Int
  package var targets: UnsafePointer<Int>
  package var a: T
  package var b: T
  package var varianceEpsilon: T
  package var gradient: UnsafeMutablePointer<T>?
  package var gradientStride: Int
  package var gradientScale: T
  package var rowLoss: UnsafeMutablePointer<T>?
  package init(
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
package struct StableMaxBatch<T>: @unchecked Sendable {
  package var input: UnsafePointer<T>
  package var inputStride: Int
  package var columns: Int
  /// `stableMax` / `logStableMax` outputs (`nil` for the loss).
  package var output: UnsafeMutablePointer<T>?
  package var outputStride: Int
  package var logarithm: Bool
  /// Cross-entropy targets (`nil` for the forward functions).
  package var targets: UnsafePointer<Int>?
  package var gradient: UnsafeMutablePointer<T>?
  package var gradientStride: Int
  package var gradientScale: T
  package var rowLoss: UnsafeMutablePointer<T>?
  package init(
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
package final class LossKernelTable<T>: @unchecked Sendable {
  package var crossEntropyRows: (_ batch: CrossEntropyBatch<T>, _ rows: Range<Int>) -> LossPartial
  package var zLossRows: (_ batch: ZLossBatch<T>, _ rows: Range<Int>) -> LossPartial
  package var stableMaxRows: (_ batch: StableMaxBatch<T>, _ rows: Range<Int>) -> LossPartial
  package init(
    crossEntropyRows: @escaping (CrossEntropyBatch<T>, Range<Int>) -> LossPartial,
    zLossRows: @escaping (ZLossBatch<T>, Range<Int>) -> LossPartial,
    stableMaxRows: @escaping (StableMaxBatch<T>, Range<Int>) -> LossPartial
  ) {
    self.crossEntropyRows = crossEntropyRows
    self.zLossRows = zLossRows
    self.stableMaxRows = stableMaxRows
  }
}
