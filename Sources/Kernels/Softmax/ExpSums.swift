// Sums of exponentials `exp(x_i - m)` (three-pass algorithms, pass 2), optionally stored.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Exponential sums and writes

/// The sums a softmax row needs from its exponentials `e_i = exp(x_i - m)`, `m` the row's
/// maximum: `sum = sum_i e_i` and, for the logarithmic operations, `rest` = the same sum over
/// the entries strictly below `m` (nil when not accumulated).
///
/// Why `rest`: every maximal entry contributes exactly 1, so `sum = k + rest` with `k >= 1`
/// maximal entries. When the maximum is unique and dominates (`rest` far below 1, the
/// "Softmax Collapse" regime of Prieto et al. 2025), a lane that holds the 1 absorbs the small
/// terms added after it and `log(sum)` keeps none of their digits; `log1p(rest)` keeps all of
/// them, so log-probabilities near 0 keep their relative accuracy.
struct ExpSums {
  private var total = CompensatedSum()
  private var restTotal: CompensatedSum?

  init(sum: Double = 0, rest: Double? = nil) {
    total = CompensatedSum(sum)
    restTotal = rest.map { CompensatedSum($0) }
  }

  var sum: Double { total.value }
  var rest: Double? { restTotal?.value }

  mutating func add(sum s: Double, rest r: Double) {
    total.add(s)
    restTotal?.add(r)
  }

  mutating func merge(_ other: ExpSums) {
    total.add(other.total)
    if let r = other.restTotal {
      if restTotal == nil { restTotal = CompensatedSum() }
      restTotal!.add(r)
    }
  }

  /// `log(sum)`, as `log1p(rest)` when `sum < 2`: then exactly one entry is maximal (two would
  /// contribute 1 + 1), so `sum = 1 + rest`.
  var logSum: Double {
    if let rest, sum < 2 { return log1p(rest) }
    return log(sum)
  }
}

/// Vectors per accumulation window of the exponential sums, and lane accumulators. Each lane
/// accumulator adds at most 16 terms in the row's precision before the window is added in
/// Double (compensated). A large term (one near the maximum) absorbs the small terms added after
/// it in its lane, losing up to half an ulp of it per term; with 16 terms per lane that loss
/// stays below 8 ulp of the sum (it reached 64 with the former 128-term lanes: a Float row
/// `[16.7, 0, ..., 0]` lost 7e-6 of its sum). x86-64-v4 has 32 zmm registers and takes four
/// accumulators per 64-vector window; the other levels hold a vector in two ymm (four xmm)
/// registers, where four accumulators spilled (disassembly: 42 stack accesses per iteration
/// against 15, 9% more instructions per vector), so they take two per 32-vector window.
#if SOFTMAXKERNELS_LEVEL_V4
let expSumAccumulators = 4
#else
let expSumAccumulators = 2
#endif

