// Log-softmax of the rows of a matrix and its vector-Jacobian product.

import SoftmaxKernelsCore

/// Log-softmax `(x_i - m) - log S` of a vector or of the rows of a row-major matrix
/// (`m = max_j x_j`, `S = sum_j exp(x_j - m)`), and its vector-Jacobian product.
///
/// Special values, accuracy, reproducibility, layout and threading are those of the family,
/// documented on ``Softmax``; the forms are those of ``RowwiseFunction``. Log-probabilities near
/// 0 keep relative accuracy: the terms below the maximum are summed apart and `log1p` taken of
/// their sum when it is below 2, so the dominant entry of `[30, 0, ..., 0]` (4097 entries) is
/// `-log1p(4096 e^-30)`, not 0.
public enum LogSoftmax: HalfPrecisionRowwiseGradient {
  /// Log-softmax takes ``SoftmaxOptions``.
  public typealias Options = SoftmaxOptions

  /// Log-softmax of each row of `input` into `output` (same shape; may be the input's memory:
  /// in place).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.logSoftmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options)
  }

  /// The vector-Jacobian product of log-softmax, row by row: `dx_i = g_i - exp(z_i) sum_j g_j`
  /// from the forward output `z`. With ``SoftmaxOptions/fullyMaskedRowIsZero``, a row whose `z`
  /// is all `-inf` gets `dx = 0`. `inputGradient` may be `output` or `outputGradient`.
  public static func backward<T: KernelScalar>(
    output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(
      .logSoftmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options)
  }

  /// ``forward(_:into:options:)`` of 16-bit rows (`Float16`, ``BFloat16``) with `Float`
  /// arithmetic, each output rounded once to the 16-bit type (see ``HalfPrecisionStorage``).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.logSoftmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options) {
      H.halfKernels($0).softmax
    }
  }

  /// ``forward(_:into:options:)`` of 16-bit rows with the outputs written as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.logSoftmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options) {
      H.halfKernels($0).softmaxToFloat
    }
  }

  /// The vector-Jacobian product of 16-bit rows, written in their type.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(.logSoftmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options) {
      H.halfKernels($0).softmax
    }
  }

  /// The vector-Jacobian product of 16-bit rows, written as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(.logSoftmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options) {
      H.halfKernels($0).softmaxToFloat
    }
  }
}
