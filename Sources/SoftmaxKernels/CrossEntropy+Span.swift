// The Span forms of `CrossEntropy`: logits as contiguous rows of `columns` classes.

extension CrossEntropy {
  /// Cross-entropy of `logits` (contiguous rows of `columns` classes) against integer targets
  /// (one per row). With `.none`, the sum of the row losses (as `.sum`).
  public static func loss<T: KernelScalar>(
    logits: Span<T>, columns: Int, targets: Span<Int>, classWeights: Span<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try contiguous(logits, columns, targets, nil, classWeights, options)
  }

  /// Cross-entropy against integer targets and its gradient with respect to the logits
  /// (`gradient`: as many elements as `logits`), scaled by `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, columns: Int, targets: Span<Int>, classWeights: Span<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(),
    gradient: inout MutableSpan<T>, lossGradient: T = 1
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try contiguous(logits, columns, targets, nil, classWeights, options, gradient: g, lossGradient: lossGradient)
    }
  }

  /// Each row's cross-entropy against integer targets (`options.reduction` is taken as
  /// `.none`), written to `rowLosses` (one element per row).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, columns: Int, targets: Span<Int>, classWeights: Span<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(), rowLosses: inout MutableSpan<T>
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try contiguous(logits, columns, targets, nil, classWeights, options.unreduced, rowLosses: l)
    }
  }

  /// Cross-entropy against probability targets (`probabilities`: as many elements as `logits`,
  /// rows of `columns`). With `.none`, the sum of the row losses (as `.sum`).
  public static func loss<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, columns: Int, classWeights: Span<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try contiguous(logits, columns, nil, probabilities, classWeights, options)
  }

  /// Cross-entropy against probability targets and its gradient with respect to the logits,
  /// scaled by `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, columns: Int,
    classWeights: Span<T>? = nil, options: CrossEntropyOptions = CrossEntropyOptions(),
    gradient: inout MutableSpan<T>, lossGradient: T = 1
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try contiguous(logits, columns, nil, probabilities, classWeights, options, gradient: g, lossGradient: lossGradient)
    }
  }

  /// Each row's cross-entropy against probability targets (`options.reduction` is taken as
  /// `.none`), written to `rowLosses`.
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, probabilities: Span<T>, columns: Int,
    classWeights: Span<T>? = nil, options: CrossEntropyOptions = CrossEntropyOptions(),
    rowLosses: inout MutableSpan<T>
  ) throws(SoftmaxKernelsError) {
    _ = try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try contiguous(logits, columns, nil, probabilities, classWeights, options.unreduced, rowLosses: l)
    }
  }

  /// The Span and Array forms: contiguous rows of `columns`, integer `targets` or
  /// `probabilities`, outputs of the logits' count (`gradient`) and the row count
  /// (`rowLosses`; without it, `.none` is summed as `.sum`).
  static func contiguous<T: KernelScalar>(
    _ logits: Span<T>, _ columns: Int, _ targets: Span<Int>?, _ probabilities: Span<T>?,
    _ classWeights: Span<T>?, _ options: CrossEntropyOptions,
    gradient: UnsafeMutableBufferPointer<T>? = nil, lossGradient: T = 1,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    var options = options
    if rowLosses == nil { options.reduction = options.reduction.withoutRowOutputs }
    if let probabilities { try checkCount(probabilities.count, equals: logits.count, "probabilities") }
    if let gradient { try checkCount(gradient.count, equals: logits.count, "gradient") }
    return try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      let rows = try Rows(x, columns: columns)
      if let rowLosses { try checkCount(rowLosses.count, equals: rows.rows, "rowLosses") }
      let outputs = CrossEntropyOutputs(
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
