// The checks and reduction shared by the row losses with integer targets and no ignore index
// (the `ClassIndexLoss` conformers `SphericalZLoss`, `StableMaxCrossEntropy`).

import SoftmaxKernelsCore

/// One call of a row loss with integer targets, all but the loss's own parameters. The logits
/// and the gradient are stored as `X` (`T`, or a 16-bit type with `T` = `Float`); the upstream
/// gradient, the row losses and the result are `T`.
struct TargetLossCall<X, T: KernelScalar> {
  var logits: Rows<X>
  var targets: UnsafeBufferPointer<Int>
  var lossGradient: T = 1
  var gradient: MutableRows<X>? = nil
  var rowLosses: UnsafeMutableBufferPointer<T>? = nil
  var reduction: LossReduction
  var execution: ExecutionOptions

  init(
    logits: Rows<X>, targets: UnsafeBufferPointer<Int>, lossGradient: T = 1, gradient: MutableRows<X>? = nil,
    rowLosses: UnsafeMutableBufferPointer<T>?, options: some LossOptions
  ) {
    (self.logits, self.targets, self.lossGradient, self.gradient) = (logits, targets, lossGradient, gradient)
    (self.rowLosses, self.reduction, self.execution) = (rowLosses, options.reduction, options.execution)
  }

  /// What a loss builds its kernel batch from, checked.
  struct Checked {
    var logits: UnsafePointer<X>
    var logitsStride: Int
    var gradientStride: Int
    /// `lossGradient`, over the number of rows with `.mean`.
    var gradientScale: T
  }

  /// Checks shapes, strides, at least one column, targets in `[0, columns)`, that a gradient
  /// overlapping the logits is exactly the logits (in place) and that the outputs overlap no
  /// input nor each other; then the loss's own parameters (`checkParameters`). Then sums the
  /// rows `kernel` returns (from the checked call and the plan's level) over the plan's threads
  /// and reduces them: `.mean` over the rows (NaN without rows), else (`.sum`, `.none`) the sum.
  func run(
    checkParameters: () throws(SoftmaxKernelsError) -> Void,
    _ kernel: (Checked, ISALevel) -> (Range<Int>) -> LossPartial
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let rows = logits.rows, columns = logits.columns
    let layout = try RowLayout.checked(logits, "logits")
    try checkCount(targets.count, equals: rows, "targets")
    if columns == 0 && rows > 0 {
      throw .invalidArgument(argument: "columns", reason: "the loss needs at least one class")
    }
    for r in 0..<rows where !(0..<columns).contains(targets[r]) {
      throw .invalidArgument(argument: "targets", reason: "row \(r) has target \(targets[r]), outside [0, \(columns))")
    }
    if let rowLosses, rowLosses.count < rows {
      throw .bufferTooSmall(argument: "rowLosses", required: rows, actual: rowLosses.count)
    }
    var gradientLayout: RowLayout?
    if let gradient {
      gradientLayout = try RowLayout.checked(gradient, "gradient", reading: (logits, layout))
    }
    let targetMemory = ArgumentMemory("targets", targets, count: rows)
    let gradientMemory = ArgumentMemory("gradient", gradient?.readOnly, gradientLayout)
    try checkDisjoint(outputs: [gradientMemory], inputs: [targetMemory])
    try checkDisjoint(
      outputs: [ArgumentMemory("rowLosses", rowLosses, count: rows)],
      inputs: [ArgumentMemory("logits", logits, layout), targetMemory, gradientMemory])
    try checkParameters()
    let plan = try ExecutionPlan(execution, elements: rows * columns)
    guard rows > 0, let x = logits.buffer.baseAddress else { return LossResult(loss: reduction == .mean ? .nan : 0) }
    let mean = reduction == .mean
    let checked = Checked(
      logits: x, logitsStride: layout.stride, gradientStride: gradientLayout?.stride ?? 0,
      gradientScale: T(mean ? Double(lossGradient) / Double(rows) : Double(lossGradient)))
    let rowsOf = kernel(checked, plan.level)
    let total = plan.mapRows(rows, columns: columns, rowsOf).loss
    return LossResult(loss: T(mean ? total / Double(rows) : total))
  }
}
