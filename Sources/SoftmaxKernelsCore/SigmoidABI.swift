// The interface between the public module and the per-ISA kernel modules for the sigmoid /
// softplus family (sigmoid, log-sigmoid, softplus, BCE with logits, SigLIP, sigmoid and softplus
// attention weights). Not API: the underscored names are public only so that the modules can
// see each other. Arguments are validated by the public module before any table call.

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
package struct BCEBatch<T>: @unchecked Sendable {
  package var logits: UnsafePointer<T>
  package var targets: UnsafePointer<T>
  package var weight: UnsafePointer<T>?
  package var posWeight: UnsafePointer<T>?
  package var columns: Int
  /// Per-element losses (reduction `none`), or `nil`.
  package var losses: UnsafeMutablePointer<T>?
  /// Whether the caller uses the sum of the losses (the kernel always returns it).
  package var sumLosses: Bool
  /// `dx_i = gradientScale * upstream_i * dloss_i/dx_i` when not `nil`.
  package var inputGradient: UnsafeMutablePointer<T>?
  /// Per-element upstream gradient (reduction `none`), or `nil` for 1.
  package var upstream: UnsafePointer<T>?
  package var gradientScale: T

  package init(
    logits: UnsafePointer<T>, targets: UnsafePointer<T>, weight: UnsafePointer<T>?,
    posWeight: UnsafePointer<T>?, columns: Int, losses: UnsafeMutablePointer<T>?,
    sumLosses: Bool, inputGradient: UnsafeMutablePointer<T>?, upstream: UnsafePointer<T>?,
    gradientScale: T
  ) {
    self.logits = logits
    self.targets = targets
    self.weight = weight
    self.posWeight = posWeight
    self.columns = columns
    self.losses = losses
    self.sumLosses = sumLosses
    self.inputGradient = inputGradient
    self.upstream = upstream
    self.gradientScale = gradientScale
  }
}

