// The interface between the public module and the per-ISA kernel modules for the sigmoid /
// softplus family (sigmoid, log-sigmoid, softplus, BCE with logits, SigLIP, sigmoid and softplus
// attention weights). Not API: the underscored names are public only so that the modules can
// see each other. Arguments are validated by the public module before any table call.

/// An elementwise forward function.
public enum _SigmoidUnaryOperation: Sendable {
  /// `y = sigmoid(a x + b)` (`a = 1, b = 0` for the plain sigmoid).
  case sigmoid
  /// `y = log sigmoid(x)`.
  case logSigmoid
  /// `y = softplus(a x) / a`, or `x` where `a x > b` (`a = beta`, `b = threshold`).
  case softplus
}

/// An elementwise vector-Jacobian product `dx = g f'(...)`.
public enum _SigmoidGradientOperation: Sendable {
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
public struct _BCEBatch<T>: @unchecked Sendable {
  public var logits: UnsafePointer<T>
  public var targets: UnsafePointer<T>
  public var weight: UnsafePointer<T>?
  public var posWeight: UnsafePointer<T>?
  public var columns: Int
  /// Per-element losses (reduction `none`), or `nil`.
  public var losses: UnsafeMutablePointer<T>?
  /// Whether the caller uses the sum of the losses (the kernel always returns it).
  public var sumLosses: Bool
  /// `dx_i = gradientScale * upstream_i * dloss_i/dx_i` when not `nil`.
  public var inputGradient: UnsafeMutablePointer<T>?
  /// Per-element upstream gradient (reduction `none`), or `nil` for 1.
  public var upstream: UnsafePointer<T>?
  public var gradientScale: T

  public init(
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
public struct _SigLIPBatch<T>: @unchecked Sendable {
  public var similarities: UnsafePointer<T>
  public var rowStride: Int
  public var columns: Int
  public var hasPositives: Bool
  public var positiveOffset: Int
  /// `t = exp(t')`.
  public var temperature: T
  public var bias: T
  /// `ds_ij = gradientScale * q_ij` when not `nil`, `q_ij = -z_ij sigmoid(-z_ij l_ij)`.
  public var similarityGradient: UnsafeMutablePointer<T>?
  public var gradientRowStride: Int
  public var gradientScale: T

  public init(
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
public struct _SigLIPSums: Sendable {
  public var loss: Double
  public var q: Double
  public var qs: Double

  public init(loss: Double = 0, q: Double = 0, qs: Double = 0) {
    self.loss = loss
    self.q = q
    self.qs = qs
  }

  public mutating func add(_ other: _SigLIPSums) {
    loss += other.loss
    q += other.q
    qs += other.qs
  }
}

/// One call of the softplus-attention kernel (LSSA / LSSAR) over rows of a score matrix.
/// Row `i` (0-based) is query `i + queryOffset`; with `causal` it sees the keys
/// `0 ... i + queryOffset` (`N_i` of them), otherwise all `columns` keys (`N_i = columns`).
public struct _SoftplusAttentionBatch<T>: @unchecked Sendable {
  public var scores: UnsafePointer<T>
  public var scoresStride: Int
  public var output: UnsafeMutablePointer<T>
  public var outputStride: Int
  public var columns: Int
  public var causal: Bool
  public var queryOffset: Int
  /// `c_i = logHeadDimension * log(N_i)` when `lengthDependentScale`, else `constantScale`.
  public var lengthDependentScale: Bool
  public var logHeadDimension: T
  public var constantScale: T
  /// LSSAR power `p`; 0 for plain LSSA.
  public var power: T
  /// Queries with index below `offsetRows` use `O = 0` in the re-weighting, the others `O = 1`.
  public var offsetRows: Int
  public var epsilon: T
  /// Backward only: the upstream gradient and the input gradient (the forward output is `output`).
  public var outputGradient: UnsafePointer<T>?
  public var outputGradientStride: Int
  public var inputGradient: UnsafeMutablePointer<T>?
  public var inputGradientStride: Int

  public init(
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
public struct _SigmoidKernelTable<T>: @unchecked Sendable {
  public var level: ISALevel
  /// `y_i = f(x_i)` for `count` contiguous elements; `y` may equal `x`.
  public var unary:
    (_ op: _SigmoidUnaryOperation, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
     _ count: Int, _ a: T, _ b: T) -> Void
  /// `dx_i = g_i f'(...)` from `v` (the input, or the output for `.sigmoidFromOutput`); `dx`
  /// may equal `v` or `g`.
  public var gradient:
    (_ op: _SigmoidGradientOperation, _ v: UnsafePointer<T>, _ g: UnsafePointer<T>,
     _ dx: UnsafeMutablePointer<T>, _ count: Int, _ a: T, _ b: T) -> Void
  /// BCE with logits over the flat element range; returns the sum of the losses.
  public var binaryCrossEntropy: (_ batch: _BCEBatch<T>, _ elements: Range<Int>) -> Double
  /// `(min, max, containsNaN)` of `count` values (target validation).
  public var range: (_ x: UnsafePointer<T>, _ count: Int) -> (min: T, max: T, nan: Bool)
  /// SigLIP sums over rows `rows` (and the similarity gradient of those rows).
  public var sigLIPRows: (_ batch: _SigLIPBatch<T>, _ rows: Range<Int>) -> _SigLIPSums
  /// Softplus attention weights of rows `rows`.
  public var softplusAttentionRows: (_ batch: _SoftplusAttentionBatch<T>, _ rows: Range<Int>) -> Void
  /// The input gradient of rows `rows` (needs `outputGradient` and `inputGradient`).
  public var softplusAttentionBackwardRows:
    (_ batch: _SoftplusAttentionBatch<T>, _ rows: Range<Int>) -> Void
  /// Test hooks: the vector `log1p` on [0, 1], `log`, and `exp` with gradual underflow (x <= 0).
  public var log1pUnit: (_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) -> Void
  public var log: (_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) -> Void
  public var expNegative: (_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) -> Void

  public init(
    level: ISALevel,
    unary: @escaping (_SigmoidUnaryOperation, UnsafePointer<T>, UnsafeMutablePointer<T>, Int, T, T) -> Void,
    gradient: @escaping (
      _SigmoidGradientOperation, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>, Int, T, T
    ) -> Void,
    binaryCrossEntropy: @escaping (_BCEBatch<T>, Range<Int>) -> Double,
    range: @escaping (UnsafePointer<T>, Int) -> (min: T, max: T, nan: Bool),
    sigLIPRows: @escaping (_SigLIPBatch<T>, Range<Int>) -> _SigLIPSums,
    softplusAttentionRows: @escaping (_SoftplusAttentionBatch<T>, Range<Int>) -> Void,
    softplusAttentionBackwardRows: @escaping (_SoftplusAttentionBatch<T>, Range<Int>) -> Void,
    log1pUnit: @escaping (UnsafePointer<T>, UnsafeMutablePointer<T>, Int) -> Void,
    log: @escaping (UnsafePointer<T>, UnsafeMutablePointer<T>, Int) -> Void,
    expNegative: @escaping (UnsafePointer<T>, UnsafeMutablePointer<T>, Int) -> Void
  ) {
    self.level = level
    self.unary = unary
    self.gradient = gradient
    self.binaryCrossEntropy = binaryCrossEntropy
    self.range = range
    self.sigLIPRows = sigLIPRows
    self.softplusAttentionRows = softplusAttentionRows
    self.softplusAttentionBackwardRows = softplusAttentionBackwardRows
    self.log1pUnit = log1pUnit
    self.log = log
    self.expNegative = expNegative
  }
}
