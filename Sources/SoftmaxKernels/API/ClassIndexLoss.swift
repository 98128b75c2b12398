// The losses over rows of logits with one class index per row (`SphericalZLoss`,
// `StableMaxCrossEntropy`): each conformer implements the strided forms; the row-loss, Span and
// Array forms are written here once for all of them.

/// The options of a loss: how its row losses are combined, and where it runs.
public protocol LossOptions: KernelOptions {
  /// How the row losses are combined (`.mean` over the rows by default).
  var reduction: LossReduction { get set }
}

extension CrossEntropyOptions: LossOptions {}
extension SphericalZLossOptions: LossOptions {}
extension StableMaxCrossEntropyOptions: LossOptions {}
extension BinaryCrossEntropyOptions: LossOptions {}

/// A loss of the rows of a logits matrix against one class index per row, in
/// `[0, logits.columns)`, and its gradient (`SphericalZLoss`, `StableMaxCrossEntropy`).
///
/// Every conformer has the same forms, arguments in one order (inputs, `columns`,
/// `lossGradient`, outputs, `options` last): strided buffers (`Rows`, optional `rowLosses`),
/// `Span`s of contiguous rows of `columns`, and arrays. The reduction is `options.reduction`
/// (`.none` gives the sum of the row losses, as `.sum`, and the `rowLosses` forms the losses
/// themselves); `lossGradient` scales the gradient of the reduced loss (with `.none`, of the
/// sum). The gradient may be the logits' own memory (same start and stride); the outputs
/// overlap no other argument. A call that throws has written nothing.
public protocol ClassIndexLoss {
  /// The loss's options.
  associatedtype Options: LossOptions

  /// The loss of the rows of `logits` against `targets` (one per row); `rowLosses` (at least
  /// one element per row) receives each row's loss, whatever the reduction.
  static func loss<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<T>?,
    options: Options
  ) throws(SoftmaxKernelsError) -> LossResult<T>

  /// The loss and its gradient with respect to the logits, times `lossGradient`; `gradient`
  /// (the shape of `logits`) may be the logits' own memory (same start and stride).
  static func lossAndGradient<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, lossGradient: T, gradient: MutableRows<T>,
    rowLosses: UnsafeMutableBufferPointer<T>?, options: Options
  ) throws(SoftmaxKernelsError) -> LossResult<T>
}

extension ClassIndexLoss {
  /// Each row's loss, written to `rowLosses` (at least one element per row;
  /// `options.reduction` is not used).
  public static func rowLosses<T: KernelScalar>(
    logits: Rows<T>, targets: UnsafeBufferPointer<Int>, into rowLosses: UnsafeMutableBufferPointer<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    var unreduced = options
    unreduced.reduction = .none
    _ = try loss(logits: logits, targets: targets, rowLosses: rowLosses, options: unreduced)
  }

  /// The loss of `logits` (contiguous rows of `columns`) against `targets` (one per row).
  public static func loss<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
      try loss(logits: x, targets: y, rowLosses: nil, options: options)
    }
  }

  /// The loss and its gradient (as many elements as `logits`), times `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, lossGradient: T = 1, gradient: inout MutableSpan<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try checkCount(gradient.count, equals: logits.count, "gradient")
    return try withMutableBuffer(&gradient) { (g) throws(SoftmaxKernelsError) in
      try withRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
        try lossAndGradient(
          logits: x, targets: y, lossGradient: lossGradient, gradient: MutableRows(g, rows: x.rows, columns: columns),
          rowLosses: nil, options: options)
      }
    }
  }

  /// Each row's loss, written to `rowLosses` (one element per row).
  public static func rowLosses<T: KernelScalar>(
    logits: Span<T>, targets: Span<Int>, columns: Int, into rowLosses: inout MutableSpan<T>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    try withMutableBuffer(&rowLosses) { (l) throws(SoftmaxKernelsError) in
      try withRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
        try checkCount(l.count, equals: x.rows, "rowLosses")
        try Self.rowLosses(logits: x, targets: y, into: l, options: options)
      }
    }
  }

  /// The loss of `logits` (rows of `columns`) against `targets` (one per row).
  public static func loss<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
      try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
        try loss(logits: logitsSpan, targets: targetsSpan, columns: columns, options: options)
      }
    }
  }

  /// The loss and its gradient with respect to `logits`, times `lossGradient`.
  public static func lossAndGradient<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, lossGradient: T = 1, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<T>, gradient: [T]) {
    let (gradient, result) = try makeArray(count: logits.count) { (g) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
          try lossAndGradient(
            logits: logitsSpan, targets: targetsSpan, columns: columns, lossGradient: lossGradient,
            gradient: &g, options: options)
        }
      }
    }
    return (result, gradient)
  }

  /// Each row's loss.
  public static func rowLosses<T: KernelScalar>(
    logits: [T], targets: [Int], columns: Int, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [T] {
    try makeArray(count: rowShape(logits.count, columns: columns).rows) { (l) throws(SoftmaxKernelsError) in
      try withSpan(logits) { (logitsSpan) throws(SoftmaxKernelsError) in
        try withSpan(targets) { (targetsSpan) throws(SoftmaxKernelsError) in
          try rowLosses(logits: logitsSpan, targets: targetsSpan, columns: columns, into: &l, options: options)
        }
      }
    }.array
  }
}

/// Calls `body` with `logits` as contiguous rows of `columns` and the targets' memory.
@inline(__always)
private func withRows<T, R>(
  _ logits: Span<T>, _ targets: Span<Int>, _ columns: Int,
  _ body: (Rows<T>, UnsafeBufferPointer<Int>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
    let rows = try Rows(x, columns: columns)
    return try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in try body(rows, y) }
  }
}
