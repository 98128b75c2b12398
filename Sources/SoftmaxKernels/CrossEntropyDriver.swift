// Checks, scales and dispatch behind every `CrossEntropy` entry point.

import SoftmaxKernelsCore

/// The targets of a cross-entropy call: a class index per row, or a row of probabilities.
enum CrossEntropyTargets<T> {
  case classes(UnsafeBufferPointer<Int>)
  case probabilities(Rows<T>)
}

/// The outputs and upstream gradients of a cross-entropy call; `nil`: not wanted.
/// The outputs of a cross-entropy call: the gradient is stored as the logits (`X`), the rest
/// as `T`.
struct CrossEntropyOutputs<X, T: KernelScalar> {
  var gradient: MutableRows<X>? = nil
  var lossGradient: T = 1
  var rowLossGradients: UnsafeBufferPointer<T>? = nil
  var rowLosses: UnsafeMutableBufferPointer<T>? = nil
  var rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil
  var rowArgmax: UnsafeMutableBufferPointer<Int>? = nil
}

extension CrossEntropy {
  /// Checks every argument (nothing is written when one is bad), then runs the rows.
  static func run<T: KernelScalar>(
    _ logits: Rows<T>, _ targetRows: CrossEntropyTargets<T>, _ classWeights: UnsafeBufferPointer<T>?,
    _ options: CrossEntropyOptions, _ out: CrossEntropyOutputs<T, T>
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    try run(logits, targetRows, classWeights, options, out) { T.kernels($0).losses.crossEntropyRows }
  }

  /// `run` for logits (and gradient) stored as `X`: `T`, or a 16-bit type with `T` = `Float`,
  /// by the kernel `kernels(level)`.
  static func run<X, T: KernelScalar>(
    _ logits: Rows<X>, _ targetRows: CrossEntropyTargets<T>, _ classWeights: UnsafeBufferPointer<T>?,
    _ options: CrossEntropyOptions, _ out: CrossEntropyOutputs<X, T>,
    kernels: (ISALevel) -> (CrossEntropyBatch<X, T>, Range<Int>) -> LossPartial
  ) throws(SoftmaxKernelsError) -> LossResult<T> {
    // Arguments, checked before anything is written.
    let rows = logits.rows, columns = logits.columns
    let layout = try RowLayout.checked(logits, "logits")
    if columns == 0 && rows > 0 {
      // No classes: every row's log-sum-exp would be -inf and its loss NaN (no valid class).
      throw .invalidArgument(argument: "columns", reason: "cross-entropy needs at least one class")
    }
    // Options, converted to the element type first: the converted values are the ones used.
    let terms = try CrossEntropyTerms<T>(
      labelSmoothing: options.labelSmoothing, zLossScale: options.zLossScale, softcap: options.softcap)
    let (labelSmoothing, zLossScale, softcap) = (terms.labelSmoothing, terms.zLossScale, terms.softcap)
    if let classWeights { try checkCount(classWeights.count, equals: columns, "classWeights") }
    for (name, count) in [("rowLosses", out.rowLosses?.count), ("rowLogSumExp", out.rowLogSumExp?.count),
                          ("rowArgmax", out.rowArgmax?.count), ("rowLossGradients", out.rowLossGradients?.count)] {
      if let count, count < rows { throw .bufferTooSmall(argument: name, required: rows, actual: count) }
    }
    if out.rowLossGradients != nil && options.reduction != .none {
      throw .invalidArgument(argument: "rowLossGradients", reason: "only meaningful with reduction .none")
    }
    var normaliser = 0.0  // sum of w_y over non-ignored rows (count for probability targets)
    var validRows = 0
    var targets: UnsafeBufferPointer<Int>?
    var probabilities: (rows: Rows<T>, layout: RowLayout)?
    switch targetRows {
    case .classes(let y):
      try checkCount(y.count, equals: rows, "targets")
      for r in 0..<rows {
        if y[r] == options.ignoreIndex { continue }
        guard y[r] >= 0 && y[r] < columns else {
          throw .invalidArgument(
            argument: "targets",
            reason: "row \(r) has target \(y[r]), outside [0, \(columns)) and not the ignore index \(options.ignoreIndex)")
        }
        normaliser += classWeights.map { Double($0[y[r]]) } ?? 1
        validRows += 1
      }
      targets = y
    case .probabilities(let p):
      guard p.rows == rows, p.columns == columns else {
        throw .invalidArgument(
          argument: "probabilities", reason: "\(p.rows) x \(p.columns), expected \(rows) x \(columns) as the logits")
      }
      probabilities = (p, try RowLayout.checked(p, "probabilities"))
      normaliser = Double(rows)
      validRows = rows
      if let gradient = out.gradient {
        let g = try RowLayout.checked(gradient, "gradient", reading: probabilities!)
        if UnsafeRawPointer(p.buffer.baseAddress) == UnsafeRawPointer(gradient.buffer.baseAddress) && g.span > 0 {
          throw .invalidArgument(argument: "gradient", reason: "must not overwrite the probabilities")
        }
      }
    }
    var gradientLayout: RowLayout?
    if let gradient = out.gradient {
      gradientLayout = try RowLayout.checked(gradient, "gradient", reading: (logits, layout))
    }
    // Outputs must not overlap an input or each other (the gradient may be the logits, above).
    let targetMemory = ArgumentMemory("targets", targets, count: rows)
    let weightMemory = ArgumentMemory("classWeights", classWeights, count: columns)
    let upstreamMemory = ArgumentMemory("rowLossGradients", out.rowLossGradients, count: rows)
    let gradientMemory = ArgumentMemory("gradient", out.gradient?.readOnly, gradientLayout)
    try checkDisjoint(outputs: [gradientMemory], inputs: [targetMemory, weightMemory, upstreamMemory])
    try checkDisjoint(
      outputs: [
        ArgumentMemory("rowLosses", out.rowLosses, count: rows),
        ArgumentMemory("rowLogSumExp", out.rowLogSumExp, count: rows),
        ArgumentMemory("rowArgmax", out.rowArgmax, count: rows),
      ],
      inputs: [
        ArgumentMemory("logits", logits, layout), ArgumentMemory("probabilities", probabilities?.rows, probabilities?.layout),
        targetMemory, weightMemory, upstreamMemory, gradientMemory,
      ])
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)

