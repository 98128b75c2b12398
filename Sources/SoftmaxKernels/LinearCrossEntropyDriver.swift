// Checks, scales, threads and the tile schedule behind every `LinearCrossEntropy` entry point.

import SoftmaxKernelsCore

/// The gradient outputs of a `lossAndGradient` call, stored as `S`.
struct LinearCrossEntropyGradientOutputs<S> {
  var embeddings: MutableRows<S>
  var classifier: MutableRows<S>
  var bias: UnsafeMutableBufferPointer<S>?
  var lossGradient: Float
}

/// The module's linear + cross-entropy kernels of every level, built once per process.
private let linearKernels = ISALevel.allCases.map { kernelModule($0).linearCrossEntropy }

extension LinearCrossEntropy {
  /// `run` with `Float` storage.
  static func run(
    _ embeddings: Rows<Float>, _ classifier: Rows<Float>, _ bias: UnsafeBufferPointer<Float>?,
    _ targets: UnsafeBufferPointer<Int>, _ options: LinearCrossEntropyOptions,
    rowLosses: UnsafeMutableBufferPointer<Float>?, rowLogSumExp: UnsafeMutableBufferPointer<Float>?,
    gradients: LinearCrossEntropyGradientOutputs<Float>?
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(
      embeddings, classifier, bias, targets, options, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      gradients: gradients, kernels: { linearKernels[$0.rawValue] })
  }

