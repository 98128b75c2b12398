// The sigmoid-family entry points this ISA module publishes: one `_SigmoidKernelTable` per
// scalar type (`compiledLevel` is defined in KernelTables.swift).

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sigmoid / softplus kernels of this module (compiled for `compiledLevel`).
public enum SigmoidKernels {
  public static let float: _SigmoidKernelTable<Float> = makeSigmoidTable()
  public static let double: _SigmoidKernelTable<Double> = makeSigmoidTable()
}

func makeSigmoidTable<T: KernelFloatLog>() -> _SigmoidKernelTable<T> {
  _SigmoidKernelTable(
    level: compiledLevel,
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
    },
    binaryCrossEntropy: { batch, elements in bceRange(batch, elements) },
    range: { x, n in rangePass(x, n) },
    sigLIPRows: { batch, rows in sigLIPRows(batch, rows) },
    softplusAttentionRows: { batch, rows in softplusAttentionRows(batch, rows) },
    softplusAttentionBackwardRows: { batch, rows in softplusAttentionBackwardRows(batch, rows) },
    log1pUnit: { x, y, n in log1pUnitPass(x, y, n) },
    log: { x, y, n in logPass(x, y, n) },
    expNegative: { x, y, n in expNegativePass(x, y, n) }
  )
}
