// Sums over `m - x_i` (the gaps below the row maximum) for label smoothing and probability targets.

import SoftmaxKernelsCore

/// `sum_i (m - x_i)`: the row's gaps below `m` (its maximum, or any entry), each formed in `T`
/// before it is summed, so that rows far from 0 (`1e4 + U[-8, 8)`) lose nothing to cancellation
/// (`m - x_i` is exact for `x_i` in `[m/2, 2m]`, Sterbenz).
func gapSumPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, from m: T
) -> Double where X.Arithmetic == T {
  windowSum(count, GapSum(x: x, m: m, vm: T.Vector(repeating: m)), unrolled: true)
}

struct GapSum<X: KernelStorage>: SumBody {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, m: T, vm: T.Vector

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { vm - s.read(x, pad: m) }
}

/// `sum_i w_i (m - x_i)` (gaps as in `gapSumPass`).
func gapDotPass<T: KernelFloat, X: KernelStorage>(
  _ w: UnsafePointer<T>, _ x: UnsafePointer<X>, _ count: Int, from m: T
) -> Double where X.Arithmetic == T {
  windowSum(count, GapDot(w: w, x: x, m: m, vm: T.Vector(repeating: m)), unrolled: true)
}

struct GapDot<X: KernelStorage>: SumBody {
  typealias T = X.Arithmetic
  let w: UnsafePointer<T>, x: UnsafePointer<X>, m: T, vm: T.Vector

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    acc = T.fma(s.read(w, pad: 0), vm - s.read(x, pad: m), acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector { s.read(w, pad: 0) * (vm - s.read(x, pad: m)) }
}

/// `sum_i w_i t_i (m - x_i)` (gaps as in `gapSumPass`).
func gapTripleDotPass<T: KernelFloat, X: KernelStorage>(
  _ w: UnsafePointer<T>, _ t: UnsafePointer<T>, _ x: UnsafePointer<X>, _ count: Int, from m: T
) -> Double where X.Arithmetic == T {
  let body = GapTripleDot(w: w, t: t, x: x, m: m, vm: T.Vector(repeating: m))
  return windowSum(count, body, unrolled: false)
}

struct GapTripleDot<X: KernelStorage>: SumBody {
  typealias T = X.Arithmetic
  let w: UnsafePointer<T>, t: UnsafePointer<T>, x: UnsafePointer<X>, m: T, vm: T.Vector

  @inline(always)
  func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    acc = T.fma(s.read(w, pad: 0) * s.read(t, pad: 0), vm - s.read(x, pad: m), acc)
  }

  @inline(always)
  func term(_ s: some VectorSlot<T>) -> T.Vector {
    s.read(w, pad: 0) * s.read(t, pad: 0) * (vm - s.read(x, pad: m))
  }
}
