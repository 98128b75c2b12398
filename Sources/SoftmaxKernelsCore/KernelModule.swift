// What each ISA module exports, and the one way to pick a scalar type's tables from it.

/// The kernels one ISA module provides for one scalar type, by family.
package final class KernelSet<T: BinaryFloatingPoint & BitwiseCopyable>: Sendable {
  package let softmax: SoftmaxKernelTable<T, T>
  package let losses: LossKernelTable<T>
  package let sigmoid: SigmoidKernelTable<T>

  package init(
    softmax: SoftmaxKernelTable<T, T>, losses: LossKernelTable<T>, sigmoid: SigmoidKernelTable<T>
  ) {
    self.softmax = softmax
    self.losses = losses
    self.sigmoid = sigmoid
  }
}

/// The kernels one ISA module provides for a 16-bit storage type `H` (`Float16`, `BFloat16`),
/// which they read and write with `Float` arithmetic inside: outputs in `H`, or in `Float`.
package final class HalfKernelSet<H: BitwiseCopyable>: @unchecked Sendable {
  package let softmax: SoftmaxKernelTable<H, H>
  package let softmaxToFloat: SoftmaxKernelTable<H, Float>
  /// Cross-entropy rows of 16-bit logits (gradient in the logits' type), everything else Float.
  package let crossEntropyRows: (_ batch: CrossEntropyBatch<H, Float>, _ rows: Range<Int>) -> LossPartial
  /// Sigmoid, log-sigmoid, softplus and their gradients, outputs in `H`.
  package let elementwise: ElementwiseKernels<H, H, Float>
  /// The same with outputs in `Float`.
  package let elementwiseToFloat: ElementwiseKernels<H, Float, Float>
  /// BCE with 16-bit logits (gradient in `H`), everything else `Float`.
  package let binaryCrossEntropy: (_ batch: BCEBatch<H, Float>, _ elements: Range<Int>) -> Double
  /// SigLIP rows of 16-bit similarities (gradient in `H`).
  package let sigLIPRows: (_ batch: SigLIPBatch<H, Float>, _ rows: Range<Int>) -> SigLIPSums
  /// Spherical Z-loss rows of 16-bit logits (gradient in the logits' type), everything else Float.
  package let zLossRows: (_ batch: ZLossBatch<H, Float>, _ rows: Range<Int>) -> LossPartial
  /// StableMax rows of 16-bit input: forward outputs and cross-entropy gradient in `H`.
  package let stableMaxRows: (_ batch: StableMaxBatch<H, H, Float>, _ rows: Range<Int>) -> LossPartial
  /// StableMax rows of 16-bit input with the forward outputs written as `Float`.
  package let stableMaxToFloatRows: (_ batch: StableMaxBatch<H, Float, Float>, _ rows: Range<Int>) -> LossPartial
  /// Softplus attention of 16-bit scores: weights in `H`, or in `Float`.
  package let softplusAttentionRows: (_ batch: SoftplusAttentionBatch<H, H, H, Float>, _ rows: Range<Int>) -> Void
  package let softplusAttentionToFloatRows:
    (_ batch: SoftplusAttentionBatch<H, Float, Float, Float>, _ rows: Range<Int>) -> Void
  /// Its backward from 16-bit scores, output and upstream gradient: input gradient in `H`, or
  /// in `Float`.
  package let softplusAttentionBackwardRows:
    (_ batch: SoftplusAttentionBatch<H, H, H, Float>, _ rows: Range<Int>) -> Void
  package let softplusAttentionBackwardToFloatRows:
    (_ batch: SoftplusAttentionBatch<H, H, Float, Float>, _ rows: Range<Int>) -> Void
  /// Linear layer + cross-entropy of 16-bit embeddings and classifier (gradients in `H`).
  package let linearCrossEntropy: LinearCrossEntropyKernels<H>

  package init(
    softmax: SoftmaxKernelTable<H, H>, softmaxToFloat: SoftmaxKernelTable<H, Float>,
    crossEntropyRows: @escaping (CrossEntropyBatch<H, Float>, Range<Int>) -> LossPartial,
    elementwise: ElementwiseKernels<H, H, Float>, elementwiseToFloat: ElementwiseKernels<H, Float, Float>,
    binaryCrossEntropy: @escaping (BCEBatch<H, Float>, Range<Int>) -> Double,
    sigLIPRows: @escaping (SigLIPBatch<H, Float>, Range<Int>) -> SigLIPSums,
    zLossRows: @escaping (ZLossBatch<H, Float>, Range<Int>) -> LossPartial,
    stableMaxRows: @escaping (StableMaxBatch<H, H, Float>, Range<Int>) -> LossPartial,
    stableMaxToFloatRows: @escaping (StableMaxBatch<H, Float, Float>, Range<Int>) -> LossPartial,
    softplusAttentionRows: @escaping (SoftplusAttentionBatch<H, H, H, Float>, Range<Int>) -> Void,
    softplusAttentionToFloatRows: @escaping (SoftplusAttentionBatch<H, Float, Float, Float>, Range<Int>) -> Void,
    softplusAttentionBackwardRows: @escaping (SoftplusAttentionBatch<H, H, H, Float>, Range<Int>) -> Void,
    softplusAttentionBackwardToFloatRows: @escaping (SoftplusAttentionBatch<H, H, Float, Float>, Range<Int>) -> Void,
    linearCrossEntropy: LinearCrossEntropyKernels<H>
  ) {
    self.softmax = softmax
    self.softmaxToFloat = softmaxToFloat
    self.crossEntropyRows = crossEntropyRows
    self.elementwise = elementwise
    self.elementwiseToFloat = elementwiseToFloat
    self.binaryCrossEntropy = binaryCrossEntropy
    self.sigLIPRows = sigLIPRows
    self.zLossRows = zLossRows
    self.stableMaxRows = stableMaxRows
    self.stableMaxToFloatRows = stableMaxToFloatRows
    self.softplusAttentionRows = softplusAttentionRows
    self.softplusAttentionToFloatRows = softplusAttentionToFloatRows
    self.softplusAttentionBackwardRows = softplusAttentionBackwardRows
    self.softplusAttentionBackwardToFloatRows = softplusAttentionBackwardToFloatRows
    self.linearCrossEntropy = linearCrossEntropy
  }
}

