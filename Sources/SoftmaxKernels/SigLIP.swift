// The SigLIP pairwise sigmoid loss (Zhai et al. 2023) and its gradients: the namespace, the
// buffer forms and the kernel call. Span and Array forms: SigLIP+Span.swift.

import Foundation
import SoftmaxKernelsCore

/// The pairwise sigmoid loss of SigLIP: Zhai, Mustafa, Kolesnikov & Beyer, "Sigmoid Loss for
/// Language Image Pre-Training" (ICCV 2023, arXiv:2303.15343), as in big_vision's trainer
/// (`big_vision/trainers/proj/image_text/siglip.py`).
///
/// For a `rows x columns` block of similarities `s_ij = <x_i, y_j>` (cosines of L2-normalised
/// image and text embeddings), a learnable log-temperature `t'` (`t = e^t'`) and bias `b`:
///
///     l_ij = t s_ij + b,   z_ij = +1 for the positive pair (j = i + positiveOffset), else -1
///     L    = -(1/B) sum_ij log sigmoid(z_ij l_ij) = (1/B) sum_ij softplus(-z_ij l_ij)
///     dL/dl_ij = -(1/B) z_ij sigmoid(-z_ij l_ij)
///     dL/ds_ij = t dL/dl_ij,   dL/db = sum_ij dL/dl_ij,   dL/dt' = t sum_ij dL/dl_ij s_ij
///
/// `B` is the batch size (`SigLIPOptions/batchSize`, default `rows`): the sum runs over `j`
/// and the mean over `i`. The published initialisation is `t' = log 10`, `b = -10` (the
/// defaults). A square block with `positiveOffset = 0` (`SigLIPOptions`, the default) is the
/// single-device loss; the chunked multi-device variant calls this once per block, with
/// `positiveOffset: nil` (all negatives) for blocks of other devices' texts, and adds the
/// results. Every row has exactly one positive pair in the block, so `positiveOffset` is in
/// `0...(columns - rows)`: 0 for a square block; `d * rows` when the block holds the texts of
/// `D` devices side by side (`columns = D rows`) and the positives are those of device `d`.
///
/// From embeddings: with `X` (images) and `Y` (texts) L2-normalised row-wise, `S = X Y^T` is
/// one matrix product (use a BLAS / GEMM), and the embedding gradients are two more,
/// `dL/dX = (dL/dS) Y` and `dL/dY = (dL/dS)^T X`, from the `dL/ds` this function writes (then
/// back through the normalisation). The kernel does not compute the products itself.
///
/// Nothing of size `rows x columns` is allocated: one streaming pass over the similarities
/// computes the loss (`loss`), or the loss, `dL/dt'`, `dL/db` and `dL/ds` (`lossAndGradient`,
/// whose `gradient` may be the similarities' memory itself). Each pair costs one exponential,
/// one logarithm and one division.
///
/// Every function has three forms: `Rows` / `MutableRows` (strided, nothing allocated), `Span`
/// / `inout MutableSpan` with `columns`, and `Array` with `columns` (returning the gradient).
///
/// **Accuracy** (`SigLIPTests`, against a Float80 evaluation of the formula, Float kernels):
/// the loss within 1e-6 relative, `dL/dt'` and `dL/db` within 1e-6 of the sum of the magnitudes
/// of their terms (they are sums of terms of both signs), for blocks up to 1024 x 1024 (sums in
/// Double across 4096-element windows); `dL/ds_ij` within `2 (8 + |l_ij|)` units of 2^-24
/// relative, the `|l_ij|` from rounding the pre-activation `t s + b` to Float.
///
/// **Edge cases**: `rows = 1` leaves one positive pair (and `columns - 1` negatives); huge
/// `t` gives huge `|l|`, handled without overflow (`softplus` form); NaN similarities propagate
/// to the loss and gradients. A block without rows gives loss 0 (and zero gradients).
///
/// **Errors** (`SoftmaxKernelsError`, thrown before anything is written): a bad layout of the
/// similarities or the gradient, a gradient of another shape or overlapping the similarities
/// other than exactly (in place), a non-finite `t'`, `e^t'` or `b`, a `positiveOffset` outside
/// `0...(columns - rows)` (`invalidArgument("positiveOffset")`), a batch size below 1.
///
/// **16-bit similarities** (`Float16`, ``BFloat16``): the strided forms take them with `Float`
/// parameters; the loss and the gradients of `t'` and `b` are bitwise those of the similarities
/// widened to `Float`, and the similarity gradient is written in their type, rounded once.
///
/// - Complexity: O(rows x columns); rows are spread over `ExecutionOptions.threads` threads.
public enum SigLIP {
  /// The published initial log-temperature, `log 10`.
  public static var defaultLogTemperature: Double { 2.302585092994046 }
  /// The published initial bias, `-10`.
  public static var defaultBias: Double { -10 }
}

// MARK: - Buffers

extension SigLIP {
  /// The SigLIP loss of a block of similarities.
  ///
  /// - Parameters:
  ///   - similarities: `s`, `rows` images `i` by `columns` texts `j`, rows `rowStride` apart.
  ///   - logTemperature: `t'`, the temperature being `t = e^t'`; default `log 10`. Finite, and
  ///     `e^t'` finite in `T`.
  ///   - bias: `b`; default -10. Finite.
  ///   - options: the positive pairs (`SigLIPOptions/positiveOffset`, in
  ///     `0...(columns - rows)` or `nil`), the batch size `B` (default `rows`), threads and
  ///     instruction-set level.
  /// - Returns: `loss`, `L`; the gradients are `nil`. A block without rows gives 0.
  /// - Throws: `SoftmaxKernelsError` for a bad layout, a non-finite `t'`, `e^t'` or `b`, a
  ///   `positiveOffset` outside `0...(columns - rows)`, a batch size below 1.
  public static func loss<T: KernelScalar>(
    similarities: Rows<T>, logTemperature: T = T(defaultLogTemperature), bias: T = T(defaultBias),
    options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(similarities, nil, Parameters(logTemperature, bias, 1), options)
  }

