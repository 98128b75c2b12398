// Cross-entropy from logits with PyTorch's options, fused with its gradient.

import SoftmaxKernelsCore

/// The result of a cross-entropy call.
public struct CrossEntropyResult<T: SoftmaxScalar>: Equatable, Sendable {
  /// The reduced loss, z-loss included: `.mean` and `.sum` as PyTorch; with `.none` the sum of
  /// the per-row losses (which are written to `rowLosses`).
  public var loss: T
  /// The z-loss part of `loss` (0 when `zLossScale` is 0).
  public var zLoss: T
  /// Fraction of non-ignored rows whose argmax is the target, when `rowArgmax` was requested
  /// (integer targets); otherwise `nil`.
  public var accuracy: Double?
}

/// Cross-entropy between the softmax of logits and integer or probability targets, with the
/// semantics of PyTorch's `torch.nn.functional.cross_entropy`, plus
/// PaLM's auxiliary z-loss, and the fused gradient with respect to the logits.
///
/// For row `n` with logits `x`, `lse = log sum_c exp(x_c)`, `p = softmax(x)`, target `y`, class
/// weights `w` (1 without), label smoothing `eps`, `C` classes and `W = sum_c w_c`:
/// - loss: `l_n = (1 - eps) w_y (lse - x_y) + (eps / C)(W lse - sum_c w_c x_c)`, and
///   `zLossScale * lse^2` on top; ignored rows (target == `ignoreIndex`) contribute 0.
/// - `.mean` divides by `sum` of `w_y` over non-ignored rows (their count when unweighted); the
///   z-loss by their count. Probability targets `t`: `l_n = sum_c w_c t'_c (lse - x_c)` with
///   `t' = (1 - eps) t + eps / C`, and `.mean` divides by the number of rows.
/// - gradient: `dx_i = s [(1 - eps) w_y (p_i - [i = y]) + (eps / C)(W p_i - w_i)]
///   + 2 zLossScale lse p_i s_z` (probability targets: `s (p_i sum_c w_c t'_c - w_i t'_i)`),
///   where `s` is the upstream gradient over the mean's denominator. The target entry is
///   computed as `expm1(x_y - lse)` (or `-rest / (1 + rest)` when the target is the dominant
///   maximum), so it does not cancel as `p_y -> 1`; the loss `lse - x_y` is then
///   `log1p(rest)`, with `rest` the sum of the other classes' `exp(x_c - x_y)`, so it stays
///   non-zero where a float32 `log_softmax` rounds it to 0 ("Softmax Collapse").
///
/// **Edge cases** (PyTorch's): a target outside `[0, C)` that is not
/// `ignoreIndex` throws (naming the row); `.mean` with every target ignored gives NaN, or 0 with
/// `zeroWhenNoValidTargets`; no rows: `.mean` NaN, `.sum` 0; `-inf` at the target gives `+inf`
/// with a finite gradient; `-inf` logits with `eps > 0` give `+inf`; a NaN or `+inf` logit, or an
/// all `-inf` row, gives NaN loss and gradient for that row. `ignoreIndex` is a sample mask:
/// an ignored class stays in the softmax denominator (pytorch/pytorch#63004).
///
/// **Accuracy** (enforced by the tests against a Float80 reference that does not cancel; measured
/// maxima over every option combination, ISA level and thread count in parentheses): loss (reduced
/// and per row) within `2e-6 max(1, |loss|)` for Float (1.8e-7), `1e-14 max(1, |loss|)` for Double
/// (2.7e-15); gradients within `1e-7 + 1e-5 |ref|` for Float (0.58 of it, at a dominant soft
/// target) and `1e-16 + 1e-13 |ref|` for Double (0.93 of it, same row: `p_i W - w_i t_i` cancels
/// there). A row's log-sum-exp is carried as its maximum `m` and `log sum exp(x - m)`, and every
/// term as `(m - x_c) + log sum`, so these bounds hold for rows far from 0 too (shift invariance:
/// `1e4 + U[-8, 8)`, `1e6 + ...` in Float, `1e12 + ...` in Double give the same losses and
/// gradients); the z-loss `lse^2` and soft-capping are not shift-invariant and keep the bounds
/// against the exact value. The loss of a row whose target dominates (`log1p(rest)`, tiny) has
/// relative error below `1e-5` (Float; 1.6e-7 measured) / `1e-13` (Double; 1.9e-16). Reductions
/// accumulate in Double over fixed groups of rows (at least 2^18 elements each) merged in group
/// order, so every output, the reduced loss included, is bitwise the same for every thread
/// count (`ReproducibilityTests`: threads 1, 2, 3, 7).
///
/// **Memory and complexity**: forward reads each logit row from memory once (a max pass, then
/// passes over the cached row); with the gradient, one more write pass; no intermediate
/// log-softmax. The gradient may overwrite the logits (same start and stride) so a training step
/// needs no second logits-sized buffer (as Liger-Kernel). Rows are spread over threads.
public enum CrossEntropy {}

