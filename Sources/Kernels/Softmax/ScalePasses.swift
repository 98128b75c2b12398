// The write passes of the softmax family: scale, exp-and-scale, log-softmax, fill. With
// `streaming`, the output is written with streaming stores (a row that leaves the cache; see
// `ForwardBatch.streamingStores`).

import SoftmaxKernelsCore

/// `y_i *= s` in place (three-pass reload, pass 3).
func scalePass<T: KernelFloat>(_ y: UnsafeMutablePointer<T>, _ count: Int, by s: T, streaming: Bool = false) {
  forEachVector(count, Scale(y: y, vs: T.Vector(repeating: s)), streamingTo: y, streaming)
}

struct Scale<T: KernelFloat>: ElementwiseBody {
  let y: UnsafeMutablePointer<T>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(s.read(UnsafePointer(y), pad: 0) * vs, y) }
}

/// `y_i = e_i * s`, the intermediates `e` (in `T`: the exponentials of three-pass reload with a
/// scratch row, softplus attention's `f`) scaled into the output row, each rounded once to `Y`.
func scaleCopyPass<T: KernelFloat, Y: KernelStorage>(
  _ e: UnsafePointer<T>, _ y: UnsafeMutablePointer<Y>, _ count: Int, by s: T, streaming: Bool = false
) where Y.Arithmetic == T {
  forEachVector(count, ScaleCopy(e: e, y: y, vs: T.Vector(repeating: s)), streamingTo: y, streaming)
}

struct ScaleCopy<Y: KernelStorage>: ElementwiseBody {
  typealias T = Y.Arithmetic
  let e: UnsafePointer<T>, y: UnsafeMutablePointer<Y>, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(s.read(e, pad: 0) * vs, y) }
}

/// `y_i = exp(x_i - m) * s` (three-pass recompute pass 3, online pass 2). Precondition: no
/// NaN in `x` (its rows go to `nanRow`) and a finite `s`: the outputs are then never NaN and are
/// rounded without the NaN check (`KernelStorage.storeNarrowedNonNaN`).
func expScalePass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, max m: T, scale s: T,
  streaming: Bool = false
) where X.Arithmetic == T, Y.Arithmetic == T {
  let body = ExpScale(x: x, y: y, vm: T.Vector(repeating: m), vs: T.Vector(repeating: s))
  forEachVector(count, body, streamingTo: y, streaming)
}

struct ExpScale<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<Y>, vm: T.Vector, vs: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    // No NaN reaches here: rows with a NaN go to `nanRow` first, and `x_i <= m`, `s <= 1`.
    s.writeNonNaN(T.expShifted(s.read(x, pad: -.infinity), minus: vm) * vs, y)
  }
}

/// `expScalePass`, prefetching the `count` elements from `next` (the block this thread writes
/// next) into the level-2 cache, one 64-byte line per vector, as `sumExpPrefetchPass` does: the
/// last pass of a row longer than one block (`blockedSoftmax`) reads its input from beyond the
/// cache, and the prefetch overlaps the next block's reads with this block's arithmetic. A pass
/// of its own, for the reason `sumExpPrefetchPass` gives. One more instruction per vector
/// (`prefetcht1`). Measured with `threePassRecompute` (`automatic` there) on one row of 2^28
/// entries at x86-64-v4, GB/s at 1 / 2 threads, medians of 5 calls, the build before and this
/// one interleaved (Intel Xeon model 207, 2026-12-02): Float 6.8-7.8 / 11.0-13.5 before,
/// 7.6-8.2 / 13.1-15.3 after (4 rounds); BFloat16 4.8-5.6 / 9.0-10.7 before, 5.3-6.3 /
/// 10.0-11.9 after (6 rounds); Float16 4.5-5.1 / 6.8-9.4 before, 4.1-6.0 / 8.3-11.6 after
/// (4 rounds): about 10% at both thread counts.
func expScalePrefetchPass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, max m: T, scale s: T,
  streaming: Bool, prefetching next: UnsafePointer<X>
) where X.Arithmetic == T, Y.Arithmetic == T {
  let body = ExpScalePrefetch(
    base: ExpScale(x: x, y: y, vm: T.Vector(repeating: m), vs: T.Vector(repeating: s)),
    prefetch: NextRowPrefetch(next: next))
  forEachVector(count, body, streamingTo: y, streaming)
}

struct ExpScalePrefetch<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let base: ExpScale<X, Y>, prefetch: NextRowPrefetch<X>

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    prefetch.line(s.index)
    base.step(s)
  }
}

/// `y_i = (x_i - m) - logSum` (log-softmax; the order keeps `x_i - m` exact for close values,
/// pytorch/pytorch#11752).
func logSoftmaxPass<T: KernelFloat, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, max m: T, logSum l: T,
  streaming: Bool = false
) where X.Arithmetic == T, Y.Arithmetic == T {
  let body = LogSoftmax(x: x, y: y, vm: T.Vector(repeating: m), vl: T.Vector(repeating: l))
  forEachVector(count, body, streamingTo: y, streaming)
}

struct LogSoftmax<X: KernelStorage, Y: KernelStorage>: ElementwiseBody where Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<Y>, vm: T.Vector, vl: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write((s.read(x, pad: 0) - vm) - vl, y) }
}

/// `y_i = value` (rounded to `Y`).
func fillPass<Y: KernelStorage>(_ y: UnsafeMutablePointer<Y>, _ count: Int, _ value: Y.Arithmetic) {
  let v = Y.narrowed(value)
  for i in 0..<count { y[i] = v }
}
