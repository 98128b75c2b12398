// Linear + cross-entropy of 16-bit embeddings and classifier (Float16, BFloat16).

extension LinearCrossEntropy {
  /// The cross-entropy of `embeddings classifier^T + bias` stored in a 16-bit type (`Float16`,
  /// ``BFloat16``; the bias in the same type), in `Float`: every element is read exactly as
  /// `Float` and everything is computed as for `Float` inputs (same options, tiles, edge cases
  /// and bounds, see ``LinearCrossEntropy``). Each class block's classifier rows are widened
  /// into the thread's scratch, which also holds a class block's gradient sums: `4 x 256 (2 D +
  /// 1)` bytes more per thread than with `Float` inputs (2 MiB at `D = 1024`).
  public static func loss<H: HalfPrecisionStorage>(
    embeddings: Rows<H>, classifier: Rows<H>, bias: UnsafeBufferPointer<H>? = nil,
    targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<Float>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(
      embeddings, classifier, bias, targets, options, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      gradients: nil, kernels: { H.halfKernels($0).linearCrossEntropy })
  }

  /// The loss of 16-bit inputs and its gradients, written in the inputs' type: every gradient
  /// entry is summed in `Float` over all its terms and rounded once (to nearest even). The
  /// classifier's and the bias gradients of a class block are summed in the thread's scratch
  /// (the scratch of `loss`), the embeddings' gradient in one `Float` buffer of `N x D` entries:
  /// `4 N D` bytes beyond inputs and outputs, the price of rounding once (32 MiB at `N = 8192`,
  /// `D = 1024`; independent of `V`). The backward tiles then run in bands of
  /// class blocks (thread `k` on class block `b + k`, one token block behind thread `k - 1`):
  /// the outputs are still bitwise the same for every thread count.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    embeddings: Rows<H>, classifier: Rows<H>, bias: UnsafeBufferPointer<H>? = nil,
    targets: UnsafeBufferPointer<Int>, lossGradient: Float = 1, embeddingsGradient: MutableRows<H>,
    classifierGradient: MutableRows<H>, biasGradient: UnsafeMutableBufferPointer<H>? = nil,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let gradients = LinearCrossEntropyGradientOutputs(
      embeddings: embeddingsGradient, classifier: classifierGradient, bias: biasGradient,
      lossGradient: lossGradient)
    return try run(
      embeddings, classifier, bias, targets, options, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      gradients: gradients, kernels: { H.halfKernels($0).linearCrossEntropy })
  }

  /// The loss of contiguous row-major 16-bit `embeddings` (`N x dimension`) and `classifier`
  /// (`V x dimension`).
  public static func loss<H: HalfPrecisionStorage>(
    embeddings: [H], classifier: [H], dimension: Int, bias: [H]? = nil, targets: [Int],
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try withMatrices(embeddings, classifier, dimension, bias, targets) { (e, c, b, y) throws(SoftmaxKernelsError) in
      try loss(embeddings: e, classifier: c, bias: b, targets: y, options: options)
    }
  }

  /// The loss and every gradient, in the inputs' 16-bit type, of contiguous row-major
  /// `embeddings` and `classifier` (the bias gradient even without a bias).
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    embeddings: [H], classifier: [H], dimension: Int, bias: [H]? = nil, targets: [Int],
    lossGradient: Float = 1, options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LinearCrossEntropyGradients<H> {
    try arrayGradients(embeddings, classifier, dimension, bias, targets, lossGradient) {
      (e, c, b, y, g) throws(SoftmaxKernelsError) in
      try run(
        e, c, b, y, options, rowLosses: nil, rowLogSumExp: nil, gradients: g,
        kernels: { H.halfKernels($0).linearCrossEntropy })
    }
  }
}
