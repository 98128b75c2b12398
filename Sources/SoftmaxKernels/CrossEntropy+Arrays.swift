// The Array forms of `CrossEntropy`: thin calls of the Span forms.

extension CrossEntropy {
  /// The cross-entropy of `logits` (rows of `columns` classes) against integer `targets` (one
  /// per row). With `.none`, the sum of the row losses (as `.sum`).
  public static func loss<T: KernelScalar>(
    logits: [T], columns: Int, targets: [Int], classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try loss(
      logits: logits.span, columns: columns, targets: targets.span, classWeights: classWeights?.span,
      options: options)
  }

  /// The cross-entropy against integer `targets` and its gradient with respect to `logits`
  /// (times `lossGradient`).
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], columns: Int, targets: [Int], classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(), lossGradient: T = 1
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try lossAndGradient(
        logits: logits.span, columns: columns, targets: targets.span, classWeights: classWeights?.span,
        options: options, gradient: &g, lossGradient: lossGradient)
    }
    return (result, gradient)
  }

  /// Each row's cross-entropy against integer `targets` (`options.reduction` is taken as
  /// `.none`).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], columns: Int, targets: [Int], classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try rowLosses(
        logits: logits.span, columns: columns, targets: targets.span, classWeights: classWeights?.span,
        options: options, rowLosses: &l)
    }.array
  }

  /// The cross-entropy against probability targets (as many as `logits`, rows of `columns`).
  /// With `.none`, the sum of the row losses (as `.sum`).
  public static func loss<T: KernelScalar>(
    logits: [T], probabilities: [T], columns: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try loss(
      logits: logits.span, probabilities: probabilities.span, columns: columns,
      classWeights: classWeights?.span, options: options)
  }

  /// The cross-entropy against probability targets and its gradient with respect to `logits`
  /// (times `lossGradient`).
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], probabilities: [T], columns: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(), lossGradient: T = 1
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try lossAndGradient(
        logits: logits.span, probabilities: probabilities.span, columns: columns,
        classWeights: classWeights?.span, options: options, gradient: &g, lossGradient: lossGradient)
    }
    return (result, gradient)
  }

  /// Each row's cross-entropy against probability targets (`options.reduction` is taken as
  /// `.none`).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], probabilities: [T], columns: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try rowLosses(
        logits: logits.span, probabilities: probabilities.span, columns: columns,
        classWeights: classWeights?.span, options: options, rowLosses: &l)
    }.array
  }
}
