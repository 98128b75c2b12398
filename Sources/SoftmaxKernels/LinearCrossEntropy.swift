// Linear layer + cross-entropy without the logits (Wijmans et al. 2024, "Cut Your Losses").

import SoftmaxKernelsCore

/// The cross-entropy of a linear layer's logits, `z = E C^T + bias`, and its gradients with
/// respect to the embeddings `E`, the classifier `C` and the bias, computed tile by tile
/// without ever storing the `N x V` logits (Wijmans et al. 2024, "Cut Your Losses in
/// Large-Vocabulary Language Models"; the CPU counterpart of their GPU kernels).
///
/// `E` is `N x D` (one row per token), `C` is `V x D` (one row per class, as a `Linear` layer
/// stores its weight), `bias` has `V` entries. For token `n` with logits `z = C E_n + bias`
/// (soft-capped `c tanh(z / c)` when `softcap` is set), `lse = log sum_v exp(z_v)`, target `y`
/// and label smoothing `eps`:
/// - loss: `l_n = (1 - eps)(lse - z_y) + (eps / V) sum_v (lse - z_v) + zLossScale lse^2`
///   (ignored tokens: 0), reduced as `CrossEntropy` with the same options (PyTorch's
///   `F.cross_entropy(F.linear(E, C, bias), y)`, plus PaLM's z-loss and soft-capping).
/// - gradients: with `g_nv = s (p_nv - (1 - eps)[v = y_n] - eps / V) + 2 zLossScale lse_n s p_nv`
///   (`s` the upstream gradient over the mean's denominator; times `1 - (z / c)^2` with
///   soft-capping), `dE = G C`, `dC = G^T E`, `dbias = sum_n g_n`.
///
/// **How**: for blocks of 128 tokens by 256 classes, a tile of logits from a register-blocked
/// matrix product (six rows by two vector registers of broadcast FMAs, per ISA level), an
/// online log-sum-exp per token (its running maximum and sum, Milakov & Gimelshein 2018), and
/// the target's logit taken from its tile. The gradient call runs that forward pass, then
/// recomputes each tile, turns it into `G` and adds `G^T E` to `dC` and `G C` to `dE`: four
/// matrix products in all, where a materialising implementation does three.
///
/// **Memory** beyond inputs and outputs, whatever `V`: per thread
/// `4 (16 + 128 D + 2 x 256 x 128 + 384 D' + 6 w)` bytes, with `w` the register tile's width (32
/// floats at x86-64-v4, 16 at x86-64-v3, 8 at the baseline) and `D'` = `D` rounded up to a
/// multiple of `w` (2.25 MiB at `D = 1024`, x86-64-v4): the token block's embeddings in two
/// packed layouts, the class block's classifier rows packed, the logits tile in two layouts;
/// plus 12 bytes per token (its maximum logit and log-sum).
///
/// **16-bit storage**: `Float16` and ``BFloat16`` embeddings, classifier and bias (one type)
/// are read exactly as `Float` and computed as `Float` inputs are: the loss, per-token losses
/// and log-sum-exp are bitwise those of the widened inputs, and each gradient entry, written in
/// the inputs' type, is that call's `Float` gradient rounded once. For that, each thread's
/// scratch also holds a class block's classifier rows as `Float` and its classifier and bias
/// gradient sums (`4 x 256 (2 D + 1)` bytes more), the gradient call sums the embeddings'
/// gradient in one `Float` buffer (`4 N D` bytes), and its backward bands run over class blocks
/// (thread `k` on class block `b + k`, one token block behind thread `k - 1`).
///
/// **Determinism**: every logit is one FMA chain over `d` in order, every token's
/// log-sum-exp folds the class blocks in order, the loss sums merge in block order, and the
/// backward tiles run in bands (thread `k` on token block `b + k`, one class block behind
/// thread `k - 1`), so that each gradient row sees its tiles in a fixed order: every output is
/// bitwise the same for every thread count.
///
/// **Accuracy** (enforced by the tests against the materialised path, logits in Double, at
/// every level, thread counts 1-3, every option): each logit is a Float dot product of length
/// `D`, within `(D + 1) 2^-24 (sum_d |E_nd C_vd| + |z|)` (the classical bound, bias addition
/// included); a token's loss is then within `2.5 delta (1 + 2 zLossScale |lse|) + 2e-6 max(1,
/// |loss|)` with `delta` its largest logit bound, and each gradient entry within the bound
/// that this logit error and `CrossEntropy`'s own propagate through the sums (`V` or `N` terms
/// added in Float). Measured worst: 0.06 of the loss bound, 0.02 of the gradients' (shapes up to
/// 257 tokens, 513 classes, D 70; logits shifted by 1000 included) [Intel Xeon, x86-64-v4; the
/// same bounds hold at x86-64-v3 and the baseline]. The target's term is computed as `log1p` of
/// the other classes' sum when the target holds the maximum, so a confident prediction's small
/// loss keeps its digits (relative error below 1e-5 at a loss of 3e-11, enforced). Each token's
/// exponentials (and label smoothing's gaps) are summed in Double, so many terms below half an
/// ulp of the sum are not lost (an outside review's case: 254 terms of 6e-8 next to 1.6).
///
/// **Edge cases**: a target outside `[0, V)` that is not `ignoreIndex` throws (naming the
/// token); a NaN anywhere in a token's logits gives a NaN loss for it, even in a class block
/// with no finite logit; `.mean` with every target ignored gives NaN, or 0 with `zeroWhenNoValidTargets`; no
/// tokens: NaN (`.mean`) or 0, gradients of `C` and `bias` set to 0; `D = 0`: the logits are the
/// bias. A NaN, or a logit that overflows to `+inf`, gives a NaN loss for its token and NaN
/// gradients. An ignored token adds nothing to any gradient, even when its embedding is NaN or
/// infinite (its row of `dE` is 0, unless the classifier holds an infinite or NaN entry: `0 x
/// inf` there is NaN, as in the materialised product). Outputs must not overlap an input or each other (their
/// memory ranges are compared: rows of two arguments interleaved by their strides count as
/// overlapping); a call that throws has written nothing.
public enum LinearCrossEntropy {}

