// The interface between the public module and the per-ISA kernel modules for the sigmoid /
// softplus family (sigmoid, log-sigmoid, softplus, BCE with logits, SigLIP, sigmoid and softplus
// attention weights), `package` access. Arguments are validated by the public module before any
// table call.

/// An elementwise forward function.
package enum SigmoidUnaryOperation: Sendable {
  /// `y = sigmoid(a x + b)` (`a = 1, b = 0` for the plain sigmoid).
  case sigmoid
  /// `y = log sigmoid(x)`.
  case logSigmoid
  /// `y = softplus(a x) / a`, or `x` where `a x > b` (`a = beta`, `b = threshold`).
  case softplus
}

/// An elementwise vector-Jacobian product `dx = g f'(...)`.
package enum SigmoidGradientOperation: Sendable {
  /// From the input `x`: `dx = g a s (1 - s)`, `s = sigmoid(a x + b)`.
  case sigmoidFromInput
  /// From the output `y`: `dx = g a y (1 - y)` (PyTorch's `sigmoid_backward`).
  case sigmoidFromOutput
  /// From the input: `dx = g sigmoid(-x)`.
  case logSigmoid
  /// From the input: `dx = g sigmoid(a x)`, or `g` where `a x > b`.
  case softplus
}

/// One call of the BCE-with-logits kernel over a flat range of elements of a row-major
/// `rows x columns` array (`posWeight` has `columns` entries and is broadcast over the rows).
/// The logits and their gradient are stored as `Logits` (`T`, or a 16-bit type computed in
/// `T == Float`), everything else as `T`.
package struct BCEBatch<Logits, T: BinaryFloatingPoint>: @unchecked Sendable {
  package var logits: UnsafePointer<Logits>
  package var targets: UnsafePointer<T>
  package var weight: UnsafePointer<T>? = nil
  package var posWeight: UnsafePointer<T>? = nil
  package var columns: Int
  /// Per-element losses (reduction `none`), or `nil`.
  package var losses: UnsafeMutablePointer<T>? = nil
  /// Whether the caller uses the sum of the losses (the kernel always returns it).
  package var sumLosses: Bool = false
  /// `dx_i = gradientScale * upstream_i * dloss_i/dx_i` when not `nil`.
  package var inputGradient: UnsafeMutablePointer<Logits>? = nil
  /// Per-element upstream gradient (reduction `none`), or `nil` for 1.
  package var upstream: UnsafePointer<T>? = nil
  package var gradientScale: T = 0

  /// The fields without a default; set the others by assignment.
  package init(logits: UnsafePointer<Logits>, targets: UnsafePointer<T>, columns: Int) {
    self.logits = logits
    self.targets = targets
    self.columns = columns
  }
}

/// One call of the SigLIP kernel: rows of a `rows x columns` similarity block. Row `i` has its
/// positive pair at column `i + positiveOffset` (none when that is outside the row or
/// `hasPositives` is false); every other pair is a negative.
/// The similarities and their gradient are stored as `Storage` (`T`, or a 16-bit type computed
/// in `T == Float`).
package struct SigLIPBatch<Storage, T: BinaryFloatingPoint>: @unchecked Sendable {
  package var similarities: UnsafePointer<Storage>
  package var rowStride: Int
  package var columns: Int
  package var hasPositives: Bool = false
  package var positiveOffset: Int = 0
  /// `t = exp(t')`.
  package var temperature: T = 0
  package var bias: T = 0
  /// `ds_ij = gradientScale * q_ij` when not `nil`, `q_ij = -z_ij sigmoid(-z_ij l_ij)`.
  package var similarityGradient: UnsafeMutablePointer<Storage>? = nil
  package var gradientRowStride: Int = 0
  package var gradientScale: T = 0

  /// The fields without a default; set the others by assignment.
  package init(similarities: UnsafePointer<Storage>, rowStride: Int, columns: Int) {
    self.similarities = similarities
    self.rowStride = rowStride
    self.columns = columns
  }
}

/// Sums over the pairs of a SigLIP call, in Double: `loss = sum softplus(-z l)`,
/// `q = sum q_ij`, `qs = sum q_ij s_ij`.
package struct SigLIPSums: Sendable {
  package var loss: Double
  package var q: Double
  package var qs: Double

  package init(loss: Double = 0, q: Double = 0, qs: Double = 0) {
    self.loss = loss
    self.q = q
    self.qs = qs
  }

  package mutating func add(_ other: SigLIPSums) {
    loss += other.loss
    q += other.q
    qs += other.qs
  }
}