    // Scales: the gradient of (upstream * reduced loss); `.none` is the sum, each row's
    // upstream `rowLossGradients[r]` when given.
    let upstream = Double(out.lossGradient)
    let (scale, zScale): (Double, Double)
    switch options.reduction {
    case .mean:
      // Total target weight 0 (every target ignored, or class weights summing to 0): the loss
      // is NaN (0 with zeroWhenNoValidTargets); the gradient of rows with a target is then NaN
      // too, as PyTorch's 0 / 0, or 0 with its z-loss part (the derivative of the 0 returned);
      // ignored rows keep 0. A negative total (negative class weights) divides as PyTorch does.
      let noWeight = normaliser == 0
      scale = !noWeight ? upstream / normaliser : options.zeroWhenNoValidTargets ? 0 : .nan
      zScale = validRows > 0 && !(noWeight && options.zeroWhenNoValidTargets) ? upstream / Double(validRows) : 0
    case .sum, .none: (scale, zScale) = (upstream, upstream)
    }
    guard rows > 0, columns > 0, let x = logits.buffer.baseAddress else {
      let empty: T = options.reduction == .mean ? (options.zeroWhenNoValidTargets ? 0 : .nan) : 0
      return LossResult(loss: empty, accuracy: out.rowArgmax == nil ? nil : .nan)
    }
    var batch = CrossEntropyBatch<X, T>(logits: x, logitsStride: layout.stride, rows: rows, columns: columns)
    batch.targets = targets?.baseAddress
    batch.probabilities = probabilities?.rows.buffer.baseAddress
    batch.probabilitiesStride = probabilities?.layout.stride ?? 0
    batch.classWeights = classWeights?.baseAddress
    batch.ignoreIndex = options.ignoreIndex
    batch.labelSmoothing = labelSmoothing
    batch.zLossScale = zLossScale
    batch.softcap = softcap
    batch.gradient = out.gradient?.buffer.baseAddress
    batch.gradientStride = gradientLayout?.stride ?? 0
    let gradientBytes = batch.gradient == nil ? 0 : rows * columns * MemoryLayout<X>.stride
    batch.streamingStores = gradientBytes > 0
      && (options.execution.streamingStores ?? (gradientBytes > streamingStoreThreshold))
    batch.prefetchNextRow = prefetchesNextRow(rows: rows, columns: columns, X.self)
    batch.gradientScale = T(scale)
    batch.perRowGradientScale = out.rowLossGradients?.baseAddress
    batch.zLossGradientScale = T(zScale)
    batch.rowLoss = out.rowLosses?.baseAddress
    batch.rowLogSumExp = out.rowLogSumExp?.baseAddress
    batch.rowArgmax = out.rowArgmax?.baseAddress
    let kernel = kernels(plan.level)
    let partial = plan.mapRows(rows, columns: columns) { kernel(batch, $0) }

    let lambda = Double(zLossScale)
    var loss: Double, zLoss: Double
    switch options.reduction {
    case .mean:
      if normaliser != 0 {
        loss = partial.loss / normaliser
        zLoss = lambda > 0 ? lambda * partial.zLoss / Double(validRows) : 0
      } else {
        loss = options.zeroWhenNoValidTargets ? 0 : .nan
        zLoss = 0
      }
    case .sum, .none:
      loss = partial.loss
      zLoss = lambda > 0 ? lambda * partial.zLoss : 0
    }
    let accuracy = out.rowArgmax == nil ? nil : Double(partial.correct) / Double(validRows)
    return LossResult(loss: T(loss + zLoss), zLoss: T(zLoss), accuracy: accuracy)
  }
}

extension CrossEntropyOptions {
  /// The same options with reduction `.none` (the `rowLosses` functions).
  var unreduced: CrossEntropyOptions {
    var o = self
    o.reduction = .none
    return o
  }
}
