// The interface between the public linear + cross-entropy API and the per-ISA kernels. Not API.

/// One linear + cross-entropy call: `logits = embeddings classifier^T + bias`, never stored, and
/// the cross-entropy of its rows. Arguments are already validated; the kernels run on one tile
/// (a block of tokens, or a block of tokens by a block of classes) per call. `S` is the storage
/// type of the embeddings, the classifier, the bias and their gradients (`Float`, `Float16`,
/// `BFloat16`); everything else is `Float`.
package struct LinearCrossEntropyBatch<S: BitwiseCopyable>: @unchecked Sendable {
  /// `tokens x dimension` embeddings `E`, row `n` at `embeddings + n * embeddingsStride`.
  package var embeddings: UnsafePointer<S>
  package var embeddingsStride: Int
  package var tokens: Int
  package var dimension: Int
  /// `classes x dimension` classifier `C` (a `Linear` layer's weight), row `v` at
  /// `classifier + v * classifierStride`.
  package var classifier: UnsafePointer<S>
  package var classifierStride: Int
  package var classes: Int
  /// `classes` biases, or `nil`.
  package var bias: UnsafePointer<S>? = nil
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
  /// Gradient outputs. The embeddings' gradient is always `Float`: the caller's rows when `S`
  /// is `Float`, else the caller's `Float` accumulator that it rounds into `S` after the last
  /// tile; zeroed by the caller, tiles add to it. The classifier's and the bias gradients: with
  /// `S` `Float`, zeroed by the caller and added to by every tile; with a 16-bit `S`, each class
  /// block is summed in the thread's scratch over its token blocks (which the caller runs on
  /// one thread in token block order, from the first to the last) and rounded once into these
  /// rows after its last token block.
  package var embeddingsGradient: UnsafeMutablePointer<Float>? = nil
  package var embeddingsGradientStride: Int = 0
  package var classifierGradient: UnsafeMutablePointer<S>? = nil
  package var classifierGradientStride: Int = 0
  package var biasGradient: UnsafeMutablePointer<S>? = nil
  /// Gradient filtering (Wijmans et al. 2024): a tile whose gradient entries are all below
  /// `gradientFilter` times the tile's largest per-token scale in magnitude adds nothing
  /// (0: off).
  package var gradientFilter: Float = 0

  /// The fields without a default; set the others by assignment.
  package init(
    embeddings: UnsafePointer<S>, embeddingsStride: Int, tokens: Int, dimension: Int,
    classifier: UnsafePointer<S>, classifierStride: Int, classes: Int,
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
/// `S`: the storage type of the embeddings and the classifier (see `LinearCrossEntropyBatch`).
package struct LinearCrossEntropyKernels<S: BitwiseCopyable>: Sendable {
  package var tokenBlock: Int
  package var classBlock: Int
  /// Scratch floats one thread needs for a given `dimension`.
  package var scratchFloats: @Sendable (_ dimension: Int) -> Int
  /// The forward pass of token block `block` over every class: writes `rowMax`, `rowLogSum`
  /// and the optional per-token outputs, and returns the block's partial sums.
  package var forwardBlock:
    @Sendable (_ batch: LinearCrossEntropyBatch<S>, _ block: Int, _ scratch: UnsafeMutablePointer<Float>) -> LossPartial
  /// The backward pass of one tile (token block, class block): recomputes its logits and adds
  /// its terms to the embeddings', classifier's and bias gradients. Two tiles may run at the
  /// same time only when they share neither their token block nor their class block.
  package var backwardTile:
    @Sendable (
      _ batch: LinearCrossEntropyBatch<S>, _ tokenBlock: Int, _ classBlock: Int, _ scratch: UnsafeMutablePointer<Float>
    ) -> Void

  /// `destination[i] = source[i]` rounded to nearest even into `S`, `i < count` (the 16-bit
  /// embeddings' gradient from its `Float` sums).
  package var narrow:
    @Sendable (_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<S>, _ count: Int) -> Void

  package init(
    tokenBlock: Int, classBlock: Int, scratchFloats: @escaping @Sendable (Int) -> Int,
    forwardBlock: @escaping @Sendable (LinearCrossEntropyBatch<S>, Int, UnsafeMutablePointer<Float>) -> LossPartial,
    backwardTile: @escaping @Sendable (LinearCrossEntropyBatch<S>, Int, Int, UnsafeMutablePointer<Float>) -> Void,
    narrow: @escaping @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<S>, Int) -> Void
  ) {
    self.tokenBlock = tokenBlock
    self.classBlock = classBlock
    self.scratchFloats = scratchFloats
    self.forwardBlock = forwardBlock
    self.backwardTile = backwardTile
    self.narrow = narrow
  }
}
