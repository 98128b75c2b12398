// Spherical Z-loss rows (de Brebisson & Vincent 2016).

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Spherical Z-loss (de Brebisson & Vincent 2016)

/// The Z-loss of one row from its statistics: `z = (o_c - mean) / sigma`,
/// `L = softplus(a (b - z)) / a`, and `g = dL/dz = -logistic(a (b - z))`.
@inline(always)
func zLossValue(z: Double, a: Double, b: Double) -> (loss: Double, dLdz: Double) {
  let u = a * (b - z)
  // softplus(u) = max(u, 0) + log1p(exp(-|u|)); logistic(u) without overflow.
  let softplus = Swift.max(u, 0) + log1p(exp(-Swift.abs(u)))
  let logistic = u >= 0 ? 1 / (1 + exp(-u)) : exp(u) / (1 + exp(u))
  return (softplus / a, -logistic)
}

/// The rows `rows` of `b`: logits and gradient stored as `X` (`T`, or a 16-bit type read
/// exactly as `Float`, each gradient entry computed as for `Float` logits and rounded once).
func zLossRows<X: KernelStorage, T: KernelFloatLog>(
  _ b: ZLossBatch<X, T>, _ rows: Range<Int>
) -> LossPartial where X.Arithmetic == T {
  var partial = LossPartial()
  let n = b.columns
  let d = Double(n)
  let a = Double(b.a), bb = Double(b.b)
  for r in rows {
    let x = b.logits + r * b.logitsStride
    let c = b.targets[r]
    // Two-pass mean and variance (not sum of squares minus squared mean: cancellation), the
    // mean as `center + delta` (`center` in T, `delta` small, Double) from the gaps to the first
    // entry, so that a row far from 0 (1e4 + U[-8, 8) in Float, 1e12 + ... in Double) keeps
    // every digit of `o_k - mean = (o_k - center) - delta` (the loss is shift-invariant).
    let first = X.widened(x[0])
    let meanGap = -gapSumPass(x, n, from: first) / d  // mean - first
    let center = T(Double(first) + meanGap)
    let delta = (Double(first) - Double(center)) + meanGap  // mean - center
    // sum (o - center)^2 / D = variance + delta^2 exactly (the cross term sums to 0).
    let variance = Swift.max(squaredDeviationPass(x, n, mean: center) / d - delta * delta, 0)
    let sigma = (variance + Double(b.varianceEpsilon)).squareRoot()
    // The target's logit, read once: the gradient may be the logits' own memory (in place),
    // and the affine pass below overwrites x[c] before dx[c] is finished.
    let targetGap = Double(X.widened(x[c])) - Double(center)
    let z = (targetGap - delta) / sigma
    let (loss, g) = zLossValue(z: z, a: a, b: bb)
    partial.lossSum.add(loss)
    b.rowLoss?[r] = T(loss)
    guard let dx = b.gradient.map({ $0 + r * b.gradientStride }) else { continue }
    // dL/do_k = (g / sigma)(delta_kc - 1/D - z z_k / D), z_k = (o_k - mean) / sigma
    //         = alpha + beta (o_k - center) + gamma delta_kc.
    let s = Double(b.gradientScale)
    let gamma = s * g / sigma
    let beta = -s * g * z / (d * sigma * sigma)
    let alpha = -s * g / (d * sigma) - beta * delta
    affinePass(x, dx, n, center: center, alpha: T(alpha), beta: T(beta))
    dx[c] = X.narrowed(T(alpha + beta * targetGap + gamma))
  }
  return partial
}
