// Elementwise sigmoid and log-sigmoid passes, and the body of every forward pass of the
// sigmoid family (softplus's smooth part too, SoftplusPasses.swift). Every pass reads any
// storage type `X` and writes any `Y` of the same arithmetic `T` (Float rows, Double rows, and
// Float16 / BFloat16 rows widened to Float, each result rounded once to `Y`).

import SoftmaxKernelsCore

// MARK: - Forward

/// `y_i = sigmoid(a x_i + b)`.
func sigmoidPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, scale a: T, bias b: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  if a == 1 && b == 0 { return plainSigmoidPass(x, y, count) }
  forEachVector(count, SigmoidFamilyMap(
    function: .affineSigmoid, x: x, y: y, va: T.Vector(repeating: a), vb: T.Vector(repeating: b)))
}

/// `y_i = sigmoid(x_i)` (the plain sigmoid: no multiply-add per vector).
func plainSigmoidPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyMap(function: .sigmoid, x: x, y: y))
}

/// `y_i = log sigmoid(x_i)`.
func logSigmoidPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyMap(function: .logSigmoid, x: x, y: y))
}

/// `y_i = f(x_i)` for one elementwise function `f` of the sigmoid family, with its broadcast
/// parameters `va`, `vb`. Every pass names its function as a constant, so the switch folds
/// away and the pass's loop holds that function alone.
struct SigmoidFamilyMap<X: KernelStorage, Y: KernelStorage>: ElementwiseBody
where X.Arithmetic: KernelFloatLog, Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic

  enum Function {
    /// `sigmoid(x)`.
    case sigmoid
    /// `sigmoid(a x + b)`.
    case affineSigmoid
    /// `log sigmoid(x)`.
    case logSigmoid
    /// `softplus(beta x) / beta` without the threshold (`a = beta`, `b = 1 / beta`).
    case softplusSmooth
  }

  let function: Function, x: UnsafePointer<X>, y: UnsafeMutablePointer<Y>
  var va = T.Vector(), vb = T.Vector()

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let v = s.read(x, pad: 0)
    switch function {
    case .sigmoid: s.write(sigmoidVector(T.self, v), y)
    case .affineSigmoid: s.write(sigmoidVector(T.self, T.fma(v, va, vb)), y)
    case .logSigmoid: s.write(logSigmoidVector(T.self, v), y)
    case .softplusSmooth: s.write(softplusSmooth(T.self, v, va, vb), y)
    }
  }
}
