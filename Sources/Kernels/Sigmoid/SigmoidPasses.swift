// Elementwise sigmoid and log-sigmoid passes.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Forward

/// `y_i = sigmoid(a x_i + b)`.
func sigmoidPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale a: T, bias b: T
) {
  if a == 1 && b == 0 { return plainSigmoidPass(x, y, count) }
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), vb = T.Vector(repeating: b)
  var i = 0
  while i < fullEnd {
    store(sigmoidVector(T.self, T.fma(load(x + i), va, vb)), y + i)
    i += lanes
  }
  if i < count {
    let u = T.fma(loadPartial(x + i, count - i, pad: 0), va, vb)
    storePartial(sigmoidVector(T.self, u), y + i, count - i)
  }
}

/// `y_i = sigmoid(x_i)` (the plain sigmoid: no multiply-add per vector).
func plainSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(sigmoidVector(T.self, load(x + i)), y + i)
    i += lanes
  }
  if i < count {
    storePartial(sigmoidVector(T.self, loadPartial(x + i, count - i, pad: 0)), y + i, count - i)
  }
}

/// `y_i = log sigmoid(x_i)`.
func logSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(logSigmoidVector(T.self, load(x + i)), y + i)
    i += lanes
  }
  if i < count {
    storePartial(logSigmoidVector(T.self, loadPartial(x + i, count - i, pad: 0)), y + i, count - i)
  }
}
