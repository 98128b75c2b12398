// The passes of the softmax and log-softmax vector-Jacobian products.

import SoftmaxKernelsCore

// MARK: - Backward

/// `sum_i g_i y_i`.
func dotPass<T: KernelFloat>(_ g: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> Double {
  windowSum(count, Dot(g: g, y: y), unrolled: true)
}

struct Dot<T: KernelFloat>: SumBody {
  let g: UnsafePointer<T>, y: UnsafePointer<T>

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    acc = T.fma(s.read(g, pad: 0), s.read(y, pad: 0), acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { s.read(g, pad: 0) * s.read(y, pad: 0) }
}

/// `(sum_i g_i, max_i z_i)`.
func sumAndMaxPass<T: KernelFloat>(
  _ g: UnsafePointer<T>, _ z: UnsafePointer<T>, _ count: Int
) -> (sum: Double, max: T) {
  var body = SumAndMax(g: g, z: z, m: T.Vector(repeating: -.infinity))
  let total = windowSum(count, &body, unrolled: true)
  return (total, horizontalMax(body.m))
}

/// Sums `g`; carries the lane maximum `m` of `z` across the row.
struct SumAndMax<T: KernelFloat>: SumBody {
  let g: UnsafePointer<T>, z: UnsafePointer<T>
  var m: T.Vector

  @inline(always)
  mutating func term(_ s: some VectorSlot<T>) -> T.Vector {
    m = T.vmax(m, s.read(z, pad: -.infinity))
    return s.read(g, pad: 0)
  }
}

/// Softmax VJP: `dx_i = y_i (g_i - dot)`.
func softmaxBackwardPass<T: KernelFloat>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  dot: T
) {
  forEachVector(count, SoftmaxBackward(y: y, g: g, dx: dx, vd: T.Vector(repeating: dot)))
}

struct SoftmaxBackward<T: KernelFloat>: ElementwiseBody {
  let y: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, vd: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(s.read(y, pad: 0) * (s.read(g, pad: 0) - vd), dx) }
}

/// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum`.
func logSoftmaxBackwardPass<T: KernelFloat>(
  _ z: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  sum: T
) {
  forEachVector(count, LogSoftmaxBackward(z: z, g: g, dx: dx, vs: T.Vector(repeating: -sum)))
}

struct LogSoftmaxBackward<T: KernelFloat>: ElementwiseBody {
  let z: UnsafePointer<T>, g: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    s.write(T.fma(T.expNonPositive(s.read(z, pad: -.infinity)), vs, s.read(g, pad: 0)), dx)
  }
}