  /// Checks every argument (nothing is written when one is bad), then runs the forward pass
  /// over token blocks and, for gradients, the backward pass over tiles. `S`: the storage type
  /// of the embeddings, classifier, bias and their gradients (`Float` or 16-bit).
  static func run<S: BitwiseCopyable>(
    _ embeddings: Rows<S>, _ classifier: Rows<S>, _ bias: UnsafeBufferPointer<S>?,
    _ targets: UnsafeBufferPointer<Int>, _ options: LinearCrossEntropyOptions,
    rowLosses: UnsafeMutableBufferPointer<Float>?, rowLogSumExp: UnsafeMutableBufferPointer<Float>?,
    gradients: LinearCrossEntropyGradientOutputs<S>?, kernels kernelsOf: (ISALevel) -> LinearCrossEntropyKernels<S>
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let tokens = embeddings.rows, dimension = embeddings.columns, classes = classifier.rows
    let eLayout = try RowLayout.checked(embeddings, "embeddings")
    let cLayout = try RowLayout.checked(classifier, "classifier")
    guard classifier.columns == dimension else {
      throw .invalidArgument(
        argument: "classifier",
        reason: "\(classes) x \(classifier.columns), expected \(dimension) columns as the embeddings")
    }
    if classes == 0 && tokens > 0 {
      throw .invalidArgument(argument: "classifier", reason: "cross-entropy needs at least one class")
    }
    if let bias { try checkCount(bias.count, equals: classes, "bias") }
    try checkCount(targets.count, equals: tokens, "targets")
    let terms = try CrossEntropyTerms<Float>(
      labelSmoothing: options.labelSmoothing, zLossScale: options.zLossScale, softcap: options.softcap)
    let (labelSmoothing, zLossScale, softcap) = (terms.labelSmoothing, terms.zLossScale, terms.softcap)
    var gradientFilter: Float = 0
    if let f = options.gradientFilter {
      gradientFilter = Float(f)
      guard gradientFilter >= 0 && gradientFilter.isFinite else {
        throw .invalidArgument(argument: "gradientFilter", reason: "\(f) is not a finite value >= 0 in Float")
      }
    }
    for (name, count) in [("rowLosses", rowLosses?.count), ("rowLogSumExp", rowLogSumExp?.count)] {
      if let count, count < tokens { throw .bufferTooSmall(argument: name, required: tokens, actual: count) }
    }
    var validTokens = 0
    for n in 0..<tokens {
      let y = targets[n]
      if y == options.ignoreIndex { continue }
      guard y >= 0 && y < classes else {
        throw .invalidArgument(
          argument: "targets",
          reason: "token \(n) has target \(y), outside [0, \(classes)) and not the ignore index \(options.ignoreIndex)")
      }
      validTokens += 1
    }
    var eGradientLayout: RowLayout?, cGradientLayout: RowLayout?
    if let g = gradients {
      eGradientLayout = try RowLayout.checked(g.embeddings, "embeddingsGradient", shaped: embeddings)
      cGradientLayout = try RowLayout.checked(g.classifier, "classifierGradient", shaped: classifier)
      if let b = g.bias { try checkCount(b.count, equals: classes, "biasGradient") }
    }
    // Outputs must not overlap an input or each other.
    try checkDisjoint(
      outputs: [
        ArgumentMemory("embeddingsGradient", gradients?.embeddings.readOnly, eGradientLayout),
        ArgumentMemory("classifierGradient", gradients?.classifier.readOnly, cGradientLayout),
        ArgumentMemory("biasGradient", gradients?.bias, count: classes),
        ArgumentMemory("rowLosses", rowLosses, count: tokens),
        ArgumentMemory("rowLogSumExp", rowLogSumExp, count: tokens),
      ],
      inputs: [
        ArgumentMemory("embeddings", embeddings, eLayout), ArgumentMemory("classifier", classifier, cLayout),
        ArgumentMemory("bias", bias, count: classes), ArgumentMemory("targets", targets, count: tokens),
      ])
    let plan = try ExecutionPlan(options.execution, elements: tokens * classes)

    let upstream = Double(gradients?.lossGradient ?? 1)
    let scale: Double
    switch options.reduction {
    case .mean: scale = validTokens > 0 ? upstream / Double(validTokens) : 0
    case .sum, .none: scale = upstream
    }
    if let g = gradients {
      // The gradients accumulate tile by tile from zero.
      zeroRows(g.embeddings, eGradientLayout!)
      zeroRows(g.classifier, cGradientLayout!)
      if let b = g.bias { UnsafeMutableRawBufferPointer(b).initializeMemory(as: UInt8.self, repeating: 0) }
    }
    let empty: Float = options.reduction == .mean && !options.zeroWhenNoValidTargets ? .nan : 0
    guard tokens > 0 else { return LossResult(loss: empty) }
    let kernels = kernelsOf(plan.level)
    // 16-bit storage: the embeddings' gradient is summed in Float (N x D) and rounded at the end.
    let widening = MemoryLayout<S>.size < MemoryLayout<Float>.size
    let eAccumulator = gradients != nil && widening ? UnsafeMutablePointer<Float>.allocate(capacity: tokens * dimension) : nil
    eAccumulator?.initialize(repeating: 0, count: tokens * dimension)
    defer { eAccumulator?.deallocate() }
    let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: tokens)
    let rowLogSum = UnsafeMutablePointer<Double>.allocate(capacity: tokens)
    defer {
      rowMax.deallocate()
      rowLogSum.deallocate()
    }
    // Empty inputs have no address; never read (D = 0 or V = 0).
    let placeholder = UnsafeRawPointer(rowMax).assumingMemoryBound(to: S.self)
    var batch = LinearCrossEntropyBatch(
      embeddings: embeddings.buffer.baseAddress ?? placeholder, embeddingsStride: eLayout.stride,
      tokens: tokens, dimension: dimension,
      classifier: classifier.buffer.baseAddress ?? placeholder, classifierStride: cLayout.stride,
      classes: classes, targets: targets.baseAddress!, rowMax: rowMax, rowLogSum: rowLogSum)
    batch.bias = bias?.baseAddress
    batch.ignoreIndex = options.ignoreIndex
    batch.labelSmoothing = labelSmoothing
    batch.zLossScale = zLossScale
    batch.softcap = softcap
    batch.rowLoss = rowLosses?.baseAddress
    batch.rowLogSumExp = rowLogSumExp?.baseAddress
    batch.gradientScale = Float(scale)
    batch.zLossGradientScale = Float(scale)
    batch.gradientFilter = gradientFilter
    if let eAccumulator {
      (batch.embeddingsGradient, batch.embeddingsGradientStride) = (eAccumulator, dimension)
    } else if let dE = gradients?.embeddings.buffer.baseAddress {
      batch.embeddingsGradient = UnsafeMutableRawPointer(dE).assumingMemoryBound(to: Float.self)
      batch.embeddingsGradientStride = eGradientLayout!.stride
    }
    batch.classifierGradient = gradients?.classifier.buffer.baseAddress
    batch.classifierGradientStride = cGradientLayout?.stride ?? 0
    batch.biasGradient = gradients?.bias?.baseAddress

    let tokenBlocks = (tokens + kernels.tokenBlock - 1) / kernels.tokenBlock
    let classBlocks = (classes + kernels.classBlock - 1) / kernels.classBlock
    // At most one thread per token block in the forward pass and the backward bands of token
    // blocks; per class block in the bands of class blocks (16-bit storage).
    let threads = max(1, min(plan.threads, tokenBlocks))
    let backwardThreads = gradients != nil && widening ? max(1, min(plan.threads, classBlocks)) : threads
    let scratch = ThreadScratch(threads: max(threads, backwardThreads), floats: kernels.scratchFloats(dimension))
    defer { scratch.deallocate() }

    // Forward: token blocks spread over the threads; partial sums merged in block order.
    let partial = withUnsafeTemporaryAllocation(of: LossPartial.self, capacity: tokenBlocks) { partials in
      let base = partials.baseAddress!
      let t = min(threads, tokenBlocks)
      parallelFor(t) { k in
        var g = k
        while g < tokenBlocks {
          (base + g).initialize(to: kernels.forwardBlock(batch, g, scratch[k]))
          g += t
        }
      }
      var total = base.move()
      for g in 1..<max(1, tokenBlocks) { total.merge((base + g).move()) }
      return total
    }

