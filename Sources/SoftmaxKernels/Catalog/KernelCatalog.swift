// The kernel catalog: one list naming every kernel of the package with what the tests, the
// benchmark and the disassembly check need to know about it. Adding a kernel means one case
// here (and its kernel file, its reference in the tests and its row in the documentation).

import SoftmaxKernelsCore

/// How a kernel maps its arguments (see `KernelCall`).
package enum KernelForm: String, Sendable {
  /// `rows x columns` in, `rows x columns` out, row by row (softmax, StableMax).
  case rowwise
  /// `rows x columns` in, `rows` out (log-sum-exp).
  case rowReduction
  /// Saved tensor and upstream gradient in, input gradient out, row by row.
  case rowwiseBackward
  /// Element by element (the sigmoid family); rows are only a layout.
  case elementwise
  /// Saved input and upstream gradient in, input gradient out, element by element.
  case elementwiseBackward
  /// Logits and targets in, a loss (and gradients) out, or another argument set of its own;
  /// called by its own tests.
  case loss
}

/// The kernels of the package. `CaseIterable` order is the order of the documentation.
package enum CatalogKernel: String, CaseIterable, Sendable {
  case softmax, logSoftmax, logSumExp, softmaxBackward, logSoftmaxBackward
  case stableMax, logStableMax
  case sigmoid, logSigmoid, softplus, sigmoidBackward, logSigmoidBackward, softplusBackward
  case crossEntropy, sphericalZLoss, stableMaxCrossEntropy, binaryCrossEntropy, sigLIP
  case sigmoidAttention, sigmoidAttentionBackward, softplusAttention, softplusAttentionBackward
  case linearCrossEntropy

  /// Vectors per row at which a kernel's code changes path: the unrolled pair, the online
  /// block (16), the two-pass and exp-sum windows (32 / 64), the accumulation window (256) and
  /// the reproducible block (65 536 Float / 32 768 Double elements = 4096 vectors). Rows of
  /// `v * lanes - 1`, `v * lanes` and `v * lanes + 1` elements cross each boundary.
  package static let boundaryVectors = [1, 2, 16, 32, 64, 256, 4096]

  package var form: KernelForm {
    switch self {
    case .softmax, .logSoftmax, .stableMax, .logStableMax, .sigmoidAttention, .softplusAttention: .rowwise
    case .logSumExp: .rowReduction
    case .softmaxBackward, .logSoftmaxBackward, .sigmoidAttentionBackward: .rowwiseBackward
    case .sigmoid, .logSigmoid, .softplus: .elementwise
    case .sigmoidBackward, .logSigmoidBackward, .softplusBackward: .elementwiseBackward
    case .crossEntropy, .sphericalZLoss, .stableMaxCrossEntropy, .binaryCrossEntropy, .sigLIP,
      .softplusAttentionBackward, .linearCrossEntropy: .loss
    }
  }

  /// The kernel passes (functions in Sources/Kernels) the kernel runs, for the Float type at
  /// every level; `Benchmarks/Disassembly/hot-loops.py` checks that each has a call-free
  /// 512-bit loop at x86-64-v4.
  package var passes: [String] {
    switch self {
    case .softmax:
      ["maxPass", "sumExpPass", "sumExpPrefetchPass", "storeExpPass", "storeExpPrefetchPass",
       "scalePass", "scaleCopyPass", "expScalePass", "expScalePrefetchPass", "extendedSumPass", "extendedScalePass",
       "onlineSumPass"]
    case .logSoftmax:
      ["maxPass", "sumExpPass", "sumExpPrefetchPass", "sumExpSplitPass", "logSoftmaxPass",
       "extendedSumPass", "onlineSumPass"]
    case .logSumExp:
      ["maxPass", "sumExpPass", "sumExpPrefetchPass", "sumExpSplitPass", "extendedSumPass", "onlineSumPass"]
    case .softmaxBackward: ["dotPass", "softmaxBackwardPass"]
    case .logSoftmaxBackward: ["sumAndMaxPass", "logSoftmaxBackwardPass"]
    case .stableMax, .logStableMax: ["stableMaxSumPass", "stableMaxScalePass"]
    case .sigmoid: ["sigmoidPass", "plainSigmoidPass"]
    case .logSigmoid: ["logSigmoidPass"]
    case .softplus: ["softplusSmoothPass", "softplusThresholdPass"]
    case .sigmoidBackward: ["sigmoidGradientPass", "sigmoidOutputGradientPass"]
    case .logSigmoidBackward: ["logSigmoidGradientPass"]
    case .softplusBackward: ["softplusGradientPass"]
    case .crossEntropy:
      ["maxPass", "sumExpPass", "sumExpPrefetchPass", "storeExpPass", "storeExpPrefetchPass", "sumPass", "dotPass",
       "gapSumPass", "gapDotPass", "gapTripleDotPass", "crossEntropyGradientPass", "crossEntropyGradientStreamPass",
       "storeExpGradientPass", "softcapPass", "softcapWithChainPass", "softcapChainPass"]
    case .sphericalZLoss: ["sumPass", "squaredDeviationPass", "affinePass"]
    case .stableMaxCrossEntropy: ["stableMaxSumPass", "stableMaxGradientPass"]
    case .binaryCrossEntropy: ["bceLoop", "rangePass"]
    case .sigLIP: ["sigLIPRowPass"]
    case .sigmoidAttention: ["sigmoidPass"]
    case .sigmoidAttentionBackward: ["sigmoidGradientPass"]
    case .softplusAttention: ["softplusSumPass", "reweightMaxPass", "powerSumPass"]
    case .softplusAttentionBackward: ["reweightBackwardPass", "softplusInputGradientPass"]
    // The register tile of its three matrix products, the panel packing of their operands,
    // and the tile passes (logits, online log-sum-exp, gradient).
    case .linearCrossEntropy:
      ["broadcastTile", "packPanels", "logitTile", "linearForwardBlock", "linearBackwardTile"]
    }
  }

  /// The passes among `passes` that evaluate an exponential (their hot loop must use FMA at
  /// x86-64-v4).
  package var exponentialPasses: Set<String> {
    Set(passes).intersection([
      "sumExpPass", "sumExpPrefetchPass", "sumExpSplitPass", "storeExpPass", "storeExpPrefetchPass",
      "storeExpGradientPass", "expScalePass", "expScalePrefetchPass", "extendedSumPass",
      "extendedScalePass", "onlineSumPass", "logSoftmaxBackwardPass", "softcapPass", "softcapWithChainPass", "sigmoidPass", "plainSigmoidPass", "logSigmoidPass",
      "softplusSmoothPass",
      "sigmoidGradientPass", "logSigmoidGradientPass", "softplusGradientPass", "bceLoop",
      "sigLIPRowPass", "softplusSumPass", "powerSumPass", "softplusInputGradientPass",
      "linearForwardBlock", "linearBackwardTile",
    ])
  }

  /// Whether the output may be the input itself (same start and stride).
  package var allowsInPlace: Bool { form != .rowReduction && form != .loss }

  /// The largest error `CatalogTests` accepts on its random rows (inputs multiples of 2^-10 in
  /// [-8, 8], so that `x - max` is exact; lengths around every boundary; contiguous, strided and
  /// in place): relative error for probabilities and the sigmoid, error in units of
  /// `max(1, |reference|)` for logarithms, log-sum-exp and softplus, and in units of the row's
  /// largest `|reference|` (at least 1) for gradients. `nil` for the losses and the softplus-attention
  /// backward, which have their own tests. The bound is at least twice the largest error measured
  /// at every level (the Accuracy article's catalog table).
  package func bound<T: KernelScalar>(_: T.Type) -> Double? {
    if form == .loss { return nil }
    if T.self == Float.self { return 1e-6 }
    // LSSA's Double weights: measured 6.6e-16 (its sum adds one more rounding per row).
    return self == .softplusAttention ? 1.5e-15 : 1e-15
  }
}