extension CrossEntropy {
  /// Cross-entropy of `rows` rows of `columns` logits against integer targets.
  ///
  /// - Parameters:
  ///   - logits: row `r` starts at `r * logitsRowStride`.
  ///   - rows: the number of rows (samples).
  ///   - columns: the number of classes `C`.
  ///   - logitsRowStride: elements from one row's start to the next; default `columns`.
  ///   - targets: one class index per row, in `[0, columns)` or equal to
  ///     `CrossEntropyOptions.ignoreIndex`.
  ///   - classWeights: `columns` weights `w_c`; `nil` means every weight is 1.
  ///   - options: reduction, ignore index, label smoothing, z-loss, soft-capping, threads, level.
  ///   - rowLosses: with `.none`, required: receives each row's loss (z-loss included).
  ///   - rowLogSumExp: receives each row's log-sum-exp (to compose other losses).
  ///   - rowArgmax: receives each row's first argmax; enables `accuracy`.
  public static func loss<T: SoftmaxScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int? = nil,
    targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(),
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    try run(
      logits: logits, rows: rows, columns: columns, logitsRowStride: logitsRowStride,
      targets: targets, probabilities: nil, probabilitiesRowStride: nil,
      classWeights: classWeights, options: options, gradient: nil, gradientRowStride: nil,
      outputGradient: 1, rowOutputGradients: nil, rowLosses: rowLosses,
      rowLogSumExp: rowLogSumExp, rowArgmax: rowArgmax)
  }

  /// Cross-entropy and its gradient with respect to the logits, in one fused call.
  ///
  /// - Parameters:
  ///   - logits: row `r` starts at `r * logitsRowStride`.
  ///   - rows: the number of rows (samples).
  ///   - columns: the number of classes `C`.
  ///   - logitsRowStride: elements from one row's start to the next; default `columns`.
  ///   - targets: one class index per row, in `[0, columns)` or equal to
  ///     `CrossEntropyOptions.ignoreIndex`.
  ///   - classWeights: `columns` weights `w_c`; `nil` means every weight is 1.
  ///   - options: reduction, ignore index, label smoothing, z-loss, soft-capping, threads, level.
  ///   - gradient: receives `d(outputGradient * loss)/d logits`; may be `logits` itself.
  ///   - gradientRowStride: the gradient's row stride; default `columns`.
  ///   - outputGradient: the upstream gradient of the reduced loss (`.mean`, `.sum`).
  ///   - rowOutputGradients: with `.none`, the upstream gradient of each row's loss (default 1).
  ///   - rowLosses: with `.none`, required: receives each row's loss (z-loss included).
  ///   - rowLogSumExp: receives each row's log-sum-exp (to compose other losses).
  ///   - rowArgmax: receives each row's first argmax; enables `accuracy`.
  public static func lossAndGradient<T: SoftmaxScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int? = nil,
    targets: UnsafeBufferPointer<Int>, classWeights: UnsafeBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(),
    gradient: UnsafeMutableBufferPointer<T>, gradientRowStride: Int? = nil,
    outputGradient: T = 1, rowOutputGradients: UnsafeBufferPointer<T>? = nil,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil,
    rowArgmax: UnsafeMutableBufferPointer<Int>? = nil
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    try run(
      logits: logits, rows: rows, columns: columns, logitsRowStride: logitsRowStride,
      targets: targets, probabilities: nil, probabilitiesRowStride: nil,
      classWeights: classWeights, options: options, gradient: gradient,
      gradientRowStride: gradientRowStride, outputGradient: outputGradient,
      rowOutputGradients: rowOutputGradients, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      rowArgmax: rowArgmax)
  }

  /// Cross-entropy against probability (soft) targets, row-major like the logits.
  public static func loss<T: SoftmaxScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int? = nil,
    probabilities: UnsafeBufferPointer<T>, probabilitiesRowStride: Int? = nil,
    classWeights: UnsafeBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(),
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    try run(
      logits: logits, rows: rows, columns: columns, logitsRowStride: logitsRowStride,
      targets: nil, probabilities: probabilities, probabilitiesRowStride: probabilitiesRowStride,
      classWeights: classWeights, options: options, gradient: nil, gradientRowStride: nil,
      outputGradient: 1, rowOutputGradients: nil, rowLosses: rowLosses,
      rowLogSumExp: rowLogSumExp, rowArgmax: nil)
  }

  /// Cross-entropy against probability targets and its gradient with respect to the logits.
  public static func lossAndGradient<T: SoftmaxScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int? = nil,
    probabilities: UnsafeBufferPointer<T>, probabilitiesRowStride: Int? = nil,
    classWeights: UnsafeBufferPointer<T>? = nil,
    options: CrossEntropyOptions = CrossEntropyOptions(),
    gradient: UnsafeMutableBufferPointer<T>, gradientRowStride: Int? = nil,
    outputGradient: T = 1, rowOutputGradients: UnsafeBufferPointer<T>? = nil,
    rowLosses: UnsafeMutableBufferPointer<T>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<T>? = nil
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    try run(
      logits: logits, rows: rows, columns: columns, logitsRowStride: logitsRowStride,
      targets: nil, probabilities: probabilities, probabilitiesRowStride: probabilitiesRowStride,
      classWeights: classWeights, options: options, gradient: gradient,
      gradientRowStride: gradientRowStride, outputGradient: outputGradient,
      rowOutputGradients: rowOutputGradients, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      rowArgmax: nil)
  }
}