    // Backward: tile (i, j) adds to the embeddings' gradient of token block i and the
    // classifier's gradient of class block j. Bands of `threads` token blocks: thread k takes
    // token block b + k and sweeps the class blocks one step behind thread k - 1, so the tiles
    // of one step share no block (no races) and every block sees its tiles in a fixed order (j
    // increasing for token block i, i increasing for class block j): the gradients are bitwise
    // the same for every thread count. Each thread packs its token block once per band.
    // 16-bit storage transposes the bands (thread k on class block b + k, sweeping the token
    // blocks one step behind thread k - 1): a class block's classifier gradient is then summed
    // in Float in one thread's scratch and rounded once.
    if gradients != nil && classes > 0 && !widening {
      sweepInBands(outer: tokenBlocks, inner: classBlocks, threads: threads) { k, i, j in
        kernels.backwardTile(batch, i, j, scratch[k])
      }
    } else if gradients != nil && classes > 0 {
      sweepInBands(outer: classBlocks, inner: tokenBlocks, threads: backwardThreads) { k, j, i in
        kernels.backwardTile(batch, i, j, scratch[k])
      }
      // The embeddings' gradient rounded once from its Float sums, rows over the threads
      // (none to write when D = 0, and then the buffer may have no address).
      if dimension > 0, let dE = gradients!.embeddings.buffer.baseAddress {
        let stride = eGradientLayout!.stride, sums = eAccumulator!, t = backwardThreads
        parallelFor(t) { k in
          var n = k
          while n < tokens {
            kernels.narrow(sums + n * dimension, dE + n * stride, dimension)
            n += t
          }
        }
      }
    }

    let lambda = Double(zLossScale)
    var loss: Double, zLoss: Double
    switch options.reduction {
    case .mean:
      if validTokens > 0 {
        loss = partial.loss / Double(validTokens)
        zLoss = lambda > 0 ? lambda * partial.zLoss / Double(validTokens) : 0
      } else {
        (loss, zLoss) = (options.zeroWhenNoValidTargets ? 0 : .nan, 0)
      }
    case .sum, .none:
      loss = partial.loss
      zLoss = lambda > 0 ? lambda * partial.zLoss : 0
    }
    return LossResult(loss: Float(loss + zLoss), zLoss: Float(zLoss))
  }
}

extension RowLayout {
  /// The checked layout of the output rows `argument`, which must have the shape of `input`.
  static func checked<T, U>(
    _ rows: MutableRows<T>, _ argument: String, shaped input: Rows<U>
  ) throws(SoftmaxKernelsError) -> RowLayout {
    guard rows.rows == input.rows, rows.columns == input.columns else {
      throw .invalidArgument(
        argument: argument, reason: "\(rows.rows) x \(rows.columns), expected \(input.rows) x \(input.columns)")
    }
    return try checked(rows.readOnly, argument)
  }
}

/// The backward schedule: bands of `threads` outer blocks, thread `k` on outer block `b + k`
/// sweeping the inner blocks one step behind thread `k - 1`, so the tiles of one step share
/// neither block and every block sees its tiles in a fixed order whatever the thread count.
/// `tile(k, outer, inner)` runs on thread `k`.
private func sweepInBands(outer: Int, inner: Int, threads: Int, _ tile: (_ thread: Int, _ outer: Int, _ inner: Int) -> Void) {
  var band = 0
  while band < outer {
    let width = min(threads, outer - band)
    for step in 0..<(inner + width - 1) {
      parallelFor(width) { k in
        let j = step - k
        if j >= 0 && j < inner { tile(k, band + k, j) }
      }
    }
    band += width
  }
}

/// Sets the rows `layout` describes to +0 (all bits clear; not the gaps between them).
private func zeroRows<S>(_ rows: MutableRows<S>, _ layout: RowLayout) {
  guard let base = rows.buffer.baseAddress, layout.columns > 0 else { return }
  for r in 0..<layout.rows {
    UnsafeMutableRawBufferPointer(start: base + r * layout.stride, count: layout.columns * MemoryLayout<S>.stride)
      .initializeMemory(as: UInt8.self, repeating: 0)
  }
}

/// One scratch per thread, 64-byte aligned, each starting with "no token block packed".
private struct ThreadScratch: @unchecked Sendable {
  let memory: UnsafeMutableRawPointer
  let floats: Int
  let threads: Int

  init(threads: Int, floats: Int) {
    // Rounded up to whole cache lines, so that threads never share one.
    self.floats = (floats + 15) / 16 * 16
    self.threads = threads
    memory = .allocate(byteCount: threads * self.floats * 4, alignment: 64)
    for k in 0..<threads {
      // "No token block packed", "no class block widened" (LinearScratch).
      (memory + k * self.floats * 4).storeBytes(of: -1, as: Int.self)
      (memory + k * self.floats * 4).storeBytes(of: -1, toByteOffset: 8, as: Int.self)
    }
  }

  subscript(k: Int) -> UnsafeMutablePointer<Float> {
    (memory + k * floats * 4).assumingMemoryBound(to: Float.self)
  }

  func deallocate() { memory.deallocate() }
}
