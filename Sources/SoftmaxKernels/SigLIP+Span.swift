// The Span and Array forms of `SigLIP`: contiguous rows of `columns` similarities, passed to
// the `Rows` form (an Array through its `span`).

// MARK: - Span

extension SigLIP {
  /// The SigLIP loss of `similarities`, contiguous rows of `columns` texts (one row per image).
  /// The other arguments are those of `loss(similarities:logTemperature:bias:options:)`.
  public static func loss<T: KernelScalar>(
    similarities: Span<T>, columns: Int, logTemperature: T = T(defaultLogTemperature),
    bias: T = T(defaultBias), options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withBuffer(similarities) { (s) throws(SoftmaxKernelsError) in
      try loss(
        similarities: Rows(s, columns: columns), logTemperature: logTemperature, bias: bias,
        options: options)
    }
  }

  /// The SigLIP loss of `similarities` (contiguous rows of `columns`) and its three gradients:
  /// `dL/ds` (times `lossGradient`) written to `gradient`, of the same count (the same memory,
  /// in place, or disjoint from it).
  public static func lossAndGradient<T: KernelScalar>(
    similarities: Span<T>, columns: Int, logTemperature: T = T(defaultLogTemperature),
    bias: T = T(defaultBias), lossGradient: T = 1, gradient: inout MutableSpan<T>,
    options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try checkCount(gradient.count, equals: similarities.count, "gradient")
    return try withBuffer(similarities) { (s) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&gradient) { (ds) throws(SoftmaxKernelsError) in
        try lossAndGradient(
          similarities: Rows(s, columns: columns), logTemperature: logTemperature, bias: bias,
          lossGradient: lossGradient, gradient: MutableRows(ds, columns: columns), options: options)
      }
    }
  }
}

// MARK: - Arrays

extension SigLIP {
  /// The SigLIP loss of `similarities`, rows of `columns` texts (one row per image; a square
  /// matrix with the positives on the diagonal by default).
  public static func loss<T: KernelScalar>(
    similarities: [T], columns: Int, logTemperature: T = T(defaultLogTemperature),
    bias: T = T(defaultBias), options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withSpan(similarities) { (similaritiesSpan) throws(SoftmaxKernelsError) in
      try loss(
        similarities: similaritiesSpan, columns: columns, logTemperature: logTemperature, bias: bias,
        options: options)
    }
  }

  /// The SigLIP loss of `similarities` (rows of `columns`), `dL/dt'` and `dL/db` in the
  /// result, and `dL/ds` as an array (all times `lossGradient` but the loss).
  public static func lossAndGradient<T: KernelScalar>(
    similarities: [T], columns: Int, logTemperature: T = T(defaultLogTemperature),
    bias: T = T(defaultBias), lossGradient: T = 1, options: SigLIPOptions = SigLIPOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    var result = LossResult<T>(loss: .nan)
    let gradient = try withBuffer(similarities) { (s) throws(SoftmaxKernelsError) in
      let rows = try Rows(s, columns: columns)
      return try makeArray(count: s.count) { (ds) throws(SoftmaxKernelsError) in
        result = try lossAndGradient(
          similarities: rows, logTemperature: logTemperature, bias: bias, lossGradient: lossGradient,
          gradient: MutableRows(ds, rows: rows.rows, columns: rows.columns), options: options)
      }
    }
    return (result, gradient)
  }
}