extension LinearCrossEntropy {
  /// The cross-entropy of `embeddings classifier^T + bias` against integer targets.
  ///
  /// - Parameters:
  ///   - embeddings: `N x D` embeddings, one row per token.
  ///   - classifier: `V x D` classifier (a `Linear` layer's weight), one row per class.
  ///   - bias: `V` biases; `nil` for none.
  ///   - targets: one class per token, in `[0, V)` or equal to `ignoreIndex`.
  ///   - rowLosses: receives each token's loss (z-loss included), whatever the reduction.
  ///   - rowLogSumExp: receives each token's log-sum-exp.
  ///   - options: reduction, ignore index, label smoothing, z-loss, soft-capping, threads, level.
  public static func loss(
    embeddings: Rows<Float>, classifier: Rows<Float>, bias: UnsafeBufferPointer<Float>? = nil,
    targets: UnsafeBufferPointer<Int>, rowLosses: UnsafeMutableBufferPointer<Float>? = nil,
    rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try run(
      embeddings, classifier, bias, targets, options, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      gradients: nil)
  }

  /// The loss and its gradients with respect to the embeddings, the classifier and the bias.
  ///
  /// - Parameters:
  ///   - embeddings: `N x D` embeddings, one row per token.
  ///   - classifier: `V x D` classifier, one row per class.
  ///   - bias: `V` biases; `nil` for none.
  ///   - targets: one class per token, in `[0, V)` or equal to `ignoreIndex`.
  ///   - lossGradient: the upstream gradient of the reduced loss (with `.none`, of the sum).
  ///   - embeddingsGradient: receives `dL/dE` (`N x D`).
  ///   - classifierGradient: receives `dL/dC` (`V x D`).
  ///   - biasGradient: receives `dL/dbias` (`V` entries); `nil` when not wanted.
  ///   - rowLosses: receives each token's loss (z-loss included), whatever the reduction.
  ///   - rowLogSumExp: receives each token's log-sum-exp.
  ///   - options: as in `loss`, plus `gradientFilter`.
  public static func lossAndGradient(
    embeddings: Rows<Float>, classifier: Rows<Float>, bias: UnsafeBufferPointer<Float>? = nil,
    targets: UnsafeBufferPointer<Int>, lossGradient: Float = 1, embeddingsGradient: MutableRows<Float>,
    classifierGradient: MutableRows<Float>, biasGradient: UnsafeMutableBufferPointer<Float>? = nil,
    rowLosses: UnsafeMutableBufferPointer<Float>? = nil, rowLogSumExp: UnsafeMutableBufferPointer<Float>? = nil,
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    let gradients = LinearCrossEntropyGradientOutputs(
      embeddings: embeddingsGradient, classifier: classifierGradient, bias: biasGradient,
      lossGradient: lossGradient)
    return try run(
      embeddings, classifier, bias, targets, options, rowLosses: rowLosses, rowLogSumExp: rowLogSumExp,
      gradients: gradients)
  }
}

/// The gradients of a linear + cross-entropy call (Array form), stored as `S` (`Float`, or the
/// 16-bit type of the inputs).
public struct LinearCrossEntropyGradients<S: Sendable>: Sendable {
  /// The loss and its parts.
  public var result: LossResult<Float>
  /// `dL/dE`, `N x D` row-major.
  public var embeddings: [S]
  /// `dL/dC`, `V x D` row-major.
  public var classifier: [S]
  /// `dL/dbias`, `V` entries.
  public var bias: [S]
}

