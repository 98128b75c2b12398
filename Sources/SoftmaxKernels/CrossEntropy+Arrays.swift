// The Array forms of `CrossEntropy`: thin calls of the Span forms.

extension CrossEntropy {
  /// The cross-entropy of `logits` (rows of `columns` classes) against integer `targets` (one
  /// per row). With `.none`, the sum of the row losses.
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [Int], classWeights: [T]? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
      try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
        try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
          try loss(
            logits: logitsSpan, targets: targetsSpan, classWeights: classWeightsSpan, columns: columns,
            options: options)
        }
      }
    }
  }

  /// The cross-entropy against integer `targets` and its gradient with respect to `logits`
  /// (times `lossGradient`).
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [Int], classWeights: [T]? = nil, columns: Int, lossGradient: T = 1,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
          try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
            try lossAndGradient(
              logits: logitsSpan, targets: targetsSpan, classWeights: classWeightsSpan, columns: columns,
              lossGradient: lossGradient, gradient: &g, options: options)
          }
        }
      }
    }
    return (result, gradient)
  }

  /// Each row's cross-entropy against integer `targets` (`options.reduction` is taken as
  /// `.none`).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [Int], classWeights: [T]? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
          try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
            try rowLosses(
              logits: logitsSpan, targets: targetsSpan, classWeights: classWeightsSpan, columns: columns,
              into: &l, options: options)
          }
        }
      }
    }.array
  }

  /// The cross-entropy against probability targets (as many as `logits`, rows of `columns`).
  /// With `.none`, the sum of the row losses.
  public static func loss<T: KernelScalar>(
    logits: [T], probabilities: [T], classWeights: [T]? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
      try withSpan(probabilities) { (probabilitiesSpan) throws(SoftmaxKernelsError) in
        try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
          try loss(
            logits: logitsSpan, probabilities: probabilitiesSpan, classWeights: classWeightsSpan,
            columns: columns, options: options)
        }
      }
    }
  }

  /// The cross-entropy against probability targets and its gradient with respect to `logits`
  /// (times `lossGradient`).
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], probabilities: [T], classWeights: [T]? = nil, columns: Int, lossGradient: T = 1,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(probabilities) { (probabilitiesSpan) throws(SoftmaxKernelsError) in
          try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
            try lossAndGradient(
              logits: logitsSpan, probabilities: probabilitiesSpan, classWeights: classWeightsSpan,
              columns: columns, lossGradient: lossGradient, gradient: &g, options: options)
          }
        }
      }
    }
    return (result, gradient)
  }

  /// Each row's cross-entropy against probability targets (`options.reduction` is taken as
  /// `.none`).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], probabilities: [T], classWeights: [T]? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(probabilities) { (probabilitiesSpan) throws(SoftmaxKernelsError) in
          try withSpanIfPresent(classWeights) { (classWeightsSpan) throws(SoftmaxKernelsError) in
            try rowLosses(
              logits: logitsSpan, probabilities: probabilitiesSpan, classWeights: classWeightsSpan,
              columns: columns, into: &l, options: options)
          }
        }
      }
    }.array
  }
}
