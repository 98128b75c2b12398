// The Span and Array forms of `BinaryCrossEntropy`: each calls the buffer form of the same
// name through `withBuffers` (an Array through its `span`).

// MARK: - Span

extension BinaryCrossEntropy {
  /// The reduced loss (`.mean`, `.sum`, or for `.none` the sum of the per-element losses) of
  /// `logits` against `targets`, one per element, with the optional per-element `weight` and
  /// per-class `posWeight`.
  public static func loss<T: KernelScalar>(
    logits: Span<T>, targets: Span<T>, weight: Span<T>? = nil, posWeight: Span<T>? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try loss(logits: x, targets: y, weight: w, posWeight: p, options: options)
    }
  }

  /// The reduced loss and its gradient times `lossGradient` with respect to the logits,
  /// written to `gradient` (same count as `logits`), in one pass.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, targets: Span<T>, weight: Span<T>? = nil, posWeight: Span<T>? = nil,
    lossGradient: T = 1, gradient: inout MutableSpan<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&gradient) { (dx) throws(SoftmaxKernelsError) in
        try lossAndGradient(
          logits: x, targets: y, weight: w, posWeight: p, lossGradient: lossGradient, gradient: dx,
          options: options)
      }
    }
  }

  /// The loss of each element (`.none`), written to `rowLosses` (same count as `logits`).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, targets: Span<T>, weight: Span<T>? = nil, posWeight: Span<T>? = nil,
    into rowLosses: inout MutableSpan<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
        try self.rowLosses(logits: x, targets: y, weight: w, posWeight: p, into: l, options: options)
      }
    }
  }

  /// The gradient with respect to the logits of the per-element losses (`.none`) for one
  /// upstream gradient per element, written to `gradient` (same count as `logits`).
  public static func backward<T: KernelScalar>(
    logits: Span<T>, targets: Span<T>, weight: Span<T>? = nil, posWeight: Span<T>? = nil,
    rowLossGradients: Span<T>, gradient: inout MutableSpan<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try withBuffer(rowLossGradients) { (g) throws(SoftmaxKernelsError) in
        try withMutableBuffer(&gradient) { (dx) throws(SoftmaxKernelsError) in
          try backward(
            logits: x, targets: y, weight: w, posWeight: p, rowLossGradients: g, gradient: dx,
            options: options)
        }
      }
    }
  }

  /// Calls `body` with the memory of the four inputs (`nil` for an absent weight).
  static func withBuffers<X, T, R>(
    _ logits: Span<X>, _ targets: Span<T>, _ weight: Span<T>?, _ posWeight: Span<T>?,
    _ body: (UnsafeBufferPointer<X>, UnsafeBufferPointer<T>, UnsafeBufferPointer<T>?, UnsafeBufferPointer<T>?)
      throws(SoftmaxKernelsError) -> R
  ) throws(SoftmaxKernelsError) -> R {
    func optional<S>(
      _ span: Span<T>?, _ body: (UnsafeBufferPointer<T>?) throws(SoftmaxKernelsError) -> S
    ) throws(SoftmaxKernelsError) -> S {
      guard let span else { return try body(nil) }
      return try withBuffer(span, body)
    }
    return try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in
        try optional(weight) { (w) throws(SoftmaxKernelsError) in
          try optional(posWeight) { (p) throws(SoftmaxKernelsError) in try body(x, y, w, p) }
        }
      }
    }
  }

  /// Calls `body` with the memory of the four input arrays (`nil` for an absent weight).
  static func withBuffers<X, T, R>(
    _ logits: [X], _ targets: [T], _ weight: [T]?, _ posWeight: [T]?,
    _ body: (UnsafeBufferPointer<X>, UnsafeBufferPointer<T>, UnsafeBufferPointer<T>?, UnsafeBufferPointer<T>?)
      throws(SoftmaxKernelsError) -> R
  ) throws(SoftmaxKernelsError) -> R {
    try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
      try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in
        try withBufferIfPresent(weight) { (w) throws(SoftmaxKernelsError) in
          try withBufferIfPresent(posWeight) { (p) throws(SoftmaxKernelsError) in try body(x, y, w, p) }
        }
      }
    }
  }
}

// MARK: - Arrays

extension BinaryCrossEntropy {
  /// The reduced loss (`.mean` by default, `.sum`, or for `.none` the sum of the per-element
  /// losses, which `rowLosses` returns).
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
      try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
        try withSpanIfPresent(weight) { (weightSpan) throws(SoftmaxKernelsError) in
          try withSpanIfPresent(posWeight) { (posWeightSpan) throws(SoftmaxKernelsError) in
            try loss(
              logits: logitsSpan, targets: targetsSpan, weight: weightSpan, posWeight: posWeightSpan,
              options: options)
          }
        }
      }
    }
  }

  /// The reduced loss and its gradient (times `lossGradient`) with respect to the logits, in
  /// one pass.
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil, lossGradient: T = 1,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    var result = LossResult<T>(loss: .nan)
    let gradient = try elementwise(logits, targets, weight, posWeight) { (x, y, w, p, dx) throws(SoftmaxKernelsError) in
      result = try lossAndGradient(
        logits: x, targets: y, weight: w, posWeight: p, lossGradient: lossGradient, gradient: dx,
        options: options)
    }
    return (result, gradient)
  }

  /// The loss of each element (`.none`; `options.reduction` is ignored).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try elementwise(logits, targets, weight, posWeight) { (x, y, w, p, l) throws(SoftmaxKernelsError) in
      try rowLosses(logits: x, targets: y, weight: w, posWeight: p, into: l, options: options)
    }
  }

  /// The gradient with respect to the logits of the per-element losses (`.none`) for one
  /// upstream gradient per element.
  public static func backward<T: KernelScalar>(
    logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil, rowLossGradients: [T],
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(rowLossGradients) { (g) throws(SoftmaxKernelsError) in
      try elementwise(logits, targets, weight, posWeight) { (x, y, w, p, dx) throws(SoftmaxKernelsError) in
        try backward(
          logits: x, targets: y, weight: w, posWeight: p, rowLossGradients: g, gradient: dx,
          options: options)
      }
    }
  }

  /// An array of one value per logit, filled by `body` from the inputs' memory.
  static func elementwise<X, T, O>(
    _ logits: [X], _ targets: [T], _ weight: [T]?, _ posWeight: [T]?,
    _ body: (UnsafeBufferPointer<X>, UnsafeBufferPointer<T>, UnsafeBufferPointer<T>?, UnsafeBufferPointer<T>?,
             UnsafeMutableBufferPointer<O>) throws(SoftmaxKernelsError) -> Void
  ) throws(SoftmaxKernelsError) -> [O] {
    try withBuffers(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try makeArray(count: x.count) { (out) throws(SoftmaxKernelsError) in try body(x, y, w, p, out) }
    }
  }
}
