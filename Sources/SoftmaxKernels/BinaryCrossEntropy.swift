// Binary cross-entropy with logits (PyTorch `BCEWithLogitsLoss`): forward, gradient, fused.

import SoftmaxKernelsCore

/// Binary cross-entropy with logits, with PyTorch's `weight`, `pos_weight` and `reduction`
/// (`torch.nn.BCEWithLogitsLoss`).
///
/// For logits `x`, targets `y` in `[0, 1]` (soft labels allowed), per-element weights `w`
/// (default 1) and per-class positive weights `p` (default 1; `posWeight[c]` applies to every
/// element of column `c` of the row-major `rows x posWeight.count` layout):
///
///     loss_i = -w_i [p y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))]
///            = w_i [(1 - y_i) softplus(x_i) + p y_i softplus(-x_i)]
///     dloss_i/dx_i = w_i [(1 - y_i) sigmoid(x_i) - p y_i sigmoid(-x_i)]
///                  = w_i [sigmoid(x_i) (1 + (p - 1) y_i) - p y_i]
///
/// `softplus(±x) = max(±x, 0) + log1p(e^-|x|)` never overflows; the gradient form has no
/// cancellation for hard labels (PyTorch's `sigmoid(x) - y` rounds to 0 once `sigmoid(x)`
/// rounds to 1). Reductions: `.none` (one loss per element), `.mean` (sum over **all** elements
/// divided by their count, not by the weights, as PyTorch), `.sum`.
///
/// **Accuracy** (`BCETests`, against the stable form above in Float80, which is checked against
/// PyTorch's own formula in Double): per-element losses within 8 units of 2^-24 relative error
/// (Float), gradients within 8 units of 2^-24 of `|w| ((1 - y) sigmoid(x) + p y sigmoid(-x))`
/// (relative for hard labels; soft labels cancel), the mean over 2^20 elements within 1e-6
/// relative (sums accumulate in Double across 4096-element windows).
///
/// **Edge cases**: `x = +inf` gives loss 0 for `y = 1` and `+inf` for `y = 0`; `x = -inf` the
/// reverse (the vanishing term is 0, not `0 * inf`); gradients are then 0 or `±w`. NaN logits
/// propagate. `.mean` of zero elements is NaN, `.sum` is 0 (PyTorch).
///
/// **Errors** (thrown before anything is written): count mismatches, `posWeight` empty or not
/// dividing the element count, targets outside `[0, 1]` or NaN (unless
/// `BinaryCrossEntropyOptions.checksTargets` is false: the check reads the targets once more),
/// outputs overlapping an input other than exactly (in place over the logits is allowed).
///
/// - Complexity: O(n), one read of each input, one exponential, one logarithm and one division
///   per element; the fused loss-and-gradient call reads everything once.
public enum BinaryCrossEntropy {
  /// How per-element losses are combined (PyTorch's `reduction`).
  public enum Reduction: String, CaseIterable, Sendable {
    /// One loss per element.
    case none
    /// Sum over all elements divided by the element count.
    case mean
    /// Sum over all elements.
    case sum
  }
}

/// Options of `BinaryCrossEntropy`.
public struct BinaryCrossEntropyOptions: Sendable, Equatable {
  /// How the per-element losses are combined; `.mean` by default (PyTorch's default).
  public var reduction: BinaryCrossEntropy.Reduction
  /// Check that every target is in `[0, 1]` (default). `false` skips the extra read of the
  /// targets; out-of-range targets then give PyTorch's formula's value.
  public var checksTargets: Bool
  /// The threads and instruction-set level of the call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults are PyTorch's (`.mean`) with the targets
  /// checked, all cores and the process's level.
  public init(
    reduction: BinaryCrossEntropy.Reduction = .mean, checksTargets: Bool = true,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.reduction = reduction
    self.checksTargets = checksTargets
    self.execution = execution
  }
}

extension BinaryCrossEntropyOptions: KernelOptions {
  /// PyTorch's defaults (`.mean`), targets checked, all cores, the process's level.
  public init() { self.init(reduction: .mean) }
}

// MARK: - Buffers