/// One call of the SigLIP kernel: rows of a `rows x columns` similarity block. Row `i` has its
/// positive pair at column `i + positiveOffset` (none when that is outside the row or
/// `hasPositives` is false); every other pair is a negative.
package struct SigLIPBatch<T>: @unchecked Sendable {
  package var similarities: UnsafePointer<T>
  package var rowStride: Int
  package var columns: Int
  package var hasPositives: Bool
  package var positiveOffset: Int
  /// `t = exp(t')`.
  package var temperature: T
  package var bias: T
  /// `ds_ij = gradientScale * q_ij` when not `nil`, `q_ij = -z_ij sigmoid(-z_ij l_ij)`.
  package var similarityGradient: UnsafeMutablePointer<T>?
  package var gradientRowStride: Int
  package var gradientScale: T

  package init(
    similarities: UnsafePointer<T>, rowStride: Int, columns: Int, hasPositives: Bool,
    positiveOffset: Int, temperature: T, bias: T, similarityGradient: UnsafeMutablePointer<T>?,
    gradientRowStride: Int, gradientScale: T
  ) {
    self.similarities = similarities
    self.rowStride = rowStride
    self.columns = columns
    self.hasPositives = hasPositives
    self.positiveOffset = positiveOffset
    self.temperature = temperature
    self.bias = bias
    self.similarityGradient = similarityGradient
    self.gradientRowStride = gradientRowStride
    self.gradientScale = gradientScale
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
package struct SoftplusAttentionBatch<T>: @unchecked Sendable {
  package var scores: UnsafePointer<T>
  package var scoresStride: Int
  package var output: UnsafeMutablePointer<T>
  package var outputStride: Int
  package var columns: Int
  package var causal: Bool
  package var queryOffset: Int
  /// `c_i = logHeadDimension * log(N_i)` when `lengthDependentScale`, else `constantScale`.
  package var lengthDependentScale: Bool
  package var logHeadDimension: T
  package var constantScale: T
  /// LSSAR power `p`; 0 for plain LSSA.
  package var power: T
  /// Queries with index below `offsetRows` use `O = 0` in the re-weighting, the others `O = 1`.
  package var offsetRows: Int
  package var epsilon: T
  /// Backward only: the upstream gradient and the input gradient (the forward output is `output`).
  package var outputGradient: UnsafePointer<T>?
  package var outputGradientStride: Int
  package var inputGradient: UnsafeMutablePointer<T>?
  package var inputGradientStride: Int

  package init(
    scores: UnsafePointer<T>, scoresStride: Int, output: UnsafeMutablePointer<T>,
    outputStride: Int, columns: Int, causal: Bool, queryOffset: Int, lengthDependentScale: Bool,
    logHeadDimension: T, constantScale: T, power: T, offsetRows: Int, epsilon: T,
    outputGradient: UnsafePointer<T>?, outputGradientStride: Int,
    inputGradient: UnsafeMutablePointer<T>?, inputGradientStride: Int
  ) {
    self.scores = scores
    self.scoresStride = scoresStride
    self.output = output
    self.outputStride = outputStride
    self.columns = columns
    self.causal = causal
    self.queryOffset = queryOffset
    self.lengthDependentScale = lengthDependentScale
    self.logHeadDimension = logHeadDimension
    self.constantScale = constantScale
    self.power = power
    self.offsetRows = offsetRows
    self.epsilon = epsilon
    self.outputGradient = outputGradient
    self.outputGradientStride = outputGradientStride
    self.inputGradient = inputGradient
    self.inputGradientStride = inputGradientStride
  }
}

/// The sigmoid-family kernels one ISA module provides for one scalar type.
package final class SigmoidKernelTable<T>: @unchecked Sendable {
  /// `y_i = f(x_i)` for `count` contiguous elements; `y` may equal `x`.
  package var unary:
    (_ op: SigmoidUnaryOperation, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
     _ count: Int, _ a: T, _ b: T) -> Void
  /// `dx_i = g_i f'(...)` from `v` (the input, or the output for `.sigmoidFromOutput`); `dx`
  /// may equal `v` or `g`.
  package var gradient:
    (_ op: SigmoidGradientOperation, _ v: UnsafePointer<T>, _ g: UnsafePointer<T>,
     _ dx: UnsafeMutablePointer<T>, _ count: Int, _ a: T, _ b: T) -> Void
  /// BCE with logits over the flat element range; returns the sum of the losses.
  package var binaryCrossEntropy: (_ batch: BCEBatch<T>, _ elements: Range<Int>) -> Double
  /// `(min, max, containsNaN)` of `count` values (target validation).
  package var range: (_ x: UnsafePointer<T>, _ count: Int) -> (min: T, max: T, nan: Bool)
  /// SigLIP sums over rows `rows` (and the similarity gradient of those rows).
  package var sigLIPRows: (_ batch: SigLIPBatch<T>, _ rows: Range<Int>) -> SigLIPSums
  /// Softplus attention weights of rows `rows`.
  package var softplusAttentionRows: (_ batch: SoftplusAttentionBatch<T>, _ rows: Range<Int>) -> Void
  /// The input gradient of rows `rows` (needs `outputGradient` and `inputGradient`).
  package var softplusAttentionBackwardRows:
    (_ batch: SoftplusAttentionBatch<T>, _ rows: Range<Int>) -> Void

  package init(
    unary: @escaping (SigmoidUnaryOperation, UnsafePointer<T>, UnsafeMutablePointer<T>, Int, T, T) -> Void,
    gradient: @escaping (
      SigmoidGradientOperation, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>, Int, T, T
    ) -> Void,
    binaryCrossEntropy: @escaping (BCEBatch<T>, Range<Int>) -> Double,
    range: @escaping (UnsafePointer<T>, Int) -> (min: T, max: T, nan: Bool),
    sigLIPRows: @escaping (SigLIPBatch<T>, Range<Int>) -> SigLIPSums,
    softplusAttentionRows: @escaping (SoftplusAttentionBatch<T>, Range<Int>) -> Void,
    softplusAttentionBackwardRows: @escaping (SoftplusAttentionBatch<T>, Range<Int>) -> Void
  ) {
    self.unary = unary
    self.gradient = gradient
    self.binaryCrossEntropy = binaryCrossEntropy
    self.range = range
    self.sigLIPRows = sigLIPRows
    self.softplusAttentionRows = softplusAttentionRows
    self.softplusAttentionBackwardRows = softplusAttentionBackwardRows
  }
}
