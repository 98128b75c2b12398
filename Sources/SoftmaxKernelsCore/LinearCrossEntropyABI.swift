// The interface between the public linear + cross-entropy API and the per-ISA kernels. Not API.

/// One linear + cross-entropy call: `logits = embeddings classifier^T + bias`, never stored, and
/// the cross-entropy of its rows. Arguments are already validated; the kernels run on one tile
/// (a block of tokens, or a block of tokens by a block of classes) per call.
package struct LinearCrossEntropyBatch: @unchecked Sendable {
  /// `tokens x dimension` embeddings `E`, row `n` at `embeddings + n * embeddingsStride`.
  package var embeddings: UnsafePointer<Float>
  package var embeddingsStride: Int
  package var tokens: Int
  package var dimension: Int
  /// `classes x dimension` classifier `C` (a `Linear` layer's weight), row `v` at
  /// `classifier + v * classifierStride`.
  package var classifier: UnsafePointer<Float>
  package var classifierStride: Int
  package var classes: Int
  /// `classes` biases, or `nil`.
  package var bias: UnsafePointer<Float>? = nil
  /// One target per token: a class in `[0, classes)` or `ignoreIndex` (validated).
  package var targets: UnsafePointer<Int>
  package var ignoreIndex: Int = -100
  package var labelSmoothing: Float = 0
  package var zLossScale: Float = 0
  /// Soft-capping constant (0: none).
  package var softcap: Float = 0

  /// Per-token state the forward pass writes and the backward pass reads: the row's maximum
  /// logit `m` and `logSum = log sum_c exp(z_c - m)`, so that `lse = m + logSum`.
  package var rowMax: UnsafeMutablePointer<Float>
  package var rowLogSum: UnsafeMutablePointer<Double>
  /// Optional per-token outputs.
  package var rowLoss: UnsafeMutablePointer<Float>? = nil
  package var rowLogSumExp: UnsafeMutablePointer<Float>? = nil

  /// Backward: the upstream gradient of each token's cross-entropy (`gradientScale` for all)
  /// and of its z-loss (`zLossGradientScale`).
  package var gradientScale: Float = 0
  package var zLossGradientScale: Float = 0
  /// Gradient outputs (zeroed by the caller before the first tile; tiles accumulate).
  package var embeddingsGradient: UnsafeMutablePointer<Float>? = nil
  package var embeddingsGradientStride: Int = 0
  package var classifierGradient: UnsafeMutablePointer<Float>? = nil
  package var classifierGradientStride: Int = 0
  package var biasGradient: UnsafeMutablePointer<Float>? = nil
  /// Gradient filtering (Wijmans et al. 2024): a tile whose gradient entries are all below
  /// `gradientFilter` times the tile's largest per-token scale in magnitude adds nothing
  /// (0: off).
  package var gradientFilter: Float = 0

  /// The fields without a default; set the others by assignment.
  package init(
    embeddings: UnsafePointer<Float>, embeddingsStride: Int, tokens: Int, dimension: Int,
    classifier: UnsafePointer<Float>, classifierStride: Int, classes: Int,
    targets: UnsafePointer<Int>, rowMax: UnsafeMutablePointer<Float>,
    rowLogSum: UnsafeMutablePointer<Double>
  ) {
    self.embeddings = embeddings
    self.embeddingsStride = embeddingsStride
    self.tokens = tokens
    self.dimension = dimension
    self.classifier = classifier
    self.classifierStride = classifierStride
    self.classes = classes
    self.targets = targets
    self.rowMax = rowMax
    self.rowLogSum = rowLogSum
  }
}

/// The linear + cross-entropy kernels of one ISA module. The caller splits the work into
/// blocks of `tokenBlock` tokens and `classBlock` classes (fixed per module, so results do not
/// depend on the thread count) and gives each thread its own scratch of `scratchFloats` floats.
package struct LinearCrossEntropyKernels: Sendable {
  package var tokenBlock: Int
  package var classBlock: Int
  /// Scratch floats one thread needs for a given `dimension`.
  package var scratchFloats: @Sendable (_ dimension: Int) -> Int
  /// The forward pass of token block `block` over every class: writes `rowMax`, `rowLogSum`
  /// and the optional per-token outputs, and returns the block's partial sums.
  package var forwardBlock:
    @Sendable (_ batch: LinearCrossEntropyBatch, _ block: Int, _ scratch: UnsafeMutablePointer<Float>) -> LossPartial
  /// The backward pass of one tile (token block, class block): recomputes its logits and adds
  /// its terms to the embeddings', classifier's and bias gradients. Two tiles may run at the
  /// same time only when they share neither their token block nor their class block.
  package var backwardTile:
    @Sendable (
      _ batch: LinearCrossEntropyBatch, _ tokenBlock: Int, _ classBlock: Int, _ scratch: UnsafeMutablePointer<Float>
    ) -> Void

  package init(
    tokenBlock: Int, classBlock: Int, scratchFloats: @escaping @Sendable (Int) -> Int,
    forwardBlock: @escaping @Sendable (LinearCrossEntropyBatch, Int, UnsafeMutablePointer<Float>) -> LossPartial,
    backwardTile: @escaping @Sendable (LinearCrossEntropyBatch, Int, Int, UnsafeMutablePointer<Float>) -> Void
  ) {
    self.tokenBlock = tokenBlock
    self.classBlock = classBlock
    self.scratchFloats = scratchFloats
    self.forwardBlock = forwardBlock
    self.backwardTile = backwardTile
  }
}
