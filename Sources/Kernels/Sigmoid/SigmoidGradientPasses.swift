// Vector-Jacobian products of sigmoid, log-sigmoid and softplus: the forward value `v` and the
// upstream gradient `g` in any storage type `X`, the input gradient in any `Y` of the same
// arithmetic (rounded once).

import SoftmaxKernelsCore

// MARK: - Gradients

/// `dx_i = g_i a s (1 - s)`, `s = sigmoid(a x_i + b)`, evaluated as `a e r^2` (accurate also
/// where `s` rounds to 1).
func sigmoidGradientPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int,
  scale a: T, bias b: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyGradient(
    function: .sigmoid, v: x, g: g, dx: dx, va: T.Vector(repeating: a), vb: T.Vector(repeating: b)))
}

/// `dx_i = g_i a y_i (1 - y_i)` from the forward output (PyTorch's `sigmoid_backward`).
func sigmoidOutputGradientPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ y: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int, scale a: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyGradient(
    function: .sigmoidFromOutput, v: y, g: g, dx: dx, va: T.Vector(repeating: a), vb: T.Vector(repeating: 1)))
}

/// `dx_i = g_i sigmoid(-x_i)`.
func logSigmoidGradientPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyGradient(function: .logSigmoid, v: x, g: g, dx: dx))
}

/// `dx_i = g_i sigmoid(beta x_i)`, or `g_i` where `beta x_i > threshold`.
func softplusGradientPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int,
  beta: T, threshold: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyGradient(
    function: .softplus, v: x, g: g, dx: dx, va: T.Vector(repeating: beta), vb: T.Vector(repeating: threshold)))
}

/// `dx_i` from the input `v_i` (`x_i`, or the forward output `y_i`) and the upstream gradient
/// `g_i` for one function of the sigmoid family, with its broadcast parameters `va`, `vb`.
/// Every pass names its function as a constant, so the switch folds away and the pass's loop
/// holds that function alone.
struct SigmoidFamilyGradient<X: KernelStorage, Y: KernelStorage>: ElementwiseBody
where X.Arithmetic: KernelFloatLog, Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic

  enum Function {
    /// Of `sigmoid(a x + b)`.
    case sigmoid
    /// Of the sigmoid, from its output (`b = 1`).
    case sigmoidFromOutput
    /// Of `log sigmoid(x)`.
    case logSigmoid
    /// Of softplus (`a = beta`, `b = threshold`).
    case softplus
  }

  let function: Function, v: UnsafePointer<X>, g: UnsafePointer<X>, dx: UnsafeMutablePointer<Y>
  var va = T.Vector(), vb = T.Vector()

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    switch function {
    case .sigmoid:
      let (e, r) = sigmoidParts(T.self, T.fma(s.read(v, pad: 0), va, vb))
      s.write(s.read(g, pad: 0) * va * (e * r * r), dx)
    case .sigmoidFromOutput:
      let yv = s.read(v, pad: 0)
      s.write(s.read(g, pad: 0) * va * (yv * (vb - yv)), dx)
    case .logSigmoid:
      let xv = s.read(v, pad: 0)
      let (e, r) = sigmoidParts(T.self, xv)
      s.write(s.read(g, pad: 0) * T.whereNonNegative(xv, e * r, r), dx)
    case .softplus:
      let u = s.read(v, pad: 0) * va
      let (e, r) = sigmoidParts(T.self, u)
      let gv = s.read(g, pad: 0)
      s.write(T.whereGreater(u, vb, gv, gv * T.whereNonNegative(u, r, e * r)), dx)
    }
  }
}
