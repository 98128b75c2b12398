// The SigLIP pairwise sigmoid loss (Zhai et al. 2023) and its gradients.

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
/// `B` is the batch size (default `rows`): the sum runs over `j` and the mean over `i`. The
/// published initialisation is `t' = log 10`, `b = -10` (the defaults). A square block with
/// `positiveOffset = 0` is the single-device loss; the chunked multi-device variant calls this
/// once per block, with `positiveOffset: nil` (all negatives) for blocks of other devices'
/// texts, and adds the results.
///
/// From embeddings: with `X` (images) and `Y` (texts) L2-normalised row-wise, `S = X Y^T` is
/// one matrix product (use a BLAS / GEMM), and the embedding gradients are two more,
/// `dL/dX = (dL/dS) Y` and `dL/dY = (dL/dS)^T X`, from the `dL/ds` this function writes (then
/// back through the normalisation). The kernel does not compute the products itself.
///
/// Nothing of size `rows x columns` is allocated: one streaming pass over the similarities
/// computes the loss, `dL/dt'` and `dL/db`, and writes `dL/ds` when `similarityGradient` is
/// given (which may be the similarities buffer itself). Each pair costs one exponential, one
/// logarithm and one division.
///
/// **Accuracy** (`SigLIPTests`, against a Float80 evaluation of the formula, Float kernels):
/// the loss within 1e-6 relative, `dL/dt'` and `dL/db` within 1e-6 of the sum of the magnitudes
/// of their terms (they are sums of terms of both signs), for blocks up to 1024 x 1024 (sums in
/// Double across 4096-element windows); `dL/ds_ij` within `2 (8 + |l_ij|)` units of 2^-24
/// relative, the `|l_ij|` from rounding the pre-activation `t s + b` to Float.
///
/// **Edge cases**: `rows = 1` leaves one positive pair (and `columns - 1` negatives); huge
/// `t` gives huge `|l|`, handled without overflow (`softplus` form); NaN similarities propagate
/// to the loss and gradients. An empty block gives loss 0.
///
/// - Complexity: O(rows x columns); rows are spread over `ExecutionOptions.threads` threads.
public enum SigLIP {
  /// The published initial log-temperature, `log 10`.
  public static var defaultLogTemperature: Double { 2.302585092994046 }
  /// The published initial bias, `-10`.
  public static var defaultBias: Double { -10 }

  /// The loss and its gradients with respect to the two scalar parameters.
  public struct Result<T: KernelScalar>: Sendable, Equatable {
    /// The loss `L` itself (not multiplied by `lossGradient`).
    public var loss: T
    /// `dL/dt'` (times `lossGradient`).
    public var logTemperatureGradient: T
    /// `dL/db` (times `lossGradient`).
    public var biasGradient: T
  }
}