let expSumWindowVectors = 16 * expSumAccumulators

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`, and the part of it over `x_i < m` when
/// `split` (see `ExpSums`). NaN if some `x_i` is NaN. `y`, when given, receives `exp(x_i - m)`
/// (three-pass reload, pass 2). Specialised by the wrappers below for constant `split` and `y`.
@inline(__always)
func expSums<T: KernelFloat, X: KernelStorage, Y: KernelStorage, P: LinePrefetch>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>?, _ count: Int, max m: T, split: Bool,
  _ prefetch: P
) -> ExpSums where X.Arithmetic == T, Y.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = ExpSums(sum: 0, rest: split ? 0 : nil)
  var i = 0
  /// The exponential of one vector, stored when `y` is given, added to `a` and (when `split`)
  /// to `r` where `x < m`.
  @inline(__always)
  func add(_ x0: T.Vector, at j: Int, _ a: inout T.Vector, _ r: inout T.Vector) {
    let e = T.expShifted(x0, minus: vm)
    if let y { store(e, y + j) }
    a += e
    if split { r = T.addWhereBelow(r, e, x0, vm) }
  }
  while i < fullEnd {
    let end = min(fullEnd, i + expSumWindowVectors * lanes)
    var a0 = T.Vector(), a1 = T.Vector(), a2 = T.Vector(), a3 = T.Vector()
    var r0 = T.Vector(), r1 = T.Vector(), r2 = T.Vector(), r3 = T.Vector()
    // Wrapping arithmetic (i < count, so nothing wraps): an overflow check splits the body
    // into two blocks, and LLVM then hoisted the loads and prefetches above it, away from
    // the subtractions they would fold into.
    while i &+ expSumAccumulators &* lanes <= end {
      add(load(x + i), at: i, &a0, &r0)
      add(load(x + i + lanes), at: i + lanes, &a1, &r1)
      if expSumAccumulators == 4 {
        add(load(x + i + 2 * lanes), at: i + 2 * lanes, &a2, &r2)
        add(load(x + i + 3 * lanes), at: i + 3 * lanes, &a3, &r3)
      }
      // One line of the next row per vector, after the loads: a prefetch between a load and
      // its subtraction kept LLVM from folding the load into it (seen in the disassembly).
      for k in 0..<expSumAccumulators { prefetch.line(i &+ k &* lanes) }
      i &+= expSumAccumulators &* lanes
    }
    while i < end {
      add(load(x + i), at: i, &a0, &r0)
      prefetch.line(i)
      i += lanes
    }
    total.add(
      sum: Double(T.horizontalSum((a0 + a1) + (a2 + a3))),
      rest: split ? Double(T.horizontalSum((r0 + r1) + (r2 + r3))) : 0)
  }
  if i < count {
    let valid = count - i
    let x0 = loadPartial(x + i, valid, pad: -.infinity)
    let e = T.expShifted(x0, minus: vm)
    if let y { storePartial(e, y + i, valid) }
    total.add(
      sum: Double(e.sum()), rest: split ? Double(T.addWhereBelow(T.Vector(), e, x0, vm).sum()) : 0)
  }
  return total
}

/// `sum_i exp(x_i - m)` for `m` finite and `m >= x_i`. NaN if some `x_i` is NaN.
func sumExpPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, max m: T
) -> Double where X.Arithmetic == T {
  expSums(x, nil as UnsafeMutablePointer<T>?, count, max: m, split: false, NoPrefetch()).sum
}

/// `sumExpPass`, prefetching the `count` elements from `next` (the next row) into the level-2
/// cache, one 64-byte line per vector: the next row's first pass then reads from the cache, and
/// its memory traffic overlaps this pass's arithmetic (`ForwardBatch.prefetchNextRow`). A pass
/// of its own (not an optional argument): with both loops in one function LLVM merged them, or
/// split the vectors of the store variant into xmm pieces (seen in the disassembly).
func sumExpPrefetchPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, max m: T, prefetching next: UnsafePointer<X>
) -> Double where X.Arithmetic == T {
  expSums(x, nil as UnsafeMutablePointer<T>?, count, max: m, split: false, NextRowPrefetch(next: next)).sum
}

/// `sum_i exp(x_i - m)` and its part over `x_i < m` (log-softmax, log-sum-exp; see `ExpSums`).
func sumExpSplitPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ count: Int, max m: T
) -> ExpSums where X.Arithmetic == T {
  expSums(x, nil as UnsafeMutablePointer<T>?, count, max: m, split: true, NoPrefetch())
}

/// Writes `y_i = exp(x_i - m)` and returns their sum (three-pass reload, pass 2).
func storeExpPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T
) -> Double where X.Arithmetic == T {
  expSums(x, y, count, max: m, split: false, NoPrefetch()).sum
}

/// `storeExpPass`, prefetching the next row as `sumExpPrefetchPass` does.
func storeExpPrefetchPass<T: KernelFloat, X: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<T>, _ count: Int, max m: T,
  prefetching next: UnsafePointer<X>
) -> Double where X.Arithmetic == T {
  expSums(x, y, count, max: m, split: false, NextRowPrefetch(next: next)).sum
}