  /// The SigLIP loss of a block of similarities and its three gradients, in one pass:
  /// `lossGradient` times `dL/ds` written to `gradient` (the shape of `similarities`; it may
  /// be the same rows, in place, but must not overlap them otherwise), and `lossGradient`
  /// times `dL/dt'` and `dL/db` in the result. `lossGradient` is the upstream gradient of `L`
  /// (default 1); the other arguments are those of
  /// `loss(similarities:logTemperature:bias:options:)`.
  ///
  /// - Returns: `loss` (`L` itself, not multiplied by `lossGradient`),
  ///   `logTemperatureGradient` and `biasGradient`.
  /// - Throws: the errors of `loss(similarities:logTemperature:bias:options:)`, and for a
  ///   `gradient` of another shape, too small for its stride, or overlapping the similarities
  ///   other than exactly; nothing is written then.
  public static func lossAndGradient<T: KernelScalar>(
    similarities: Rows<T>, logTemperature: T = T(defaultLogTemperature), bias: T = T(defaultBias),
    lossGradient: T = 1, gradient: MutableRows<T>, options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(similarities, gradient, Parameters(logTemperature, bias, lossGradient), options)
  }
}

// MARK: - Implementation

extension SigLIP {
  /// The scalar arguments of a call.
  struct Parameters<T> {
    var logTemperature: T, bias: T, lossGradient: T

    init(_ logTemperature: T, _ bias: T, _ lossGradient: T) {
      (self.logTemperature, self.bias, self.lossGradient) = (logTemperature, bias, lossGradient)
    }
  }

  /// Checks the arguments and runs the kernel; the result has the gradients with respect to
  /// `t'` and `b` when `gradient` is given.
  static func run<T: KernelScalar>(
    _ similarities: Rows<T>, _ gradient: MutableRows<T>?, _ p: Parameters<T>, _ options: SigLIPOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(similarities, gradient, p, options) { T.kernels($0).sigmoid.sigLIPRows }
  }

  /// `run` for similarities (and their gradient) stored as `X`, computed in `T` by the kernel
  /// `kernel(level)`.
  static func run<X, T: KernelScalar>(
    _ similarities: Rows<X>, _ gradient: MutableRows<X>?, _ p: Parameters<T>, _ options: SigLIPOptions,
    kernel: (ISALevel) -> (SigLIPBatch<X, T>, Range<Int>) -> SigLIPSums
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let (rows, columns) = (similarities.rows, similarities.columns)
    let layout = try RowLayout.input(
      similarities.buffer, rows: rows, columns: columns, stride: similarities.rowStride, "similarities",
      strideArgument: "similarities.rowStride")
    var gradientLayout = layout
    if let gradient {
      guard gradient.rows == rows, gradient.columns == columns else {
        throw .invalidArgument(
          argument: "gradient",
          reason: "\(gradient.rows) x \(gradient.columns), the similarities are \(rows) x \(columns)")
      }
      gradientLayout = try RowLayout.output(
        gradient.buffer, rows: rows, columns: columns, stride: gradient.rowStride, "gradient",
        strideArgument: "gradient.rowStride", reading: (similarities.buffer, layout))
    }
    let (logTemperature, bias) = (p.logTemperature, p.bias)
    guard logTemperature.isFinite else {
      throw .invalidArgument(argument: "logTemperature", reason: "\(logTemperature) is not finite")
    }
    guard bias.isFinite else { throw .invalidArgument(argument: "bias", reason: "\(bias) is not finite") }
    if let offset = options.positiveOffset, offset < 0 || offset > columns - rows {
      throw .invalidArgument(
        argument: "positiveOffset",
        reason: "\(offset) puts a row's positive pair outside the \(rows) x \(columns) block: "
          + (rows > columns ? "no offset fits (use nil)" : "valid is 0...\(columns - rows)"))
    }
    let b = options.batchSize ?? rows
    guard b > 0 || rows == 0 else {
      throw .invalidArgument(argument: "batchSize", reason: "\(b) is not positive")
    }
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    let t = T(exp(Double(logTemperature)))
    guard t.isFinite else {
      throw .invalidArgument(argument: "logTemperature", reason: "exp(\(logTemperature)) overflows")
    }
    let hasGradient = gradient != nil
    guard rows > 0, columns > 0, let s = similarities.buffer.baseAddress else {
      return LossResult(loss: 0, logTemperatureGradient: hasGradient ? 0 : nil, biasGradient: hasGradient ? 0 : nil)
    }
    let invB = 1 / Double(b)
    var batch = SigLIPBatch<X, T>(similarities: s, rowStride: layout.stride, columns: columns)
    batch.hasPositives = options.positiveOffset != nil
    batch.positiveOffset = options.positiveOffset ?? 0
    batch.temperature = t
    batch.bias = bias
    batch.similarityGradient = gradient?.buffer.baseAddress
    batch.gradientRowStride = gradientLayout.stride
    batch.gradientScale = T(Double(t) * invB * Double(p.lossGradient))
    let rowsKernel = kernel(plan.level)
    let sums = plan.mapRowGroups(rows, columns: columns, { $0.add($1) }) { rowsKernel(batch, $0) }
    let g = Double(p.lossGradient)
    return LossResult(
      loss: T(sums.loss * invB),
      logTemperatureGradient: hasGradient ? T(Double(t) * sums.qs * invB * g) : nil,
      biasGradient: hasGradient ? T(sums.q * invB * g) : nil)
  }
}
