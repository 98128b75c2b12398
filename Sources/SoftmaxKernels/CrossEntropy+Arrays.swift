// The Array forms of `CrossEntropy`.

import SoftmaxKernelsCore

// MARK: - Arrays

extension CrossEntropy {
  /// The reduced cross-entropy of `logits` (rows of `classes` entries) against `targets`.
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [Int], classes: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> T {
    var o = options
    if o.reduction == .none { o.reduction = .sum }
    let rows = try Softmax.shape(logits.count, classes).0
    return try withArrays(logits, targets, classWeights) { (x, y, w) throws(SoftmaxKernelsError) in
      try loss(logits: x, rows: rows, columns: classes, targets: y, classWeights: w, options: o).loss
    }
  }

  /// Each row's loss (`reduction` is taken as `.none`).
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [Int], classes: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    var o = options
    o.reduction = .none
    let rows = try Softmax.shape(logits.count, classes).0
    var result = [T](repeating: 0, count: rows)
    try withArrays(logits, targets, classWeights) { (x, y, w) throws(SoftmaxKernelsError) in
      try result.withUnsafeMutableBufferPointer { (l) throws(SoftmaxKernelsError) in
        _ = try loss(logits: x, rows: rows, columns: classes, targets: y, classWeights: w, options: o, rowLosses: l)
      }
    }
    return result
  }

  /// The reduced loss and its gradient with respect to `logits`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [Int], classes: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (loss: T, gradient: [T]) {
    var o = options
    if o.reduction == .none { o.reduction = .sum }
    let rows = try Softmax.shape(logits.count, classes).0
    var g = [T](repeating: 0, count: logits.count)
    let l = try withArrays(logits, targets, classWeights) { (x, y, w) throws(SoftmaxKernelsError) in
      try g.withUnsafeMutableBufferPointer { (d) throws(SoftmaxKernelsError) in
        try lossAndGradient(
          logits: x, rows: rows, columns: classes, targets: y, classWeights: w, options: o,
          gradient: d
        ).loss
      }
    }
    return (l, g)
  }

  /// The reduced loss against probability targets (same shape as `logits`).
  public static func loss<T: KernelScalar>(
    logits: [T], probabilities: [T], classes: Int, classWeights: [T]? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> T {
    var o = options
    if o.reduction == .none { o.reduction = .sum }
    let rows = try Softmax.shape(logits.count, classes).0
    try Softmax.checkCounts(logits.count, probabilities.count, "probabilities")
    return try withArrays(logits, [], classWeights) { (x, _, w) throws(SoftmaxKernelsError) in
      try probabilities.withUnsafeBufferPointer { (t) throws(SoftmaxKernelsError) in
        try loss(logits: x, rows: rows, columns: classes, probabilities: t, classWeights: w, options: o).loss
      }
    }
  }

  static func withArrays<T: KernelScalar, R>(
    _ logits: [T], _ targets: [Int], _ weights: [T]?,
    _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<T>?) throws(SoftmaxKernelsError) -> R
  ) throws(SoftmaxKernelsError) -> R {
    var result: Result<R, SoftmaxKernelsError>!
    logits.withUnsafeBufferPointer { x in
      targets.withUnsafeBufferPointer { y in
        if let weights {
          weights.withUnsafeBufferPointer { w in
            result = Result { () throws(SoftmaxKernelsError) in try body(x, y, w) }
          }
        } else {
          result = Result { () throws(SoftmaxKernelsError) in try body(x, y, nil) }
        }
      }
    }
    return try result.get()
  }
}
