// The checks of `BinaryCrossEntropy`'s arguments and its one kernel call, shared by every form.

import SoftmaxKernelsCore

extension BinaryCrossEntropy {
  /// The inputs of a call: logits (stored as `X`: `T`, or a 16-bit type), targets and the
  /// optional weights.
  struct Inputs<X, T> {
    var logits: UnsafeBufferPointer<X>
    var targets: UnsafeBufferPointer<T>
    var weight: UnsafeBufferPointer<T>?
    var posWeight: UnsafeBufferPointer<T>?

    init(
      _ logits: UnsafeBufferPointer<X>, _ targets: UnsafeBufferPointer<T>,
      _ weight: UnsafeBufferPointer<T>?, _ posWeight: UnsafeBufferPointer<T>?
    ) {
      (self.logits, self.targets, self.weight, self.posWeight) = (logits, targets, weight, posWeight)
    }
  }

  /// The reduced loss (`.none`: the sum of the per-element losses, as `.sum`), and its
  /// gradient times `lossGradient` when `gradient` is given.
  static func reduced<T: KernelScalar>(
    _ inputs: Inputs<T, T>, lossGradient: T, gradient: UnsafeMutableBufferPointer<T>?,
    options: BinaryCrossEntropyOptions
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try reduced(inputs, lossGradient: lossGradient, gradient: gradient, options: options) {
      T.kernels($0).sigmoid.binaryCrossEntropy
    }
  }

  /// `reduced` with the kernel `kernel(level)` for logits stored as `X`.
  static func reduced<X, T: KernelScalar>(
    _ inputs: Inputs<X, T>, lossGradient: T, gradient: UnsafeMutableBufferPointer<X>?,
    options: BinaryCrossEntropyOptions, kernel: (ISALevel) -> (BCEBatch<X, T>, Range<Int>) -> Double
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    let n = inputs.logits.count
    let mean = options.reduction == .mean
    let total = try run(
      inputs, rowLosses: nil, sum: true, gradient: gradient, rowLossGradients: nil,
      gradientScale: mean ? lossGradient / T(n) : lossGradient, options, kernel: kernel)
    return LossResult(loss: mean ? T(total / Double(n)) : T(total))
  }

  /// Checks every argument, then runs the kernel over all elements: writes `rowLosses` and
  /// `gradient` (`gradientScale * rowLossGradients_i * dloss_i/dx_i`) when given, and returns
  /// the sum of the losses.
  static func run<T: KernelScalar>(
    _ inputs: Inputs<T, T>, rowLosses: UnsafeMutableBufferPointer<T>?, sum: Bool,
    gradient: UnsafeMutableBufferPointer<T>?, rowLossGradients: UnsafeBufferPointer<T>?,
    gradientScale: T, _ options: BinaryCrossEntropyOptions
  ) throws(SoftmaxKernelsError) -> Double {
    try run(
      inputs, rowLosses: rowLosses, sum: sum, gradient: gradient, rowLossGradients: rowLossGradients,
      gradientScale: gradientScale, options) { T.kernels($0).sigmoid.binaryCrossEntropy }
  }

  /// `run` with the kernel `kernel(level)` for logits (and their gradient) stored as `X`.
  static func run<X, T: KernelScalar>(
    _ inputs: Inputs<X, T>, rowLosses: UnsafeMutableBufferPointer<T>?, sum: Bool,
    gradient: UnsafeMutableBufferPointer<X>?, rowLossGradients: UnsafeBufferPointer<T>?,
    gradientScale: T, _ options: BinaryCrossEntropyOptions,
    kernel: (ISALevel) -> (BCEBatch<X, T>, Range<Int>) -> Double
  ) throws(SoftmaxKernelsError) -> Double {
    let (logits, targets, weight, posWeight) = (inputs.logits, inputs.targets, inputs.weight, inputs.posWeight)
    let n = logits.count
    try checkCount(targets.count, equals: n, "targets")
    if let weight { try checkCount(weight.count, equals: n, "weight") }
    var columns = max(n, 1)
    if let posWeight {
      guard posWeight.count > 0, n % posWeight.count == 0 else {
        throw .invalidArgument(
          argument: "posWeight",
          reason: "\(posWeight.count) entries do not divide the \(n) logits into rows of classes")
      }
      columns = posWeight.count
    }
    if let rowLosses { try checkCount(rowLosses.count, equals: n, "rowLosses") }
    if let gradient { try checkCount(gradient.count, equals: n, "gradient") }
    // An output may be the logits themselves (in place, same type); it overlaps no other input.
    if let rowLosses { try Sigmoid.checkElementwiseAliasing(logits, rowLosses, "rowLosses") }
    if let gradient { try Sigmoid.checkElementwiseAliasing(logits, gradient, "gradient") }
    try checkDisjoint(
      outputs: [ArgumentMemory("rowLosses", rowLosses, count: n), ArgumentMemory("gradient", gradient, count: n)],
      inputs: [
        ArgumentMemory("targets", targets, count: n), ArgumentMemory("weight", weight, count: n),
        ArgumentMemory("posWeight", posWeight, count: columns),
      ])
    let plan = try ExecutionPlan(options.execution, elements: n)
    if options.checksTargets, let y = targets.baseAddress, n > 0 {
      let (lo, hi, nan) = T.kernels(plan.level).sigmoid.range(y, n)
      if nan || lo < 0 || hi > 1 {
        let bad = targets.firstIndex { !($0 >= 0 && $0 <= 1) } ?? 0
        throw .invalidArgument(
          argument: "targets", reason: "targets[\(bad)] = \(targets[bad]) is outside [0, 1]")
      }
    }
    guard n > 0, let x = logits.baseAddress, let y = targets.baseAddress else { return 0 }
    var batch = BCEBatch<X, T>(logits: x, targets: y, columns: columns)
    batch.weight = weight?.baseAddress
    batch.posWeight = posWeight?.baseAddress
    batch.losses = rowLosses?.baseAddress
    batch.sumLosses = sum
    batch.inputGradient = gradient?.baseAddress
    batch.upstream = rowLossGradients?.baseAddress
    batch.gradientScale = gradientScale
    // Fixed groups of elements (the shape alone sets them), summed in group order: every
    // thread count gives bitwise the same loss (`BCEReproducibilityTests`).
    let bce = kernel(plan.level)
    return plan.mapRowGroups(n, columns: 1, { $0 += $1 }) { r in bce(batch, r) }
  }

}
