// The interface between the public loss API and the per-ISA loss kernels. Not API.

/// A batch of cross-entropy rows. Targets are already validated. The logits and the gradient
/// are stored as `Logits` (`T`, or a 16-bit type when `T` is `Float`); everything else is `T`.
package struct CrossEntropyBatch<Logits: BitwiseCopyable, T: BinaryFloatingPoint>: @unchecked Sendable {
  package var logits: UnsafePointer<Logits>
  package var logitsStride: Int
  package var rows: Int
  package var columns: Int
  /// Integer targets (`nil` for probability targets).
  package var targets: UnsafePointer<Int>? = nil
  /// Probability targets, row-major with `probabilitiesStride` (`nil` for integer targets).
  package var probabilities: UnsafePointer<T>? = nil
  package var probabilitiesStride: Int = 0
  /// Class weights (`columns` entries) or `nil`.
  package var classWeights: UnsafePointer<T>? = nil
  package var ignoreIndex: Int = 0
  package var labelSmoothing: T = 0
  package var zLossScale: T = 0
  /// Soft-capping constant `c` (0: none).
  package var softcap: T = 0
  /// Gradient rows (may equal `logits`), `nil` for forward only.
  package var gradient: UnsafeMutablePointer<Logits>? = nil
  package var gradientStride: Int = 0
  /// Write the gradient with streaming (non-temporal) stores: it leaves the cache.
  package var streamingStores: Bool = false
  /// Prefetch each thread's next row of logits into the level-2 cache during the sum pass of
  /// its current row (as `ForwardBatch.prefetchNextRow`). A hint: results never change.
  package var prefetchNextRow: Bool = false
  /// Per-row scale of the gradient: the upstream gradient over the reduction's denominator.
  /// `gradientScale[r]` when `perRowGradientScale` is not `nil`, else `gradientScale` for all.
  package var gradientScale: T = 0
  package var perRowGradientScale: UnsafePointer<T>? = nil
  /// Scale of the z-loss gradient (upstream over the z-loss denominator).
  package var zLossGradientScale: T = 0
  /// Optional outputs, `rows` entries each.
  package var rowLoss: UnsafeMutablePointer<T>? = nil
  package var rowLogSumExp: UnsafeMutablePointer<T>? = nil
  package var rowArgmax: UnsafeMutablePointer<Int>? = nil

  /// The fields without a default; set the others by assignment.
  package init(logits: UnsafePointer<Logits>, logitsStride: Int, rows: Int, columns: Int) {
    self.logits = logits
    self.logitsStride = logitsStride
    self.rows = rows
    self.columns = columns
  }
}

/// Partial sums over a range of rows, merged in row order by the caller.
package struct LossPartial: Sendable {
  /// Sum of the rows' losses (cross-entropy: smoothing included, z-loss excluded), in Double
  /// with compensation: plain additions lost up to 7.9e-13 relative on 1e6 equal Double rows
  /// (found by an outside review), against the documented 1e-14.
  package var lossSum = CompensatedSum()
  /// Sum of the rows' `lse^2` (non-ignored rows), compensated likewise.
  package var zLossSum = CompensatedSum()
  /// Non-ignored rows whose argmax equals the target.
  package var correct = 0
  package init() {}
  package var loss: Double { lossSum.value }
  package var zLoss: Double { zLossSum.value }
  package mutating func merge(_ o: LossPartial) {
    lossSum.add(o.lossSum)
    zLossSum.add(o.zLossSum)
    correct += o.correct
  }
}

/// A batch of rows for the spherical Z-loss (de Brebisson & Vincent 2016). The logits and the
/// gradient are stored as `Logits` (`T`, or a 16-bit type when `T` is `Float`); everything else
/// is `T`.
package struct ZLossBatch<Logits: BitwiseCopyable, T: BinaryFloatingPoint>: @unchecked Sendable {
  package var logits: UnsafePointer<Logits>
  package var logitsStride: Int
  package var columns: Int
  package var targets: UnsafePointer<Int>
  package var a: T = 0
  package var b: T = 0
  package var varianceEpsilon: T = 0
  /// Gradient rows (may equal `logits`), `nil` for the loss alone.
  package var gradient: UnsafeMutablePointer<Logits>? = nil
  package var gradientStride: Int = 0
  package var gradientScale: T = 0
  package var rowLoss: UnsafeMutablePointer<T>? = nil

  /// The fields without a default; set the others by assignment.
  package init(
    logits: UnsafePointer<Logits>, logitsStride: Int, columns: Int, targets: UnsafePointer<Int>
  ) {
    self.logits = logits
    self.logitsStride = logitsStride
    self.columns = columns
    self.targets = targets
  }
}

/// A batch of rows for StableMax (Prieto et al. 2025). The input and the gradient are stored
/// as `Input`, the forward outputs as `Output` (each `T`, or a 16-bit type when `T` is `Float`;
/// `Output` may be `Float` for a 16-bit `Input`); everything else is `T`.
package struct StableMaxBatch<Input: BitwiseCopyable, Output: BitwiseCopyable, T: BinaryFloatingPoint>:
  @unchecked Sendable
{
  package var input: UnsafePointer<Input>
  package var inputStride: Int
  package var columns: Int
  /// `stableMax` / `logStableMax` outputs (`nil` for the loss).
  package var output: UnsafeMutablePointer<Output>? = nil
  package var outputStride: Int = 0
  package var logarithm: Bool = false
  /// Cross-entropy targets (`nil` for the forward functions).
  package var targets: UnsafePointer<Int>? = nil
  /// Gradient rows (may equal `input`), `nil` for the loss alone.
  package var gradient: UnsafeMutablePointer<Input>? = nil
  package var gradientStride: Int = 0
  package var gradientScale: T = 0
  package var rowLoss: UnsafeMutablePointer<T>? = nil

  /// The fields without a default; set the others by assignment.
  package init(input: UnsafePointer<Input>, inputStride: Int, columns: Int) {
    self.input = input
    self.inputStride = inputStride
    self.columns = columns
  }
}

/// The loss kernels one ISA module provides for one scalar type. Each processes a range of
/// rows on the calling thread and returns its partial sums.
package final class LossKernelTable<T: BinaryFloatingPoint & BitwiseCopyable>: @unchecked Sendable {
  package var crossEntropyRows: (_ batch: CrossEntropyBatch<T, T>, _ rows: Range<Int>) -> LossPartial
  package var zLossRows: (_ batch: ZLossBatch<T, T>, _ rows: Range<Int>) -> LossPartial
  package var stableMaxRows: (_ batch: StableMaxBatch<T, T, T>, _ rows: Range<Int>) -> LossPartial
  package init(
    crossEntropyRows: @escaping (CrossEntropyBatch<T, T>, Range<Int>) -> LossPartial,
    zLossRows: @escaping (ZLossBatch<T, T>, Range<Int>) -> LossPartial,
    stableMaxRows: @escaping (StableMaxBatch<T, T, T>, Range<Int>) -> LossPartial
  ) {
    self.crossEntropyRows = crossEntropyRows
    self.zLossRows = zLossRows
    self.stableMaxRows = stableMaxRows
  }
}
