// The log-sum-exp of one loss row (max and sum pass), shared by the loss kernels. Formulas:
// the public doc comments of CrossEntropy (PyTorch semantics), SphericalZLoss and StableMax.
// Every row is processed while it is in cache: a max pass and a sum pass, the few extra sums
// the options need, then (for gradients) one write pass.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `log(sum_j exp(x_j))` of a row, carried as its maximum `m` (a `T` value) and
/// `logSum = log sum_j exp(x_j - m)` (in `[0, log C]`, Double), never as one rounded `lse`:
/// every log-probability is then `(x_i - m) - logSum` and every loss term `(m - x_c) + logSum`,
/// where `x_i - m` is exact for close values (Sterbenz), so the losses are as accurate for rows
/// at `1e4 + U[-8, 8)` as at `U[-8, 8)` (before: `lse` rounded to Float has an ulp of
/// 1e-3 at 1e4). `lse = m + logSum` is NaN for a NaN entry, `+inf` with a `+inf` entry, `-inf`
/// for an empty or all `-inf` row (PyTorch's `logsumexp`); `logSum` is NaN for those rows. When
/// the row's maximum is unique and dominates (sum of the other terms `rest < 1`), `rest` is
/// summed without the maximum so that `logSum = log1p(rest)` keeps its digits ("Softmax
/// Collapse", Prieto et al. 2025); `rest` is then returned with the argmax, else nil.
struct RowLogSumExp {
  var max: Double
  var logSum: Double
  var lse: Double
  /// `S = sum_j exp(x_j - max)` (`1 + rest` when `rest` is computed); NaN where `logSum` is.
  var sum: Double = .nan
  /// `(argmax, sum of exp(x_j - max) over j != argmax)` when computed.
  var rest: (index: Int, sum: Double)?
  /// Whether the exponential sum pass ran (the maximum is finite).
  var summed = false
}

/// With `next`, the `n` entries from `next` (the row this thread computes next) are prefetched
/// into the level-2 cache during the sum pass (`sumExpPrefetchPass`). With `e`, the sum pass
/// stores `e_i = exp(x_i - max)` there (`n` entries; only when `max` is finite: a row whose
/// `lse` is finite always has them).
func rowLogSumExp<X: KernelStorage>(
  _ x: UnsafePointer<X>, _ n: Int, prefetching next: UnsafePointer<X>? = nil,
  storing e: UnsafeMutablePointer<X.Arithmetic>? = nil
) -> RowLogSumExp {
  rowLogSumExp(x, n) { m in
    switch (e, next) {
    case (let e?, let next?): storeExpPrefetchPass(x, e, n, max: m, prefetching: next)
    case (let e?, nil): storeExpPass(x, e, n, max: m)
    case (nil, let next?): sumExpPrefetchPass(x, n, max: m, prefetching: next)
    case (nil, nil): sumExpPass(x, n, max: m)
    }
  }
}

/// The maximum pass, the special rows, then `sum(m)` (the exponential sum pass) for a finite
/// maximum `m`: it runs, and `summed` is true, exactly when the row's maximum is finite.
@inline(__always)
func rowLogSumExp<X: KernelStorage>(
  _ x: UnsafePointer<X>, _ n: Int, sum: (X.Arithmetic) -> Double
) -> RowLogSumExp {
  typealias T = X.Arithmetic
  let m: T = maxPass(x, n)
  guard m.isFinite else {
    if m == -.infinity {  // all -inf, or -inf and NaN
      for i in 0..<n where X.widened(x[i]).isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil) }
      return RowLogSumExp(max: -.infinity, logSum: .nan, lse: -.infinity, rest: nil)
    }
    for i in 0..<n where X.widened(x[i]).isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil) }
    return RowLogSumExp(max: .infinity, logSum: .nan, lse: .infinity, rest: nil)
  }
  let s = sum(m)
  if s.isNaN { return RowLogSumExp(max: .nan, logSum: .nan, lse: .nan, rest: nil, summed: true) }
  let mm = Double(m)
  if s < 2 {
    // The maximum is unique (a tie would make s >= 2): sum the others exactly.
    var k = 0
    while X.widened(x[k]) != m { k += 1 }
    let rest = sumExpPass(x, k, max: m) + sumExpPass(x + k + 1, n - k - 1, max: m)
    let logSum = log1p(rest)
    return RowLogSumExp(max: mm, logSum: logSum, lse: mm + logSum, sum: 1 + rest, rest: (k, rest), summed: true)
  }
  let logSum = log(s)
  return RowLogSumExp(max: mm, logSum: logSum, lse: mm + logSum, sum: s, rest: nil, summed: true)
}

/// The gradient pass's `(logSum rounded to T, factor)`: `exp(u - T(logSum)) * factor =
/// exp(u - logSum)`, so the rounding of `logSum` to `T` (up to 2.4e-7 relative in `p_i` for
/// Float at 1000 classes) costs nothing: the factor goes into the pass's scale `a`.
@inline(always)
func roundedLogSum<T: KernelFloat>(_ logSum: Double, _: T.Type) -> (T, Double) {
  let rounded = T(logSum)
  return (rounded, exp(Double(rounded) - logSum))
}
