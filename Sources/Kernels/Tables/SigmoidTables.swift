// The sigmoid-family tables of this ISA module (part of its `KernelSet` and `HalfKernelSet`).

import SoftmaxKernelsCore

func makeSigmoidTable<T: KernelFloatLog>() -> SigmoidKernelTable<T> {
  SigmoidKernelTable(
    elementwise: makeElementwiseKernels(),
    binaryCrossEntropy: { batch, elements in bceRange(batch, elements) },
    range: { x, n in rangePass(x, n) },
    sigLIPRows: { batch, rows in sigLIPRows(batch, rows) },
    softplusAttentionRows: { batch, rows in softplusAttentionRows(batch, rows) },
    softplusAttentionBackwardRows: { batch, rows in softplusAttentionBackwardRows(batch, rows) }
  )
}

/// The elementwise sigmoid-family passes reading `X` and writing `Y`.
func makeElementwiseKernels<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>() -> ElementwiseKernels<X, Y, T>
where X.Arithmetic == T, Y.Arithmetic == T {
  ElementwiseKernels(
    unary: { op, x, y, n, a, b in
      switch op {
      case .sigmoid: sigmoidPass(x, y, n, scale: a, bias: b)
      case .logSigmoid: logSigmoidPass(x, y, n)
      case .softplus: softplusPass(x, y, n, beta: a, threshold: b)
      }
    },
    gradient: { op, v, g, dx, n, a, b in
      switch op {
      case .sigmoidFromInput: sigmoidGradientPass(v, g, dx, n, scale: a, bias: b)
      case .sigmoidFromOutput: sigmoidOutputGradientPass(v, g, dx, n, scale: a)
      case .logSigmoid: logSigmoidGradientPass(v, g, dx, n)
      case .softplus: softplusGradientPass(v, g, dx, n, beta: a, threshold: b)
      }
    }
  )
}
