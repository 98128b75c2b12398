// Binary cross-entropy of 16-bit logits (Float16, BFloat16): the buffer and Array forms.

extension BinaryCrossEntropy {
  /// The reduced loss of 16-bit logits (`Float16`, ``BFloat16``) against `Float` targets, in
  /// `Float`: the logits are read exactly as `Float` and everything is computed as for `Float`
  /// logits (same formula, options, edge cases, errors and bounds, see ``BinaryCrossEntropy``);
  /// the targets, `weight` and `posWeight` are `Float` (soft labels keep their precision).
  public static func loss<H: HalfPrecisionStorage>(
    logits: UnsafeBufferPointer<H>, targets: UnsafeBufferPointer<Float>,
    weight: UnsafeBufferPointer<Float>? = nil, posWeight: UnsafeBufferPointer<Float>? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try reduced(Inputs(logits, targets, weight, posWeight), lossGradient: 1, gradient: nil, options: options) {
      H.halfKernels($0).binaryCrossEntropy
    }
  }

  /// The reduced loss of 16-bit logits and its gradient with respect to them, written in the
  /// logits' type (each entry computed in `Float` and rounded once; `gradient` may be the
  /// logits' memory: in place).
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: UnsafeBufferPointer<H>, targets: UnsafeBufferPointer<Float>,
    weight: UnsafeBufferPointer<Float>? = nil, posWeight: UnsafeBufferPointer<Float>? = nil,
    lossGradient: Float = 1, gradient: UnsafeMutableBufferPointer<H>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try reduced(
      Inputs(logits, targets, weight, posWeight), lossGradient: lossGradient, gradient: gradient, options: options
    ) { H.halfKernels($0).binaryCrossEntropy }
  }

  /// The `Float` loss of each 16-bit logit (reduction `.none`; `options.reduction` is ignored).
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: UnsafeBufferPointer<H>, targets: UnsafeBufferPointer<Float>,
    weight: UnsafeBufferPointer<Float>? = nil, posWeight: UnsafeBufferPointer<Float>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<Float>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try run(
      Inputs(logits, targets, weight, posWeight), rowLosses: rowLosses, sum: false, gradient: nil,
      rowLossGradients: nil, gradientScale: 1, options) { H.halfKernels($0).binaryCrossEntropy }
  }

  /// The gradient of the per-element losses of 16-bit logits for one `Float` upstream gradient
  /// per element, `gradient_i = rowLossGradients_i * dloss_i/dx_i`, written in the logits' type
  /// (may be the logits' memory).
  public static func backward<H: HalfPrecisionStorage>(
    logits: UnsafeBufferPointer<H>, targets: UnsafeBufferPointer<Float>,
    weight: UnsafeBufferPointer<Float>? = nil, posWeight: UnsafeBufferPointer<Float>? = nil,
    rowLossGradients: UnsafeBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<H>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    try checkCount(rowLossGradients.count, equals: logits.count, "rowLossGradients")
    try Sigmoid.checkElementwiseAliasing(rowLossGradients, gradient, "gradient")
    _ = try run(
      Inputs(logits, targets, weight, posWeight), rowLosses: nil, sum: false, gradient: gradient,
      rowLossGradients: rowLossGradients, gradientScale: 1, options) { H.halfKernels($0).binaryCrossEntropy }
  }

  // MARK: Arrays

  /// The reduced loss of the 16-bit logits `logits` against `Float` targets.
  public static func loss<H: HalfPrecisionStorage>(
    logits: [H], targets: [Float], weight: [Float]? = nil, posWeight: [Float]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try loss(logits: x, targets: y, weight: w, posWeight: p, options: options)
    }
  }

  /// The reduced loss of 16-bit logits and its gradient (times `lossGradient`) in the logits'
  /// type, in one pass.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: [H], targets: [Float], weight: [Float]? = nil, posWeight: [Float]? = nil, lossGradient: Float = 1,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<Float>, gradient: [H]) {
    var result = LossResult<Float>(loss: .nan)
    let gradient: [H] = try elementwise(logits, targets, weight, posWeight) {
      (x, y, w, p, dx: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
      result = try lossAndGradient(
        logits: x, targets: y, weight: w, posWeight: p, lossGradient: lossGradient, gradient: dx, options: options)
    }
    return (result, gradient)
  }

  /// The `Float` loss of each 16-bit logit (`.none`).
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: [H], targets: [Float], weight: [Float]? = nil, posWeight: [Float]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [Float] {
    try elementwise(logits, targets, weight, posWeight) {
      (x, y, w, p, l: UnsafeMutableBufferPointer<Float>) throws(SoftmaxKernelsError) in
      try rowLosses(logits: x, targets: y, weight: w, posWeight: p, into: l, options: options)
    }
  }
}
