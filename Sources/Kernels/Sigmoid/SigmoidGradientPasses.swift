// Vector-Jacobian products of sigmoid, log-sigmoid and softplus.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Gradients

/// `dx_i = g_i a s (1 - s)`, `s = sigmoid(a x_i + b)`, evaluated as `a e r^2` (accurate also
/// where `s` rounds to 1).
func sigmoidGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  scale a: T, bias b: T
) {
  forEachVector(count, SigmoidGradient(
    x: x, g: g, dx: dx, va: T.Vector(repeating: a), vb: T.Vector(repeating: b)))
}

struct SigmoidGradient<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>
  let va: T.Vector, vb: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let (e, r) = sigmoidParts(T.self, T.fma(s.read(x, pad: 0), va, vb))
    s.write(s.read(g, pad: 0) * va * (e * r * r), dx)
  }
}

/// `dx_i = g_i a y_i (1 - y_i)` from the forward output (PyTorch's `sigmoid_backward`).
func sigmoidOutputGradientPass<T: KernelFloatLog>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale a: T
) {
  forEachVector(count, SigmoidOutputGradient(
    y: y, g: g, dx: dx, va: T.Vector(repeating: a), one: T.Vector(repeating: 1)))
}

struct SigmoidOutputGradient<T: KernelFloatLog>: ElementwiseBody {
  let y: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>
  let va: T.Vector, one: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let yv = s.read(y, pad: 0)
    s.write(s.read(g, pad: 0) * va * (yv * (one - yv)), dx)
  }
}

/// `dx_i = g_i sigmoid(-x_i)`.
func logSigmoidGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int
) {
  forEachVector(count, LogSigmoidGradient(x: x, g: g, dx: dx))
}

struct LogSigmoidGradient<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let xv = s.read(x, pad: 0)
    let (e, r) = sigmoidParts(T.self, xv)
    s.write(s.read(g, pad: 0) * T.whereNonNegative(xv, e * r, r), dx)
  }
}

/// `dx_i = g_i sigmoid(beta x_i)`, or `g_i` where `beta x_i > threshold`.
func softplusGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  beta: T, threshold: T
) {
  forEachVector(count, SoftplusGradient(
    x: x, g: g, dx: dx, vb: T.Vector(repeating: beta), vt: T.Vector(repeating: threshold)))
}

struct SoftplusGradient<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>
  let vb: T.Vector, vt: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let u = s.read(x, pad: 0) * vb
    let (e, r) = sigmoidParts(T.self, u)
    let gv = s.read(g, pad: 0)
    s.write(T.whereGreater(u, vt, gv, gv * T.whereNonNegative(u, r, e * r)), dx)
  }
}
