// The passes of the softmax and log-softmax vector-Jacobian products.

import SoftmaxKernelsCore

// MARK: - Backward

/// `sum_i g_i y_i` (`g` and `y` of any storage types of arithmetic `T`).
func dotPass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ g: UnsafePointer<X>, _ y: UnsafePointer<Y>, _ count: Int
) -> Double where X.Arithmetic == T, Y.Arithmetic == T {
  windowSum(count, Dot(g: g, y: y), unrolled: true)
}

struct Dot<X: KernelStorage, Y: KernelStorage>: SumBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let g: UnsafePointer<X>, y: UnsafePointer<Y>

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    acc = T.fma(s.read(g, pad: 0), s.read(y, pad: 0), acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { s.read(g, pad: 0) * s.read(y, pad: 0) }
}

/// `(sum_i g_i, max_i z_i)`.
func sumAndMaxPass<T: KernelFloat, X: KernelStorage>(
  _ g: UnsafePointer<X>, _ z: UnsafePointer<X>, _ count: Int
) -> (sum: Double, max: T) where X.Arithmetic == T {
  var body = SumAndMax(g: g, z: z, m: T.Vector(repeating: -.infinity))
  let total = windowSum(count, &body, unrolled: true)
  return (total, horizontalMax(body.m))
}

/// Sums `g`; carries the lane maximum `m` of `z` across the row.
struct SumAndMax<X: KernelStorage>: SumBody {
  typealias T = X.Arithmetic
  let g: UnsafePointer<X>, z: UnsafePointer<X>
  var m: T.Vector

  @inline(always)
  mutating func term(_ s: some VectorSlot<T>) -> T.Vector {
    m = T.vmax(m, s.read(z, pad: -.infinity))
    return s.read(g, pad: 0)
  }
}

/// Softmax VJP: `dx_i = y_i (g_i - dot)`.
func softmaxBackwardPass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ y: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int,
  dot: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SoftmaxBackward(y: y, g: g, dx: dx, vd: T.Vector(repeating: dot)))
}

struct SoftmaxBackward<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let y: UnsafePointer<X>, g: UnsafePointer<X>, dx: UnsafeMutablePointer<Y>, vd: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(s.read(y, pad: 0) * (s.read(g, pad: 0) - vd), dx) }
}

/// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum`.
func logSoftmaxBackwardPass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ z: UnsafePointer<X>, _ g: UnsafePointer<X>, _ dx: UnsafeMutablePointer<Y>, _ count: Int,
  sum: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, LogSoftmaxBackward(z: z, g: g, dx: dx, vs: T.Vector(repeating: -sum)))
}

struct LogSoftmaxBackward<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let z: UnsafePointer<X>, g: UnsafePointer<X>, dx: UnsafeMutablePointer<Y>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(T.fma(T.expNonPositive(s.read(z, pad: -.infinity)), vs, s.read(g, pad: 0)), dx)
  }
}