/// One call of the softplus-attention kernel (LSSA / LSSAR) over rows of a score matrix.
/// Row `i` (0-based) is query `i + queryOffset`; with `causal` it sees the keys
/// `0 ... i + queryOffset` (`N_i` of them), otherwise all `columns` keys (`N_i = columns`).
///
/// Storage types: the scores are `Scores`; the forward output (written by the forward call,
/// read by the backward call) and the upstream gradient are `Output`; the input gradient is
/// `Gradient`; the parameters and the arithmetic are `T` (`Float` for the 16-bit types).
package struct SoftplusAttentionBatch<Scores, Output, Gradient, T: BinaryFloatingPoint>: @unchecked Sendable {
  package var scores: UnsafePointer<Scores>
  package var scoresStride: Int
  package var output: UnsafeMutablePointer<Output>
  package var outputStride: Int
  package var columns: Int
  package var causal: Bool = false
  package var queryOffset: Int = 0
  /// `c_i = logHeadDimension * log(N_i)` when `lengthDependentScale`, else `constantScale`.
  package var lengthDependentScale: Bool = false
  package var logHeadDimension: T = 0
  package var constantScale: T = 0
  /// LSSAR power `p`; 0 for plain LSSA.
  package var power: T = 0
  /// Queries with index below `offsetRows` use `O = 0` in the re-weighting, the others `O = 1`.
  package var offsetRows: Int = 0
  package var epsilon: T = 0
  /// Backward only: the upstream gradient and the input gradient (the forward output is `output`).
  package var outputGradient: UnsafePointer<Output>? = nil
  package var outputGradientStride: Int = 0
  package var inputGradient: UnsafeMutablePointer<Gradient>? = nil
  package var inputGradientStride: Int = 0

  /// The fields without a default; set the others by assignment.
  package init(
    scores: UnsafePointer<Scores>, scoresStride: Int, output: UnsafeMutablePointer<Output>, outputStride: Int,
    columns: Int
  ) {
    self.scores = scores
    self.scoresStride = scoresStride
    self.output = output
    self.outputStride = outputStride
    self.columns = columns
  }
}

/// The elementwise functions of the sigmoid family (sigmoid, log-sigmoid, softplus) and their
/// vector-Jacobian products, reading `X` and writing `Y` (`Float` / `Double` rows, or 16-bit
/// rows with outputs in the same type or in `Float`), parameters in the arithmetic type `A`.
package struct ElementwiseKernels<X, Y, A>: @unchecked Sendable {
  /// `y_i = f(x_i)` for `count` contiguous elements; `y` may equal `x` (when `Y` is `X`).
  package var unary:
    (_ op: SigmoidUnaryOperation, _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>,
     _ count: Int, _ a: A, _ b: A) -> Void
  /// `dx_i = g_i f'(...)` from `v` (the input, or the output for `.sigmoidFromOutput`); `dx`
  /// may equal `v` or `g` (when `Y` is `X`).
  package var gradient:
    (_ op: SigmoidGradientOperation, _ v: UnsafePointer<X>, _ g: UnsafePointer<X>,
     _ dx: UnsafeMutablePointer<Y>, _ count: Int, _ a: A, _ b: A) -> Void

  package init(
    unary: @escaping (SigmoidUnaryOperation, UnsafePointer<X>, UnsafeMutablePointer<Y>, Int, A, A) -> Void,
    gradient: @escaping (
      SigmoidGradientOperation, UnsafePointer<X>, UnsafePointer<X>, UnsafeMutablePointer<Y>, Int, A, A
    ) -> Void
  ) {
    self.unary = unary
    self.gradient = gradient
  }
}

/// The sigmoid-family kernels one ISA module provides for one scalar type.
package final class SigmoidKernelTable<T: BinaryFloatingPoint>: @unchecked Sendable {
  /// Sigmoid, log-sigmoid, softplus and their gradients.
  package var elementwise: ElementwiseKernels<T, T, T>
  /// BCE with logits over the flat element range; returns the sum of the losses.
  package var binaryCrossEntropy: (_ batch: BCEBatch<T, T>, _ elements: Range<Int>) -> Double
  /// `(min, max, containsNaN)` of `count` values (target validation).
  package var range: (_ x: UnsafePointer<T>, _ count: Int) -> (min: T, max: T, nan: Bool)
  /// SigLIP sums over rows `rows` (and the similarity gradient of those rows).
  package var sigLIPRows: (_ batch: SigLIPBatch<T, T>, _ rows: Range<Int>) -> SigLIPSums
  /// Softplus attention weights of rows `rows`.
  package var softplusAttentionRows: (_ batch: SoftplusAttentionBatch<T, T, T, T>, _ rows: Range<Int>) -> Void
  /// The input gradient of rows `rows` (needs `outputGradient` and `inputGradient`).
  package var softplusAttentionBackwardRows:
    (_ batch: SoftplusAttentionBatch<T, T, T, T>, _ rows: Range<Int>) -> Void

  package init(
    elementwise: ElementwiseKernels<T, T, T>,
    binaryCrossEntropy: @escaping (BCEBatch<T, T>, Range<Int>) -> Double,
    range: @escaping (UnsafePointer<T>, Int) -> (min: T, max: T, nan: Bool),
    sigLIPRows: @escaping (SigLIPBatch<T, T>, Range<Int>) -> SigLIPSums,
    softplusAttentionRows: @escaping (SoftplusAttentionBatch<T, T, T, T>, Range<Int>) -> Void,
    softplusAttentionBackwardRows: @escaping (SoftplusAttentionBatch<T, T, T, T>, Range<Int>) -> Void
  ) {
    self.elementwise = elementwise
    self.binaryCrossEntropy = binaryCrossEntropy
    self.range = range
    self.sigLIPRows = sigLIPRows
    self.softplusAttentionRows = softplusAttentionRows
    self.softplusAttentionBackwardRows = softplusAttentionBackwardRows
  }
}
