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
  forEachVector(count, AffineSigmoid(
    x: x, y: y, va: T.Vector(repeating: a), vb: T.Vector(repeating: b)))
}

struct AffineSigmoid<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, va: T.Vector, vb: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(sigmoidVector(T.self, T.fma(s.read(x, pad: 0), va, vb)), y)
  }
}

/// `y_i = sigmoid(x_i)` (the plain sigmoid: no multiply-add per vector).
func plainSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  forEachVector(count, PlainSigmoid(x: x, y: y))
}

struct PlainSigmoid<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(sigmoidVector(T.self, s.read(x, pad: 0)), y) }
}

/// `y_i = log sigmoid(x_i)`.
func logSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  forEachVector(count, LogSigmoid(x: x, y: y))
}

struct LogSigmoid<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(logSigmoidVector(T.self, s.read(x, pad: 0)), y) }
}