extension SigLIP {
  /// The SigLIP loss of a block of similarities, `dL/dt'`, `dL/db`, and optionally `dL/ds`.
  ///
  /// - Parameters:
  ///   - similarities: row `i` starts at `i * rowStride` (`rowStride` defaults to `columns`).
  ///   - rows: the number of images `i` in the block.
  ///   - columns: the number of texts `j` in the block.
  ///   - rowStride: elements from one row's start to the next; default `columns`.
  ///   - logTemperature: `t'`, the temperature being `t = e^t'`; default `log 10`. Finite.
  ///   - bias: `b`; default -10. Finite.
  ///   - positiveOffset: row `i`'s positive pair is column `i + positiveOffset`; `nil` makes
  ///     every pair a negative. Default 0 (the diagonal).
  ///   - batchSize: the `B` the loss is divided by; default `rows`.
  ///   - lossGradient: the upstream gradient of `L`; every gradient is multiplied by it.
  ///   - similarityGradient: receives `dL/ds_ij`; may be `similarities` with the same stride.
  ///   - gradientRowStride: the row stride of `similarityGradient`; default `columns`.
  ///   - options: threads and instruction-set level.
  public static func loss<T: KernelScalar>(
    similarities: UnsafeBufferPointer<T>, rows: Int, columns: Int, rowStride: Int? = nil,
    logTemperature: T = T(2.302585092994046), bias: T = -10, positiveOffset: Int? = 0,
    batchSize: Int? = nil, lossGradient: T = 1,
    similarityGradient: UnsafeMutableBufferPointer<T>? = nil, gradientRowStride: Int? = nil,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> Result<T> {
    let layout = try RowLayout.input(
      similarities, rows: rows, columns: columns, stride: rowStride, "similarities", strideArgument: "rowStride")
    var gradientLayout = layout
    if let similarityGradient {
      gradientLayout = try RowLayout.output(
        similarityGradient, rows: rows, columns: columns, stride: gradientRowStride, "similarityGradient",
        strideArgument: "gradientRowStride", reading: (similarities, layout))
    }
    guard logTemperature.isFinite else {
      throw .invalidArgument(argument: "logTemperature", reason: "\(logTemperature) is not finite")
    }
    guard bias.isFinite else { throw .invalidArgument(argument: "bias", reason: "\(bias) is not finite") }
    let b = batchSize ?? rows
    guard b > 0 || rows == 0 else {
      throw .invalidArgument(argument: "batchSize", reason: "\(b) is not positive")
    }
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)
    let t = T(exp(Double(logTemperature)))
    guard t.isFinite else {
      throw .invalidArgument(argument: "logTemperature", reason: "exp(\(logTemperature)) overflows")
    }
    guard rows > 0, columns > 0, let s = similarities.baseAddress else {
      return Result(loss: 0, logTemperatureGradient: 0, biasGradient: 0)
    }
    let invB = 1 / Double(b)
    let batch = SigLIPBatch<T>(
      similarities: s, rowStride: layout.stride, columns: columns,
      hasPositives: positiveOffset != nil, positiveOffset: positiveOffset ?? 0, temperature: t,
      bias: bias, similarityGradient: similarityGradient?.baseAddress,
      gradientRowStride: gradientLayout.stride,
      gradientScale: T(Double(t) * invB * Double(lossGradient)))
    let table = T.kernels(plan.level).sigmoid
    let sums = plan.mapRowGroups(rows, columns: columns, { $0.add($1) }) {
      table.sigLIPRows(batch, $0)
    }
    let g = Double(lossGradient)
    return Result(
      loss: T(sums.loss * invB),
      logTemperatureGradient: T(Double(t) * sums.qs * invB * g),
      biasGradient: T(sums.q * invB * g))
  }

  /// The loss of a square `count x count` similarity matrix (positives on the diagonal).
  public static func loss<T: KernelScalar>(
    similarities: [T], count: Int, logTemperature: T = T(2.302585092994046), bias: T = -10,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> Result<T> {
    try checkSquare(similarities.count, count)
    return try similarities.withUnsafeBufferPointer { (s) throws(SoftmaxKernelsError) in
      try loss(
        similarities: s, rows: count, columns: count, logTemperature: logTemperature, bias: bias,
        options: options)
    }
  }

  /// The loss of a square similarity matrix and all three gradients (`dL/ds` as an array).
  public static func lossAndGradient<T: KernelScalar>(
    similarities: [T], count: Int, logTemperature: T = T(2.302585092994046), bias: T = -10,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> (result: Result<T>, similarityGradient: [T]) {
    try checkSquare(similarities.count, count)
    var result = Result<T>(loss: .nan, logTemperatureGradient: .nan, biasGradient: .nan)
    let gradient = try Sigmoid.map(similarities) { (s, ds) throws(SoftmaxKernelsError) in
      result = try loss(
        similarities: s, rows: count, columns: count, logTemperature: logTemperature, bias: bias,
        similarityGradient: ds, options: options)
    }
    return (result, gradient)
  }

  static func checkSquare(_ n: Int, _ count: Int) throws(SoftmaxKernelsError) {
    guard count >= 0, count.multipliedReportingOverflow(by: count) == (n, false) else {
      throw .invalidArgument(
        argument: "count", reason: "\(n) similarities are not a \(count) x \(count) matrix")
    }
  }
}
