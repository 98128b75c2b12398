// StableMax rows (Prieto et al. 2025): forward, log and cross-entropy.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - StableMax (Prieto et al. 2025)

/// `s(x)` in `T` arithmetic: bitwise the value `KernelFloatLog.stableMax` gives in a vector
/// lane (the same IEEE operations), so a row's `s(x_y)` and its share of `sum_j s(x_j)` agree.
@inline(always)
func stableMaxS<T: KernelFloat>(_ x: T) -> T { x >= 0 ? x + 1 : 1 / (1 - x) }

/// The rows `rows` of `b`: input and gradient stored as `X`, outputs as `Y` (`T`, or 16-bit
/// types read exactly as `Float`, each output computed as for `Float` and rounded once).
func stableMaxRows<X: KernelStorage, Y: KernelStorage, T: KernelFloatLog>(
  _ b: StableMaxBatch<X, Y, T>, _ rows: Range<Int>
) -> LossPartial where X.Arithmetic == T, Y.Arithmetic == T {
  var partial = LossPartial()
  let n = b.columns
  for r in rows {
    let x = b.input + r * b.inputStride
    let total = stableMaxSumPass(x, n)
    if let y = b.output.map({ $0 + r * b.outputStride }) {
      if b.logarithm {
        let logTotal = log(total)
        for i in 0..<n { y[i] = Y.narrowed(T(log(Double(stableMaxS(X.widened(x[i])))) - logTotal)) }
      } else {
        stableMaxScalePass(x, y, n, scale: T(1 / total))
      }
    }
    guard let targets = b.targets else { continue }
    let c = targets[r]
    // -log(s_y / total) = log1p(rest / s_y), rest = total - s_y >= 0 (the sum holds s_y as
    // computed here, bitwise): exactly 0 when the other entries contribute 0 (one class, or
    // -inf elsewhere; before: s_y in Double against a Float sum gave 1.5e-10).
    let sy = Double(stableMaxS(X.widened(x[c])))
    let rest = total - sy
    let loss = log1p(rest / sy)
    partial.lossSum.add(loss)
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // d/dx_i = s'(x_i) / total - [i = c] s'(x_c) / s(x_c)
    let s = Double(b.gradientScale)
    let xc = Double(X.widened(x[c]))
    stableMaxGradientPass(x, dx, n, scale: T(s / total))
    let derivative = xc >= 0 ? 1 : 1 / ((1 - xc) * (1 - xc))
    // s'(x_y) (1 / total - 1 / s_y) = -s'(x_y) rest / (total s_y): no cancellation as p_y -> 1.
    dx[c] = X.narrowed(T(-s * derivative * rest / (total * sy)))
  }
  return partial
}
