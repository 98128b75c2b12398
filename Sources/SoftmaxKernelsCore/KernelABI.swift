// The interface between the public module and the per-ISA kernel modules. Not API: the
// underscored names are public only so that the modules can see each other.
//
// Each ISA module (baseline, x86-64-v3, x86-64-v4) compiles the same kernel source and
// publishes one `_KernelTable<Float>` and one `_KernelTable<Double>`; the public module checks
// arguments, picks the table of the active level, and spreads work over threads. A table call
// processes whole rows, or one long row split into chunks whose partial states are merged.

/// Which function of the softmax family a forward call computes.
public enum _SoftmaxOperation: Sendable {
  case softmax
  case logSoftmax
  case logSumExp
}

/// Runs `body(0) ..< body(iterations - 1)`, possibly concurrently; returns when all are done.
public typealias _ParallelFor = (_ iterations: Int, _ body: (Int) -> Void) -> Void

/// A batch of rows for a forward call. Row `r` of the input starts at `input + r * inputStride`.
public struct _ForwardBatch<T>: @unchecked Sendable {
  public var input: UnsafePointer<T>
  public var inputStride: Int
  /// Row outputs (softmax / log-softmax); `nil` for log-sum-exp. May equal `input`.
  public var output: UnsafeMutablePointer<T>?
  public var outputStride: Int
  /// Per-row log-sum-exp, written at `logSumExp[r]` when not `nil`.
  public var logSumExp: UnsafeMutablePointer<T>?
  public var columns: Int
  public var operation: _SoftmaxOperation
  /// Never `.automatic`: resolved by the caller.
  public var algorithm: SoftmaxAlgorithm
  public var fullyMaskedRowIsZero: Bool
  public var positiveInfinityIsLimit: Bool

  public init(
    input: UnsafePointer<T>, inputStride: Int, output: UnsafeMutablePointer<T>?,
    outputStride: Int, logSumExp: UnsafeMutablePointer<T>?, columns: Int,
    operation: _SoftmaxOperation, algorithm: SoftmaxAlgorithm, fullyMaskedRowIsZero: Bool,
    positiveInfinityIsLimit: Bool
  ) {
    self.input = input
    self.inputStride = inputStride
    self.output = output
    self.outputStride = outputStride
    self.logSumExp = logSumExp
    self.columns = columns
    self.operation = operation
    self.algorithm = algorithm
    self.fullyMaskedRowIsZero = fullyMaskedRowIsZero
    self.positiveInfinityIsLimit = positiveInfinityIsLimit
  }
}

/// Which vector-Jacobian product a backward call computes.
public enum _BackwardOperation: Sendable {
  /// `dx_i = y_i (g_i - sum_j g_j y_j)` from the softmax output `y`.
  case softmax
  /// `dx_i = g_i - exp(z_i) sum_j g_j` from the log-softmax output `z`.
  case logSoftmax
}

/// A batch of rows for a backward call. `dx` may equal `output` or `gradient`.
public struct _BackwardBatch<T>: @unchecked Sendable {
  public var output: UnsafePointer<T>
  public var outputStride: Int
  public var gradient: UnsafePointer<T>
  public var gradientStride: Int
  public var inputGradient: UnsafeMutablePointer<T>
  public var inputGradientStride: Int
  public var columns: Int
  public var operation: _BackwardOperation
  public var fullyMaskedRowIsZero: Bool

  public init(
    output: UnsafePointer<T>, outputStride: Int, gradient: UnsafePointer<T>,
    gradientStride: Int, inputGradient: UnsafeMutablePointer<T>, inputGradientStride: Int,
    columns: Int, operation: _BackwardOperation, fullyMaskedRowIsZero: Bool
  ) {
    self.output = output
    self.outputStride = outputStride
    self.gradient = gradient
    self.gradientStride = gradientStride
    self.inputGradient = inputGradient
    self.inputGradientStride = inputGradientStride
    self.columns = columns
    self.operation = operation
    self.fullyMaskedRowIsZero = fullyMaskedRowIsZero
  }
}

/// The kernels one ISA module provides for one scalar type.
public struct _KernelTable<T>: @unchecked Sendable {
  /// The level the module was compiled for.
  public var level: ISALevel
  /// Processes rows `rows` of the batch on the calling thread.
  public var forwardRows: (_ batch: _ForwardBatch<T>, _ rows: Range<Int>) -> Void
  /// Processes row `row` split into `chunks` chunks run through the parallel-for.
  public var forwardSplitRow:
    (_ batch: _ForwardBatch<T>, _ row: Int, _ chunks: Int, _ parallel: @escaping _ParallelFor) -> Void
  public var backwardRows: (_ batch: _BackwardBatch<T>, _ rows: Range<Int>) -> Void
  public var backwardSplitRow:
    (_ batch: _BackwardBatch<T>, _ row: Int, _ chunks: Int, _ parallel: @escaping _ParallelFor) -> Void
  /// `y_i = exp(x_i)` with the kernels' vector exponential, for `x_i <= 0` (results below the
  /// smallest normal number flushed to 0). Exposed so the tests can measure its error.
  public var expNonPositive: (_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) -> Void

  public init(
    level: ISALevel,
    forwardRows: @escaping (_ForwardBatch<T>, Range<Int>) -> Void,
    forwardSplitRow: @escaping (_ForwardBatch<T>, Int, Int, @escaping _ParallelFor) -> Void,
    backwardRows: @escaping (_BackwardBatch<T>, Range<Int>) -> Void,
    backwardSplitRow: @escaping (_BackwardBatch<T>, Int, Int, @escaping _ParallelFor) -> Void,
    expNonPositive: @escaping (UnsafePointer<T>, UnsafeMutablePointer<T>, Int) -> Void
  ) {
    self.level = level
    self.forwardRows = forwardRows
    self.forwardSplitRow = forwardSplitRow
    self.backwardRows = backwardRows
    self.backwardSplitRow = backwardSplitRow
    self.expNonPositive = expNonPositive
  }
}
