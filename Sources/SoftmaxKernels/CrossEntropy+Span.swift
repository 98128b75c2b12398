// The Span forms of `CrossEntropy`: logits as contiguous rows of `columns` classes.

extension CrossEntropy {
  /// Cross-entropy of `logits` (contiguous rows of `columns` classes) against integer targets
  /// (one per row). With `.none`, the sum of the row losses.
  public static func loss<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, classWeights: Span<T>? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try contiguous(logits, targets, nil, classWeights, columns, options)
  }

  /// Cross-entropy against integer targets and its gradient with respect to the logits
  /// (`gradient`: as many elements as `logits`), scaled by `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, classWeights: Span<T>? = nil, columns: Int,
    lossGradient: T = 1, gradient: inout MutableSpan<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try contiguous(logits, targets, nil, classWeights, columns, options, gradient: g, lossGradient: lossGradient)
    }
  }

  /// Each row's cross-entropy against integer targets (`options.reduction` is taken as
  /// `.none`), written to `rowLosses` (one element per row).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, classWeights: Span<T>? = nil, columns: Int,
    into rowLosses: inout MutableSpan<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try contiguous(logits, targets, nil, classWeights, columns, options.unreduced, rowLosses: l)
    }
  }

  /// Cross-entropy against probability targets (`probabilities`: as many elements as `logits`,
  /// rows of `columns`). With `.none`, the sum of the row losses.
  public static func loss<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, classWeights: Span<T>? = nil, columns: Int,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try contiguous(logits, nil, probabilities, classWeights, columns, options)
  }

  /// Cross-entropy against probability targets and its gradient with respect to the logits,
  /// scaled by `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, classWeights: Span<T>? = nil, columns: Int,
    lossGradient: T = 1, gradient: inout MutableSpan<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try contiguous(logits, nil, probabilities, classWeights, columns, options, gradient: g, lossGradient: lossGradient)
    }
  }

  /// Each row's cross-entropy against probability targets (`options.reduction` is taken as
  /// `.none`), written to `rowLosses`.
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, classWeights: Span<T>? = nil, columns: Int,
    into rowLosses: inout MutableSpan<T>, options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try contiguous(logits, nil, probabilities, classWeights, columns, options.unreduced, rowLosses: l)
    }
  }

  /// The Span and Array forms: contiguous rows of `columns`, integer `targets` or
  /// `probabilities`, outputs of the logits' count (`gradient`) and the row count (`rowLosses`).
  static func contiguous<T: KernelScalar>(
    _ logits: Span<T>, _ targets: Span<Int>?, _ probabilities: Span<T>?, _ classWeights: Span<T>?,
    _ columns: Int, _ options: CrossEntropyOptions,
    gradient: UnsafeMutableBufferPointer<T>? = nil, lossGradient: T = 1,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    if let probabilities { try checkCount(probabilities.count, equals: logits.count, "probabilities") }
    if let gradient { try checkCount(gradient.count, equals: logits.count, "gradient") }
    return try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      if let rowLosses { try checkCount(rowLosses.count, equals: rows.rows, "rowLosses") }
      let outputs = CrossEntropyOutputs<T, T>(
        gradient: gradient.map { MutableRows($0, rows: rows.rows, columns: columns) },
        lossGradient: lossGradient, rowLosses: rowLosses)
      return try withBufferIfPresent(classWeights) { (w) throws(SoftmaxKernelsError) in
        try withBufferIfPresent(targets) { (y) throws(SoftmaxKernelsError) in
          guard let y else {
            return try withBuffer(probabilities!) { (p) throws(SoftmaxKernelsError) in
              try run(rows, .probabilities(Rows(p, rows: rows.rows, columns: columns)), w, options, outputs)
            }
          }
          return try run(rows, .classes(y), w, options, outputs)
        }
      }
    }
  }
}
