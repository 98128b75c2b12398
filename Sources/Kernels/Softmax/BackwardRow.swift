// One row of the softmax / log-softmax vector-Jacobian product.

import SoftmaxKernelsCore

// MARK: - Backward

func backwardRow<X: KernelStorage, Y: KernelStorage>(
  _ b: BackwardBatch<X, Y>, row r: Int, _ chunker: Chunker
) where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let y = b.output + r * b.outputStride
  let g = b.gradient + r * b.gradientStride
  let dx = b.inputGradient + r * b.inputGradientStride
  switch b.operation {
  case .softmax:
    let dot = T(chunker.map({ $0 += $1 }) { c in dotPass(g + c.lowerBound, y + c.lowerBound, c.count) })
    chunker.run { c in
      softmaxBackwardPass(y + c.lowerBound, g + c.lowerBound, dx + c.lowerBound, c.count, dot: dot)
    }
  case .logSoftmax:
    let (sum, top) = chunker.map({ $0 = ($0.sum + $1.sum, Swift.max($0.max, $1.max)) }) { c -> (sum: Double, max: T) in
      sumAndMaxPass(g + c.lowerBound, y + c.lowerBound, c.count)
    }
    if b.fullyMaskedRowIsZero && top == -.infinity && b.columns > 0
      && !(0..<b.columns).contains(where: { X.widened(y[$0]).isNaN })
    {
      // A fully masked row under the zero policy: the forward output did not depend on x.
      chunker.run { c in fillPass(dx + c.lowerBound, c.count, 0) }
      return
    }
    let s = T(sum)
    chunker.run { c in
      logSoftmaxBackwardPass(y + c.lowerBound, g + c.lowerBound, dx + c.lowerBound, c.count, sum: s)
    }
  }
}
