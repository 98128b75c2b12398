// The interface between the public module and the per-ISA kernel modules (`package` access:
// visible to the package's modules, tests and benchmark, not to users).
//
// Each ISA module (baseline, x86-64-v3, x86-64-v4) compiles the same kernel source and
// publishes its tables per storage type (`KernelSet`, `HalfKernelSet`); the public module checks
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

/// Elements per block of a row. Every row longer than this is processed as fixed blocks whose
/// partial states (max; sums; (mantissa, exponent) pairs; (max, sum) pairs) are merged in block
/// order, on one thread or many: the blocks, the accumulation windows inside them (a block is a
/// whole number of windows) and the merge order depend on the row length only, so the results
/// are bitwise the same for every thread count.
package let reproducibleBlock = 1 << 16

/// A batch of rows for a forward call. Row `r` of the input starts at `input + r * inputStride`.
/// `Input` and `Output` are storage types of one arithmetic type (both the same, or a 16-bit
/// input with `Float` outputs).
package struct ForwardBatch<Input: BitwiseCopyable, Output: BitwiseCopyable>: @unchecked Sendable {
  package var input: UnsafePointer<Input>
  package var inputStride: Int
  /// Row outputs (softmax / log-softmax); `nil` for log-sum-exp. May equal `input`.
  package var output: UnsafeMutablePointer<Output>? = nil
  package var outputStride: Int = 0
  /// Per-row log-sum-exp, written at `logSumExp[r]` when not `nil`.
  package var logSumExp: UnsafeMutablePointer<Output>? = nil
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
  /// With the three-pass algorithms' softmax of a row longer than one block (normalised block
  /// by block), prefetch the block the thread computes next (or the first block of its next
  /// row) into the level-2 cache during the exponential pass of the current block. A hint:
  /// results never change. Set when two blocks of the input and one of the arithmetic type fit
  /// in the level-2 cache.
  package var prefetchNextBlock: Bool = false
  /// With three-pass reload softmax, keep each row's exponentials in a scratch row of the
  /// thread's own (`columns` elements of the arithmetic type, allocated once per thread and
  /// call by the kernel table) instead of in the output, so that the last pass writes every
  /// output once: with streaming stores, no line of the output is read or written twice.
  package var reloadsFromScratch: Bool = false

  /// The fields without a default; set the others by assignment.
  package init(
    input: UnsafePointer<Input>, inputStride: Int, columns: Int, operation: SoftmaxOperation, algorithm: SoftmaxPasses
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

/// A batch of rows for a backward call. `dx` may equal `output` or `gradient` (same type).
/// The forward output and the upstream gradient are stored as `Input`, the input gradient as
/// `Output` (as `ForwardBatch`).
package struct BackwardBatch<Input: BitwiseCopyable, Output: BitwiseCopyable>: @unchecked Sendable {
  package var output: UnsafePointer<Input>
  package var outputStride: Int
  package var gradient: UnsafePointer<Input>
  package var gradientStride: Int
  package var inputGradient: UnsafeMutablePointer<Output>
  package var inputGradientStride: Int
  package var columns: Int
  package var operation: BackwardOperation
  package var fullyMaskedRowIsZero: Bool = false

  /// The fields without a default; set the others by assignment.
  package init(
    output: UnsafePointer<Input>, outputStride: Int, gradient: UnsafePointer<Input>, gradientStride: Int, inputGradient: UnsafeMutablePointer<Output>, inputGradientStride: Int, columns: Int, operation: BackwardOperation
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

/// The softmax-family kernels one ISA module provides for one pair of storage types.
package final class SoftmaxKernelTable<Input: BitwiseCopyable, Output: BitwiseCopyable>: @unchecked Sendable {
  package typealias Forward = ForwardBatch<Input, Output>
  package typealias Backward = BackwardBatch<Input, Output>
  /// Processes rows `rows` of the batch on the calling thread.
  package var forwardRows: (_ batch: Forward, _ rows: Range<Int>) -> Void
  /// Processes row `row` split into `chunks` chunks run through the parallel-for.
  package var forwardSplitRow:
    (_ batch: Forward, _ row: Int, _ chunks: Int, _ parallel: @escaping ParallelFor) -> Void
  package var backwardRows: (_ batch: Backward, _ rows: Range<Int>) -> Void
  package var backwardSplitRow:
    (_ batch: Backward, _ row: Int, _ chunks: Int, _ parallel: @escaping ParallelFor) -> Void
  /// The size in bytes of the type the kernels compute in (`Float` for the 16-bit storage
  /// types): what a scratch row of one element per column costs (`AlgorithmChoice`).
  package let arithmeticBytes: Int

  package init(
    arithmeticBytes: Int,
    forwardRows: @escaping (Forward, Range<Int>) -> Void,
    forwardSplitRow: @escaping (Forward, Int, Int, @escaping ParallelFor) -> Void,
    backwardRows: @escaping (Backward, Range<Int>) -> Void,
    backwardSplitRow: @escaping (Backward, Int, Int, @escaping ParallelFor) -> Void
  ) {
    self.arithmeticBytes = arithmeticBytes
    self.forwardRows = forwardRows
    self.forwardSplitRow = forwardSplitRow
    self.backwardRows = backwardRows
    self.backwardSplitRow = backwardSplitRow
  }
}
