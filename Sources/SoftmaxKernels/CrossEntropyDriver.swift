// Checks, scales and dispatch behind every `CrossEntropy` entry point.

import SoftmaxKernelsCore

// MARK: - Implementation

extension CrossEntropy {
  static func run<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int?,
    targets: UnsafeBufferPointer<Int>?, probabilities: UnsafeBufferPointer<T>?,
    probabilitiesRowStride: Int?, classWeights: UnsafeBufferPointer<T>?,
    options: CrossEntropyOptions, gradient: UnsafeMutableBufferPointer<T>?,
    gradientRowStride: Int?, outputGradient: T, rowOutputGradients: UnsafeBufferPointer<T>?,
    rowLosses: UnsafeMutableBufferPointer<T>?, rowLogSumExp: UnsafeMutableBufferPointer<T>?,
    rowArgmax: UnsafeMutableBufferPointer<Int>?
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    // Arguments, checked before anything is written.
    let layout = try RowLayout.input(logits, rows: rows, columns: columns, stride: logitsRowStride, "logits")
    guard options.labelSmoothing >= 0 && options.labelSmoothing <= 1 else {
      throw .invalidArgument(
        argument: "labelSmoothing", reason: "\(options.labelSmoothing) is outside [0, 1]")
    }
    guard options.zLossScale.isFinite && options.zLossScale >= 0 else {
      throw .invalidArgument(argument: "zLossScale", reason: "\(options.zLossScale) is not a finite value >= 0")
    }
    if let c = options.softcap, !(c > 0 && c.isFinite) {
      throw .invalidArgument(argument: "softcap", reason: "\(c) is not a positive finite value")
    }
    if let classWeights { try Softmax.checkCounts(columns, classWeights.count, "classWeights") }
    for (name, count) in [("rowLosses", rowLosses?.count), ("rowLogSumExp", rowLogSumExp?.count),
                          ("rowArgmax", rowArgmax?.count), ("rowOutputGradients", rowOutputGradients?.count)] {
      if let count, count < rows { throw .bufferTooSmall(argument: name, required: rows, actual: count) }
    }
    if options.reduction == .none && rowLosses == nil {
      throw .invalidArgument(argument: "rowLosses", reason: "reduction .none needs a buffer for the row losses")
    }
    if rowOutputGradients != nil && options.reduction != .none {
      throw .invalidArgument(argument: "rowOutputGradients", reason: "only meaningful with reduction .none")
    }
    var normaliser = 0.0  // sum of w_y over non-ignored rows (count for probability targets)
    var validRows = 0
    if let targets {
      try Softmax.checkCounts(rows, targets.count, "targets")
      for r in 0..<rows {
        let y = targets[r]
        if y == options.ignoreIndex { continue }
        guard y >= 0 && y < columns else {
          throw .invalidArgument(
            argument: "targets",
            reason: "row \(r) has target \(y), outside [0, \(columns)) and not the ignore index \(options.ignoreIndex)")
        }
        normaliser += classWeights.map { Double($0[y]) } ?? 1
        validRows += 1
      }
    }
    var probabilitiesStride = 0
    if let probabilities {
      let p = try RowLayout.input(
        probabilities, rows: rows, columns: columns, stride: probabilitiesRowStride, "probabilities")
      probabilitiesStride = p.stride
      normaliser = Double(rows)
      validRows = rows
      if let gradient {
        let g = try RowLayout.output(
          gradient, rows: rows, columns: columns, stride: gradientRowStride, "gradient",
          reading: (probabilities, p))
        if probabilities.baseAddress == UnsafePointer(gradient.baseAddress) && g.span > 0 {
          throw .invalidArgument(argument: "gradient", reason: "must not overwrite the probabilities")
        }
      }
    }
    var gradientStride = 0
    if let gradient {
      gradientStride = try RowLayout.output(
        gradient, rows: rows, columns: columns, stride: gradientRowStride, "gradient",
        reading: (logits, layout)).stride
    }
    let plan = try ExecutionPlan(options.execution, elements: rows * columns)

    // Scales: the gradient of (upstream * reduced loss).
    let upstream = Double(outputGradient)
    let (scale, zScale): (Double, Double)
    switch options.reduction {
    case .mean:
      scale = normaliser > 0 ? upstream / normaliser : 0
      zScale = validRows > 0 ? upstream / Double(validRows) : 0
    case .sum: (scale, zScale) = (upstream, upstream)
    case .none: (scale, zScale) = (1, 1)
    }
    guard rows > 0, columns > 0, let x = logits.baseAddress else {
      let empty: T = options.reduction == .mean ? (options.zeroWhenNoValidTargets ? 0 : .nan) : 0
      if columns == 0 && rows > 0 {
        // No classes: every row's log-sum-exp is -inf and its loss NaN (no valid class).
        throw .invalidArgument(argument: "columns", reason: "cross-entropy needs at least one class")
      }
      return CrossEntropyResult(loss: empty, zLoss: 0, accuracy: rowArgmax == nil ? nil : .nan)
    }
    let batch = CrossEntropyBatch<T>(
      logits: x, logitsStride: layout.stride, rows: rows, columns: columns,
      targets: targets?.baseAddress, probabilities: probabilities?.baseAddress,
      probabilitiesStride: probabilitiesStride, classWeights: classWeights?.baseAddress,
      ignoreIndex: options.ignoreIndex, labelSmoothing: T(options.labelSmoothing),
      zLossScale: T(options.zLossScale), softcap: T(options.softcap ?? 0),
      gradient: gradient?.baseAddress,
      gradientStride: gradientStride, gradientScale: T(scale),
      perRowGradientScale: rowOutputGradients?.baseAddress, zLossGradientScale: T(zScale),
      rowLoss: rowLosses?.baseAddress, rowLogSumExp: rowLogSumExp?.baseAddress,
      rowArgmax: rowArgmax?.baseAddress)
    let table = T.kernels(plan.level).losses
    let partial = plan.mapRows(rows, columns: columns) { table.crossEntropyRows(batch, $0) }

    let lambda = options.zLossScale
    var loss: Double, zLoss: Double
    switch options.reduction {
    case .mean:
      if normaliser > 0 {
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
    let accuracy = rowArgmax == nil ? nil : Double(partial.correct) / Double(validRows)
    return CrossEntropyResult(loss: T(loss + zLoss), zLoss: T(zLoss), accuracy: accuracy)
  }
}
