// Cross-entropy of 16-bit logits (Float16, BFloat16): the buffer and Array forms.

extension CrossEntropy {
  /// The cross-entropy of 16-bit logits (`Float16`, ``BFloat16``) against class targets, in
  /// `Float`: the logits are read exactly as `Float` and everything is computed as for `Float`
  /// logits (same options, edge cases and bounds, see ``CrossEntropy``); class weights and the
  /// per-row outputs are `Float`.
  public static func loss<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let outputs = CrossEntropyOutputs<H, Float>(rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, rowArgmax: rowArgmax)
    return try run(logits, .classes(targets), classWeights, options, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  /// The loss of 16-bit logits against class targets and its gradient with respect to the
  /// logits, written in the logits' type (each entry computed in `Float` and rounded once;
  /// `gradient` may be the logits' memory: in place).
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
    lossGradient: Float = 1, rowLossGradients: UnsafeBufferPointer<Float>? = nil, gradient: MutableRows<H>,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let outputs = CrossEntropyOutputs<H, Float>(
      gradient: gradient, lossGradient: lossGradient, rowLossGradients: rowLossGradients,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp, rowArgmax: rowArgmax)
    return try run(logits, .classes(targets), classWeights, options, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  /// The per-row losses of 16-bit logits against class targets (reduction `.none`), in `Float`.
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<Float>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<Float>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    let outputs = CrossEntropyOutputs<H, Float>(rowLosses: rowLosses)
    _ = try run(logits, .classes(targets), classWeights, options.unreduced, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  /// The cross-entropy of 16-bit logits against `Float` probability targets, in `Float`.
  public static func loss<H: HalfPrecisionStorage>(
    logits: Rows<H>, probabilities: Rows<Float>, classWeights: UnsafeBufferPointer<Float>? = nil,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let outputs = CrossEntropyOutputs<H, Float>(rowLosses: rowLosses, rowLogSumExp: rowLogSumExp)
    return try run(logits, .probabilities(probabilities), classWeights, options, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  /// The loss of 16-bit logits against `Float` probability targets and its gradient, written in
  /// the logits' type (may be the logits' memory, never the probabilities').
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: Rows<H>, probabilities: Rows<Float>, classWeights: UnsafeBufferPointer<Float>? = nil,
    lossGradient: Float = 1, rowLossGradients: UnsafeBufferPointer<Float>? = nil, gradient: MutableRows<H>,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let outputs = CrossEntropyOutputs<H, Float>(
      gradient: gradient, lossGradient: lossGradient, rowLossGradients: rowLossGradients,
      rowLosses: rowLosses, rowLogSumExp: rowLogSumExp)
    return try run(logits, .probabilities(probabilities), classWeights, options, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  /// The per-row losses of 16-bit logits against `Float` probability targets, in `Float`.
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: Rows<H>, probabilities: Rows<Float>, classWeights: UnsafeBufferPointer<Float>? = nil,
    into rowLosses: UnsafeMutableBufferPointer<Float>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    let outputs = CrossEntropyOutputs<H, Float>(rowLosses: rowLosses)
    _ = try run(logits, .probabilities(probabilities), classWeights, options.unreduced, outputs) { H.halfKernels($0).crossEntropyRows }
  }

  // MARK: Arrays

  /// The cross-entropy of the 16-bit logits `logits` (rows of `columns`) against class targets.
  public static func loss<H: HalfPrecisionStorage>(
    logits: [H], targets: [Int], classWeights: [Float]? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in
        try withBufferIfPresent(classWeights) { (w) throws(SoftmaxKernelsError) in
          try loss(logits: Rows(x, columns: columns), targets: y, classWeights: w, options: options)
        }
      }
    }
  }

  /// The cross-entropy of 16-bit logits against class targets and its gradient (in the logits'
  /// type).
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: [H], targets: [Int], classWeights: [Float]? = nil, columns: Int, lossGradient: Float = 1,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<Float>, gradient: [H]) {
    var result = LossResult<Float>(loss: .nan)
    let gradient = try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in
        try withBufferIfPresent(classWeights) { (w) throws(SoftmaxKernelsError) in
          let rows = try Rows(x, columns: columns)
          return try makeArray(count: x.count) { (g: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
            result = try lossAndGradient(
              logits: rows, targets: y, classWeights: w, lossGradient: lossGradient,
              gradient: MutableRows(g, rows: rows.rows, columns: rows.columns), options: options)
          }
        }
      }
    }
    return (result, gradient)
  }
}