extension BinaryCrossEntropy {
  /// The reduced loss (`.mean` or `.sum`), and, when `inputGradient` is given, its gradient
  /// with respect to the logits in the same pass (`inputGradient` may be `logits` itself).
  ///
  /// - Throws: for `.none` (use `losses(logits:targets:weight:posWeight:into:options:)`) and
  ///   the errors listed on `BinaryCrossEntropy`.
  public static func withLogits<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    inputGradient: UnsafeMutableBufferPointer<T>? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> T {
    guard options.reduction != .none else {
      throw .invalidArgument(
        argument: "reduction", reason: "none has one loss per element: use losses(logits:targets:into:)")
    }
    let n = logits.count
    let scale = T(1) / (options.reduction == .mean ? T(n) : 1)
    let total = try run(
      logits, targets, weight, posWeight, losses: nil, sum: true, inputGradient: inputGradient,
      upstream: nil, gradientScale: scale, options)
    return options.reduction == .mean ? T(total / Double(n)) : T(total)
  }

  /// Per-element losses (reduction `.none`; `options.reduction` is ignored). `losses` may be
  /// `logits` itself.
  public static func losses<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    into losses: UnsafeMutableBufferPointer<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    _ = try run(
      logits, targets, weight, posWeight, losses: losses, sum: false, inputGradient: nil,
      upstream: nil, gradientScale: 1, options)
  }

  /// The gradient with respect to the logits for an upstream gradient `outputGradient`: one
  /// value for `.mean` / `.sum`, one per element for `.none`.
  public static func withLogitsBackward<T: KernelScalar>(
    logits: UnsafeBufferPointer<T>, targets: UnsafeBufferPointer<T>,
    weight: UnsafeBufferPointer<T>? = nil, posWeight: UnsafeBufferPointer<T>? = nil,
    outputGradient: UnsafeBufferPointer<T>, inputGradient: UnsafeMutableBufferPointer<T>,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) {
    let n = logits.count
    switch options.reduction {
    case .none:
      guard outputGradient.count == n else {
        throw .countMismatch(argument: "outputGradient", expected: n, actual: outputGradient.count)
      }
      try Sigmoid.checkElementwiseAliasing(outputGradient, inputGradient, "inputGradient")
      _ = try run(
        logits, targets, weight, posWeight, losses: nil, sum: false, inputGradient: inputGradient,
        upstream: outputGradient, gradientScale: 1, options)
    case .mean, .sum:
      guard outputGradient.count == 1 else {
        throw .countMismatch(argument: "outputGradient", expected: 1, actual: outputGradient.count)
      }
      let g = outputGradient[0]
      let scale = options.reduction == .mean ? g / T(n) : g
      _ = try run(
        logits, targets, weight, posWeight, losses: nil, sum: false, inputGradient: inputGradient,
        upstream: nil, gradientScale: scale, options)
    }
  }
}

// MARK: - Arrays

extension BinaryCrossEntropy {
  /// The reduced loss (`.mean` by default, or `.sum`).
  public static func withLogits<T: KernelScalar>(
    _ logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> T {
    try withArrays(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
      try withLogits(logits: x, targets: y, weight: w, posWeight: p, options: options)
    }
  }

  /// The reduced loss and its gradient with respect to the logits, in one pass.
  public static func withLogitsAndGradient<T: KernelScalar>(
    _ logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> (loss: T, gradient: [T]) {
    var loss = T.nan
    let gradient = try Sigmoid.map(logits) { (_, dx) throws(SoftmaxKernelsError) in
      loss = try withArrays(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
        try withLogits(logits: x, targets: y, weight: w, posWeight: p, inputGradient: dx, options: options)
      }
    }
    return (loss, gradient)
  }

  /// Per-element losses.
  public static func losses<T: KernelScalar>(
    _ logits: [T], targets: [T], weight: [T]? = nil, posWeight: [T]? = nil,
    options: BinaryCrossEntropyOptions = BinaryCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try Sigmoid.map(logits) { (_, out) throws(SoftmaxKernelsError) in
      try withArrays(logits, targets, weight, posWeight) { (x, y, w, p) throws(SoftmaxKernelsError) in
        try losses(logits: x, targets: y, weight: w, posWeight: p, into: out, options: options)
      }
    }
  }

  static func withArrays<T, R>(
    _ x: [T], _ y: [T], _ w: [T]?, _ p: [T]?,
    _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeBufferPointer<T>?,
             UnsafeBufferPointer<T>?) throws(SoftmaxKernelsError) -> R
  ) throws(SoftmaxKernelsError) -> R {
    var result: Result<R, SoftmaxKernelsError>?
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeBufferPointer { yp in
        withOptionalBuffer(w) { wp in
          withOptionalBuffer(p) { pp in
            do throws(SoftmaxKernelsError) { result = .success(try body(xp, yp, wp, pp)) } catch {
              result = .failure(error)
            }
          }
        }
      }
    }
    return try result!.get()
  }