extension LinearCrossEntropyGradients: Equatable where S: Equatable {}

extension LinearCrossEntropy {
  /// The loss of contiguous row-major `embeddings` (`N x dimension`) and `classifier`
  /// (`V x dimension`).
  public static func loss(
    embeddings: [Float], classifier: [Float], dimension: Int, bias: [Float]? = nil, targets: [Int],
    options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LossResult<Float> {
    try withMatrices(embeddings, classifier, dimension, bias, targets) { (e, c, b, y) throws(SoftmaxKernelsError) in
      try run(e, c, b, y, options, rowLosses: nil, rowLogSumExp: nil, gradients: nil)
    }
  }

  /// The loss and every gradient (the bias gradient even without a bias: that of a zero bias)
  /// of contiguous row-major `embeddings` and `classifier`.
  public static func lossAndGradient(
    embeddings: [Float], classifier: [Float], dimension: Int, bias: [Float]? = nil, targets: [Int],
    lossGradient: Float = 1, options: LinearCrossEntropyOptions = LinearCrossEntropyOptions()
  ) throws(SoftmaxKernelsError) -> LinearCrossEntropyGradients<Float> {
    try arrayGradients(embeddings, classifier, dimension, bias, targets, lossGradient) {
      (e, c, b, y, g) throws(SoftmaxKernelsError) in
      try run(e, c, b, y, options, rowLosses: nil, rowLogSumExp: nil, gradients: g)
    }
  }

  /// The Array form of a gradient call: allocates the gradients, calls `body` with the inputs
  /// as checked rows and the gradients as outputs.
  static func arrayGradients<S: BitwiseCopyable & Sendable>(
    _ embeddings: [S], _ classifier: [S], _ dimension: Int, _ bias: [S]?, _ targets: [Int], _ lossGradient: Float,
    _ body: (Rows<S>, Rows<S>, UnsafeBufferPointer<S>?, UnsafeBufferPointer<Int>, LinearCrossEntropyGradientOutputs<S>)
      throws(SoftmaxKernelsError) -> LossResult<Float>
  ) throws(SoftmaxKernelsError) -> LinearCrossEntropyGradients<S> {
    var result = LossResult<Float>(loss: 0)
    var dC: [S] = [], dBias: [S] = []
    let dE: [S] = try makeArray(count: embeddings.count) { (dE) throws(SoftmaxKernelsError) in
      dC = try makeArray(count: classifier.count) { (dCBuffer) throws(SoftmaxKernelsError) in
        let classes = dimension > 0 ? classifier.count / dimension : 0
        dBias = try makeArray(count: classes) { (dBiasBuffer) throws(SoftmaxKernelsError) in
          result = try withMatrices(embeddings, classifier, dimension, bias, targets) {
            (e, c, b, y) throws(SoftmaxKernelsError) in
            try body(e, c, b, y, LinearCrossEntropyGradientOutputs(
              embeddings: MutableRows(dE, rows: e.rows, columns: dimension),
              classifier: MutableRows(dCBuffer, rows: c.rows, columns: dimension),
              bias: dBiasBuffer, lossGradient: lossGradient))
          }
        }
      }
    }
    return LinearCrossEntropyGradients(result: result, embeddings: dE, classifier: dC, bias: dBias)
  }

  /// Calls `body` with the arrays as checked rows of `dimension` columns.
  static func withMatrices<S, R>(
    _ embeddings: [S], _ classifier: [S], _ dimension: Int, _ bias: [S]?, _ targets: [Int],
    _ body: (Rows<S>, Rows<S>, UnsafeBufferPointer<S>?, UnsafeBufferPointer<Int>) throws(SoftmaxKernelsError) -> R
  ) throws(SoftmaxKernelsError) -> R {
    guard dimension > 0 else {
      throw .invalidArgument(argument: "dimension", reason: "\(dimension) is not positive")
    }
    for (name, count) in [("embeddings", embeddings.count), ("classifier", classifier.count)] where count % dimension != 0 {
      throw .invalidArgument(argument: name, reason: "\(count) elements are not a whole number of rows of \(dimension)")
    }
    return try withBuffer(embeddings) { (e) throws(SoftmaxKernelsError) in
      try withBuffer(classifier) { (c) throws(SoftmaxKernelsError) in
        try withBufferIfPresent(bias) { (b) throws(SoftmaxKernelsError) in
          try withBuffer(targets) { (y) throws(SoftmaxKernelsError) in
            try body(
              Rows(e, rows: e.count / dimension, columns: dimension),
              Rows(c, rows: c.count / dimension, columns: dimension), b, y)
          }
        }
      }
    }
  }
}
