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
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), vb = T.Vector(repeating: b)
  var i = 0
  while i < fullEnd {
    let (e, r) = sigmoidParts(T.self, T.fma(load(x + i), va, vb))
    store(load(g + i) * va * (e * r * r), dx + i)
    i += lanes
  }
  if i < count {
    let (e, r) = sigmoidParts(T.self, T.fma(loadPartial(x + i, count - i, pad: 0), va, vb))
    storePartial(loadPartial(g + i, count - i, pad: 0) * va * (e * r * r), dx + i, count - i)
  }
}

/// `dx_i = g_i a y_i (1 - y_i)` from the forward output (PyTorch's `sigmoid_backward`).
func sigmoidOutputGradientPass<T: KernelFloatLog>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale a: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), one = T.Vector(repeating: 1)
  var i = 0
  while i < fullEnd {
    let yv = load(y + i)
    store(load(g + i) * va * (yv * (one - yv)), dx + i)
    i += lanes
  }
  if i < count {
    let yv = loadPartial(y + i, count - i, pad: 0)
    storePartial(loadPartial(g + i, count - i, pad: 0) * va * (yv * (one - yv)), dx + i, count - i)
  }
}

/// `dx_i = g_i sigmoid(-x_i)`.
func logSigmoidGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    let xv = load(x + i)
    let (e, r) = sigmoidParts(T.self, xv)
    store(load(g + i) * T.whereNonNegative(xv, e * r, r), dx + i)
    i += lanes
  }
  if i < count {
    let xv = loadPartial(x + i, count - i, pad: 0)
    let (e, r) = sigmoidParts(T.self, xv)
    storePartial(loadPartial(g + i, count - i, pad: 0) * T.whereNonNegative(xv, e * r, r), dx + i, count - i)
  }
}

/// `dx_i = g_i sigmoid(beta x_i)`, or `g_i` where `beta x_i > threshold`.
func softplusGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  beta: T, threshold: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vb = T.Vector(repeating: beta), vt = T.Vector(repeating: threshold)
  var i = 0
  while i < fullEnd {
    let u = load(x + i) * vb
    let (e, r) = sigmoidParts(T.self, u)
    let gv = load(g + i)
    store(T.whereGreater(u, vt, gv, gv * T.whereNonNegative(u, r, e * r)), dx + i)
    i += lanes
  }
  if i < count {
    let u = loadPartial(x + i, count - i, pad: 0) * vb
    let (e, r) = sigmoidParts(T.self, u)
    let gv = loadPartial(g + i, count - i, pad: 0)
    storePartial(T.whereGreater(u, vt, gv, gv * T.whereNonNegative(u, r, e * r)), dx + i, count - i)
  }
}