  static func withOptionalBuffer<T>(_ a: [T]?, _ body: (UnsafeBufferPointer<T>?) -> Void) {
    if let a { a.withUnsafeBufferPointer { body($0) } } else { body(nil) }
  }
}

// MARK: - Implementation

extension BinaryCrossEntropy {
  static func run<T: KernelScalar>(
    _ logits: UnsafeBufferPointer<T>, _ targets: UnsafeBufferPointer<T>,
    _ weight: UnsafeBufferPointer<T>?, _ posWeight: UnsafeBufferPointer<T>?,
    losses: UnsafeMutableBufferPointer<T>?, sum: Bool,
    inputGradient: UnsafeMutableBufferPointer<T>?, upstream: UnsafeBufferPointer<T>?,
    gradientScale: T, _ options: BinaryCrossEntropyOptions
  ) throws(SoftmaxKernelsError) -> Double {
    let n = logits.count
    guard targets.count == n else {
      throw .countMismatch(argument: "targets", expected: n, actual: targets.count)
    }
    if let weight, weight.count != n {
      throw .countMismatch(argument: "weight", expected: n, actual: weight.count)
    }
    var columns = max(n, 1)
    if let posWeight {
      guard posWeight.count > 0, n % posWeight.count == 0 else {
        throw .invalidArgument(
          argument: "posWeight",
          reason: "\(posWeight.count) entries do not divide the \(n) logits into rows of classes")
      }
      columns = posWeight.count
    }
    if let losses {
      guard losses.count == n else {
        throw .countMismatch(argument: "losses", expected: n, actual: losses.count)
      }
    }
    if let inputGradient {
      guard inputGradient.count == n else {
        throw .countMismatch(argument: "inputGradient", expected: n, actual: inputGradient.count)
      }
    }
    for (output, name) in [(losses, "losses"), (inputGradient, "inputGradient")] {
      guard let output else { continue }
      try Sigmoid.checkElementwiseAliasing(logits, output, name)
      try Sigmoid.checkElementwiseAliasing(targets, output, name)
      if let weight { try Sigmoid.checkElementwiseAliasing(weight, output, name) }
      if let posWeight {
        try checkDisjoint(UnsafeRawBufferPointer(posWeight), UnsafeRawBufferPointer(output), name)
      }
    }
    if let losses, let inputGradient {
      try checkDisjoint(UnsafeRawBufferPointer(losses), UnsafeRawBufferPointer(inputGradient), "inputGradient")
    }
    let plan = try ExecutionPlan(options.execution, elements: n)
    let table = T.kernels(plan.level).sigmoid
    if options.checksTargets, let y = targets.baseAddress, n > 0 {
      let (lo, hi, nan) = table.range(y, n)
      if nan || lo < 0 || hi > 1 {
        let bad = targets.firstIndex { !($0 >= 0 && $0 <= 1) } ?? 0
        throw .invalidArgument(
          argument: "targets", reason: "targets[\(bad)] = \(targets[bad]) is outside [0, 1]")
      }
    }
    guard n > 0, let x = logits.baseAddress, let y = targets.baseAddress else { return 0 }
    let batch = BCEBatch<T>(
      logits: x, targets: y, weight: weight?.baseAddress, posWeight: posWeight?.baseAddress,
      columns: columns, losses: losses?.baseAddress, sumLosses: sum,
      inputGradient: inputGradient?.baseAddress, upstream: upstream?.baseAddress,
      gradientScale: gradientScale)
    // Fixed groups of elements (the shape alone sets them), summed in group order: every
    // thread count gives bitwise the same loss (`BCEReproducibilityTests`).
    return plan.mapRowGroups(n, columns: 1, { $0 += $1 }) { r in table.binaryCrossEntropy(batch, r) }
  }

  static func checkDisjoint(
    _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ argument: String
  ) throws(SoftmaxKernelsError) {
    guard let pa = a.baseAddress, let pb = b.baseAddress, a.count > 0, b.count > 0 else { return }
    if pa < pb + b.count && pb < pa + a.count {
      throw .invalidArgument(argument: argument, reason: "overlaps another argument")
    }
  }
}
