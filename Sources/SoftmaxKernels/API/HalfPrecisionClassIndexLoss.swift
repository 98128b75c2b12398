// The class-index losses that also take 16-bit logits (`Float16`, `BFloat16`): each conformer
// implements the two strided forms; the row-loss and Array forms are written here once.

/// A ``ClassIndexLoss`` that also takes logits stored in a 16-bit type (``HalfPrecisionStorage``:
/// `Float16`, ``BFloat16``): ``SphericalZLoss``, ``StableMaxCrossEntropy``.
///
/// The logits are read exactly as `Float` and every row is computed as for `Float` logits (the
/// same kernels, options converted and checked in `Float`, the same sums in `Float` and
/// `Double`), so the loss and the per-row losses (`Float`) are bitwise those of the same call on
/// the logits widened to `Float`. The gradient (`lossGradient` is `Float`) is written in the
/// logits' type: each entry is the `Float` gradient of the widened logits rounded once, to
/// nearest even, so it is within 1 ulp of the 16-bit type plus the `Float` bound of the loss's
/// gradient. It may be the logits' own memory (same start and stride: in place). Arguments are
/// checked as for `Float` logits; a call that throws has written nothing.
public protocol HalfPrecisionClassIndexLoss: ClassIndexLoss {
  /// The loss of the 16-bit rows of `logits` against `targets` (one per row), in `Float`;
  /// `rowLosses` (at least one element per row) receives each row's loss, whatever the
  /// reduction.
  static func loss<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<Float>?,
    options: Options
  ) throws(SoftmaxKernelsError) -> LossResult<Float>

  /// The loss and its gradient with respect to the 16-bit logits, times `lossGradient`, written
  /// in the logits' type (each entry rounded once); `gradient` (the shape of `logits`) may be
  /// the logits' own memory (same start and stride).
  static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, lossGradient: Float, gradient: MutableRows<H>,
    rowLosses: UnsafeMutableBufferPointer<Float>?, options: Options
  ) throws(SoftmaxKernelsError) -> LossResult<Float>
}

extension HalfPrecisionClassIndexLoss {
  /// Each row's loss of the 16-bit `logits`, written to `rowLosses` (at least one element per
  /// row; `options.reduction` is not used).
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: Rows<H>, targets: UnsafeBufferPointer<Int>, into rowLosses: UnsafeMutableBufferPointer<Float>,
    options: Options = Options()
  ) throws(SoftmaxKernelsError) {
    var unreduced = options
    unreduced.reduction = .none
    _ = try loss(logits: logits, targets: targets, rowLosses: rowLosses, options: unreduced)
  }

  /// The loss of the 16-bit `logits` (rows of `columns`) against `targets` (one per row).
  public static func loss<H: HalfPrecisionStorage>(
    logits: [H], targets: [Int], columns: Int, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try withHalfRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
      try loss(logits: x, targets: y, rowLosses: nil, options: options)
    }
  }

  /// The loss of the 16-bit `logits` (rows of `columns`) and its gradient, times
  /// `lossGradient`, in the logits' type.
  public static func lossAndGradient<H: HalfPrecisionStorage>(
    logits: [H], targets: [Int], columns: Int, lossGradient: Float = 1, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> (result: LossResult<Float>, gradient: [H]) {
    var result = LossResult<Float>(loss: .nan)
    let gradient = try withHalfRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
      try makeArray(count: logits.count) { (g: UnsafeMutableBufferPointer<H>) throws(SoftmaxKernelsError) in
        result = try lossAndGradient(
          logits: x, targets: y, lossGradient: lossGradient, gradient: MutableRows(g, rows: x.rows, columns: columns),
          rowLosses: nil, options: options)
      }
    }
    return (result, gradient)
  }

  /// Each row's loss of the 16-bit `logits` (rows of `columns`).
  public static func rowLosses<H: HalfPrecisionStorage>(
    logits: [H], targets: [Int], columns: Int, options: Options = Options()
  ) throws(SoftmaxKernelsError) -> [Float] {
    try withHalfRows(logits, targets, columns) { (x, y) throws(SoftmaxKernelsError) in
      try makeArray(count: x.rows) { (l: UnsafeMutableBufferPointer<Float>) throws(SoftmaxKernelsError) in
        try rowLosses(logits: x, targets: y, into: l, options: options)
      }
    }
  }
}

/// Calls `body` with `logits` as contiguous rows of `columns` and the targets' memory.
@inline(__always)
private func withHalfRows<H, R>(
  _ logits: [H], _ targets: [Int], _ columns: Int,
  _ body: (Rows<H>, UnsafeBufferPointer<Int>) throws(SoftmaxKernelsError) -> R
) throws(SoftmaxKernelsError) -> R {
  try withBuffer(logits) { (x) throws(SoftmaxKernelsError) in
    let rows = try Rows(x, columns: columns)
    return try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in try body(rows, y) }
  }
}