// MARK: - Arrays

extension CrossEntropy {
  /// The reduced cross-entropy of `logits` (rows of `classes` entries) against `targets`.
  public static func loss<T: SoftmaxScalar>(
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
  public static func rowLosses<T: SoftmaxScalar>(
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
  public static func lossAndGradient<T: SoftmaxScalar>(
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
  public static func loss<T: SoftmaxScalar>(
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

  static func withArrays<T: SoftmaxScalar, R>(
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

// MARK: - Implementation

extension CrossEntropy {
  static func run<T: SoftmaxScalar>(
    logits: UnsafeBufferPointer<T>, rows: Int, columns: Int, logitsRowStride: Int?,
    targets: UnsafeBufferPointer<Int>?, probabilities: UnsafeBufferPointer<T>?,
    probabilitiesRowStride: Int?, classWeights: UnsafeBufferPointer<T>?,
    options: CrossEntropyOptions, gradient: UnsafeMutableBufferPointer<T>?,
    gradientRowStride: Int?, outputGradient: T, rowOutputGradients: UnsafeBufferPointer<T>?,
    rowLosses: UnsafeMutableBufferPointer<T>?, rowLogSumExp: UnsafeMutableBufferPointer<T>?,
    rowArgmax: UnsafeMutableBufferPointer<Int>?
  ) throws(SoftmaxKernelsError) -> CrossEntropyResult<T> {
    // Arguments, checked before anything is written.
    let layout = try RowLayout.validated(
      rows: rows, columns: columns, stride: logitsRowStride, count: logits.count,
      argument: "logits", strideArgument: "logitsRowStride")
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
      let p = try RowLayout.validated(
        rows: rows, columns: columns, stride: probabilitiesRowStride, count: probabilities.count,
        argument: "probabilities", strideArgument: "probabilitiesRowStride")
      probabilitiesStride = p.stride
      normaliser = Double(rows)
      validRows = rows
      if let gradient {
        let g = try RowLayout.validated(
          rows: rows, columns: columns, stride: gradientRowStride, count: gradient.count,
          argument: "gradient", strideArgument: "gradientRowStride")
        try checkAliasing(
          input: UnsafeRawPointer(probabilities.baseAddress), RowLayout(rows: rows, columns: columns, stride: p.stride),
          output: UnsafeRawPointer(gradient.baseAddress), g, T.self, outputArgument: "gradient")
        if probabilities.baseAddress == UnsafePointer(gradient.baseAddress) && g.span > 0 {
          throw .invalidArgument(argument: "gradient", reason: "must not overwrite the probabilities")
        }
      }
    }
    var gradientStride = 0
    if let gradient {
      let g = try RowLayout.validated(
        rows: rows, columns: columns, stride: gradientRowStride, count: gradient.count,
        argument: "gradient", strideArgument: "gradientRowStride")
      try checkAliasing(
        input: UnsafeRawPointer(logits.baseAddress), layout,
        output: UnsafeRawPointer(gradient.baseAddress), g, T.self, outputArgument: "gradient")
      gradientStride = g.stride
    }
    let plan = try ExecutionPlan(options.softmaxOptions, elements: rows * columns)

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