/// A contiguous vector function `y_i = f(x_i)`, `i < count`.
package typealias VectorFunction<T> = (_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) -> Void

/// The vector functions inside the kernels, alone, so that the tests can measure their error
/// over every exponent. No public entry point uses this table.
package final class VectorFunctionHooks<T>: @unchecked Sendable {
  /// `exp(x)` for `x <= 0` with the kernels' exponential (results below the smallest normal
  /// number flushed to 0).
  package var expNonPositive: VectorFunction<T>
  /// `exp(-d)` for `d >= 0`, the mirrored form the exp passes use at x86-64-v3 and v4 (bitwise
  /// `expNonPositive(-d)`).
  package var expOfNegated: VectorFunction<T>
  /// `exp(x)` for `x <= 0` with gradual underflow (sigmoid family).
  package var expNegative: VectorFunction<T>
  /// `log(x)` for `x > 0`.
  package var log: VectorFunction<T>
  /// `log1p(x)` for `x` in [0, 1].
  package var log1pUnit: VectorFunction<T>

  package init(
    expNonPositive: @escaping VectorFunction<T>, expOfNegated: @escaping VectorFunction<T>,
    expNegative: @escaping VectorFunction<T>, log: @escaping VectorFunction<T>,
    log1pUnit: @escaping VectorFunction<T>
  ) {
    self.expNonPositive = expNonPositive
    self.expOfNegated = expOfNegated
    self.expNegative = expNegative
    self.log = log
    self.log1pUnit = log1pUnit
  }
}

/// What an ISA module (baseline, x86-64-v3, x86-64-v4) exports: the same kernel source
/// compiled for its level.
package protocol KernelModule {
  static var float: KernelSet<Float> { get }
  static var double: KernelSet<Double> { get }
  static var floatHooks: VectorFunctionHooks<Float> { get }
  static var doubleHooks: VectorFunctionHooks<Double> { get }
  static var bfloat16: HalfKernelSet<BFloat16> { get }
  /// Linear layer + cross-entropy without the logits (Float).
  static var linearCrossEntropy: LinearCrossEntropyKernels<Float> { get }
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  static var float16: HalfKernelSet<Float16> { get }
  #endif
}

extension KernelModule {
  /// The kernels for `T` (`Float` or `Double`). The bit casts are between identical types
  /// (`KernelSet<Float>` and `KernelSet<T>` with `T == Float`): no boxing and no dynamic cast
  /// on the per-call path.
  package static func kernels<T: BinaryFloatingPoint & BitwiseCopyable>(_: T.Type) -> KernelSet<T> {
    if T.self == Float.self { return unsafeBitCast(float, to: KernelSet<T>.self) }
    guard T.self == Double.self else { unsupported(T.self) }
    return unsafeBitCast(double, to: KernelSet<T>.self)
  }

  /// The test hooks for `T` (`Float` or `Double`).
  package static func hooks<T>(_: T.Type) -> VectorFunctionHooks<T> {
    if T.self == Float.self { return unsafeBitCast(floatHooks, to: VectorFunctionHooks<T>.self) }
    guard T.self == Double.self else { unsupported(T.self) }
    return unsafeBitCast(doubleHooks, to: VectorFunctionHooks<T>.self)
  }
}

extension KernelModule {
  /// The kernels for the 16-bit storage type `H` (`BFloat16` or `Float16`).
  package static func halfKernels<H: BitwiseCopyable>(_: H.Type) -> HalfKernelSet<H> {
    if H.self == BFloat16.self { return unsafeBitCast(bfloat16, to: HalfKernelSet<H>.self) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    if H.self == Float16.self { return unsafeBitCast(float16, to: HalfKernelSet<H>.self) }
    #endif
    unsupported(H.self)
  }
}

private func unsupported(_ type: Any.Type) -> Never {
  preconditionFailure("the kernels are compiled for Float, Double, Float16 and BFloat16 only, not \(type)")
}
