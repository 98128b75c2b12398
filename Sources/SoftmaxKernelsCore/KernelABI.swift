// The interface between the public module and the per-ISA kernel modules (`package` access:
// visible to the package's modules, tests and benchmark, not to users).
//
// Each ISA module (baseline, x86-64-v3, x86-64-v4) compiles the same kernel source and
// publishes one `SoftmaxKernelTable<Float>` and one `SoftmaxKernelTable<Double>`; the public module checks
// arguments, picks the table of the active level, and spreads work over threads. A table call
// processes whole rows, or one long row split into chunks whose partial states are merged.

/// The pass structure of a forward row: the public `SoftmaxAlgorithm` without `automatic`,
/// which the caller resolves first.
package enum SoftmaxPasses: Sendable {
  case threePassRecompute
  case threePassReload
  case twoPass
  case online
}

/// Which function of the softmax family a forward call computes.
package enum SoftmaxOperation: Sendable {
  case softmax
  case logSoftmax
  case logSumExp
}

/// Runs `body(0) ..< body(iterations - 1)`, possibly concurrently; returns when all are done.
package typealias ParallelFor = (_ iterations: Int, _ body: (Int) -> Void) -> Void

/// A batch of rows for a forward call. Row `r` of the input starts at `input + r * inputStride`.
package struct ForwardBatch<T: BinaryFloatingPoint>: @unchecked Sendable {
  package var input: UnsafePointer<T>
  package var inputStride: Int
  /// Row outputs (softmax / log-softmax); `nil` for log-sum-exp. May equal `input`.
  package var output: UnsafeMutablePointer<T>? = nil
  package var outputStride: Int = 0
  /// Per-row log-sum-exp, written at `logSumExp[r]` when not `nil`.
  package var logSumExp: UnsafeMutablePointer<T>? = nil
  package var columns: Int
  package var operation: SoftmaxOperation
  /// Never `.automatic`: resolved by the caller.
  package var algorithm: SoftmaxPasses
  package var fullyMaskedRowIsZero: Bool = false
  package var positiveInfinityIsLimit: Bool = false
  /// Write the outputs with streaming (non-temporal) stores: they leave the cache.
  package var streamingStores: Bool = false
  /// With the three-pass algorithms, prefetch each thread's next row into the level-2 cache
  /// during the exponential pass of its current row (one line per vector): the next row's
  /// maximum pass, which waits on memory, then reads from the cache, and its memory traffic
  /// overlaps the exponentials, which wait on arithmetic. A hint: results never change. Set
  /// when two rows fit in half the level-2 cache.
  package var prefetchNextRow: Bool = false

  /// The fields without a default; set the others by assignment.
  package init(
    input: UnsafePointer<T>, inputStride: Int, columns: Int, operation: SoftmaxOperation, algorithm: SoftmaxPasses
  ) {
    self.input = input
    self.inputStride = inputStride
    self.columns = columns
    self.operation = operation
    self.algorithm = algorithm
  }
}

/// Which vector-Jacobian product a backward call computes.
package enum BackwardOperation: Sendable {
  /// `dx_i = y_i (g_i - sum_j g_j y_j)` from the softmax output `y`.
  case softmax
  /// `dx_i = g_i - exp(z_i) sum_j g_j` from the log-softmax output `z`.
  case logSoftmax
}

/// A batch of rows for a backward call. `dx` may equal `output` or `gradient`.
package struct BackwardBatch<T: BinaryFloatingPoint>: @unchecked Sendable {
  package var output: UnsafePointer<T>
  package var outputStride: Int
  package var gradient: UnsafePointer<T>
  package var gradientStride: Int
  package var inputGradient: UnsafeMutablePointer<T>
  package var inputGradientStride: Int
  package var columns: Int
  package var operation: BackwardOperation
  package var fullyMaskedRowIsZero: Bool = false

  /// The fields without a default; set the others by assignment.
  package init(
    output: UnsafePointer<T>, outputStride: Int, gradient: UnsafePointer<T>, gradientStride: Int, inputGradient: UnsafeMutablePointer<T>, inputGradientStride: Int, columns: Int, operation: BackwardOperation
  ) {
    self.output = output
    self.outputStride = outputStride
    self.gradient = gradient
    self.gradientStride = gradientStride
    self.inputGradient = inputGradient
    self.inputGradientStride = inputGradientStride
    self.columns = columns
    self.operation = operation
  }
}

/// The kernels one ISA module provides for one scalar type.
package final class SoftmaxKernelTable<T: BinaryFloatingPoint>: @unchecked Sendable {
  /// Processes rows `rows` of the batch on the calling thread.
  package var forwardRows: (_ batch: ForwardBatch<T>, _ rows: Range<Int>) -> Void
  /// Processes row `row` split into `chunks` chunks run through the parallel-for.
  package var forwardSplitRow:
    (_ batch: ForwardBatch<T>, _ row: Int, _ chunks: Int, _ parallel: @escaping ParallelFor) -> Void
  package var backwardRows: (_ batch: BackwardBatch<T>, _ rows: Range<Int>) -> Void
  package var backwardSplitRow:
    (_ batch: BackwardBatch<T>, _ row: Int, _ chunks: Int, _ parallel: @escaping ParallelFor) -> Void

  package init(
    forwardRows: @escaping (ForwardBatch<T>, Range<Int>) -> Void,
    forwardSplitRow: @escaping (ForwardBatch<T>, Int, Int, @escaping ParallelFor) -> Void,
    backwardRows: @escaping (BackwardBatch<T>, Range<Int>) -> Void,
    backwardSplitRow: @escaping (BackwardBatch<T>, Int, Int, @escaping ParallelFor) -> Void
  ) {
    self.forwardRows = forwardRows
    self.forwardSplitRow = forwardSplitRow
    self.backwardRows = backwardRows
    self.backwardSplitRow = backwardSplitRow
  }
}
