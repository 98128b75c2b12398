// Argument checks shared by the row losses with integer targets and no ignore index
// (`SphericalZLoss`, `StableMax.crossEntropy`).

import SoftmaxKernelsCore

/// The checked layout of a target loss call: the logits' rows and the gradient's row stride
/// (0 without a gradient).
struct TargetLossLayout {
  var logits: RowLayout
  var gradientStride: Int

  /// Checks shapes, strides, targets in `[0, columns)`, the row-loss buffer (required with
  /// `.none`) and that a gradient overlapping the logits is exactly the logits (in place).
  static func validated<T>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int?,
    targets: UnsafeBufferPointer<Int>, reduction: LossReduction,
    gradient: UnsafeMutableBufferPointer<T>?, gradientRowStride: Int?,
    rowLosses: UnsafeMutableBufferPointer<T>?
  ) throws(SoftmaxKernelsError) -> TargetLossLayout {
    let layout = try RowLayout.input(logits, rows: rows, columns: columns, stride: logitsRowStride, "logits")
    try Softmax.checkCounts(rows, targets.count, "targets")
    for r in 0..<rows where !(0..<columns).contains(targets[r]) {
      throw .invalidArgument(argument: "targets", reason: "row \(r) has target \(targets[r]), outside [0, \(columns))")
    }
    if let rowLosses, rowLosses.count < rows {
      throw .bufferTooSmall(argument: "rowLosses", required: rows, actual: rowLosses.count)
    }
    if reduction == .none && rowLosses == nil {
      throw .invalidArgument(argument: "rowLosses", reason: "reduction .none needs a buffer for the row losses")
    }
    var gradientStride = 0
    if let gradient {
      gradientStride = try RowLayout.output(
        gradient, rows: rows, columns: columns, stride: gradientRowStride, "gradient",
        reading: (logits, layout)).stride
    }
    return TargetLossLayout(logits: layout, gradientStride: gradientStride)
  }
}
