// Vector logarithms, an exponential with gradual underflow, the lane-wise selects the
// sigmoid / softplus kernels need, and the per-vector bodies of the loss kernels (soft-capping,
// BCE, SigLIP).
//
// This file is compiled once per ISA module, like all of Sources/Kernels. Every comparison and select is a requirement implemented in the concrete `Float` and
// `Double` conformances: in generic code `.>` and `replacing(with:where:)` compile to scalar
// loops.
//
// log(1 + f) for f in [-0.2929, 0.5] (fdlibm's scheme, k_log.h / e_logf.c):
//   s = f / (2 + f),  z = s^2,  log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(z)),
//   R(z) = sum_k 2 z^k / (2k + 1) ~ z (c1 + z c2 + ...).
// The interval is wider than fdlibm's [sqrt(1/2) - 1, sqrt(2) - 1] so that `log1pUnit(u)`,
// u in [0, 1], reduces exactly: f = u for u < 0.5 and f = (u - 1) / 2 (exact by Sterbenz) with
// k = 1 for u >= 0.5, so no rounding-correction term (and no second division) is needed.
// (Double's `log1pUnit`; Float's is a plain degree-10 polynomial on [0, 1], see there.)
// Polynomial errors on that interval (Benchmarks/Coefficients/log-coefficients.py):
// 0.007 ulp (Float `log`, fdlibm's 4 coefficients) and 0.007 ulp (Double, 8 coefficients
// fitted with mpmath.chebyfit on z in [0, 0.04]). The rest of the error is rounding, measured by
// the tests (SigmoidTests.testLogAccuracy).

import SoftmaxKernelsCore

/// The vector logarithms and selects of the sigmoid / softplus kernels, and the loss kernels'
/// per-vector bodies.
protocol KernelFloatLog: KernelFloat {
  /// `e^x` for `x <= 0` with gradual underflow: subnormal results are rounded (not flushed),
  /// `+0` below `ln(leastNonzeroMagnitude / 2)`, `-inf` gives `+0`, NaN propagates.
  static func expNegativeGradual(_ x: Vector) -> Vector
  /// `log(1 + u)` for `u` in `[0, 1]` (NaN propagates). Other inputs give unspecified values.
  static func log1pUnit(_ u: Vector) -> Vector
  /// `log(x)`: every positive float, subnormals included; `log(+0) = -inf`, `log(+inf) = +inf`,
  /// NaN for negative inputs and NaN.
  static func log(_ x: Vector) -> Vector
  /// `-|x|` (sets the sign bit).
  static func negativeAbs(_ x: Vector) -> Vector
  /// `a > b ? then : otherwise`, lane-wise (false for NaN).
  static func whereGreater(_ a: Vector, _ b: Vector, _ then: Vector, _ otherwise: Vector) -> Vector
  /// `x >= 0 ? then : otherwise`, lane-wise (true for `-0`, false for NaN).
  static func whereNonNegative(_ x: Vector, _ then: Vector, _ otherwise: Vector) -> Vector
  /// `a == b ? then : otherwise`, lane-wise.
  static func whereEqual(_ a: Vector, _ b: Vector, _ then: Vector, _ otherwise: Vector) -> Vector
  /// `a * b`, but `0` where `a == 0` (also when `b` is infinite): the weight of a term that
  /// must vanish (BCE with a hard label and an infinite logit).
  static func multiplyZeroSafe(_ a: Vector, _ b: Vector) -> Vector
  /// `(max(x), min(x), any NaN)` folded into running vectors: used to validate targets.
  static func rangeStep(_ x: Vector, _ hi: inout Vector, _ lo: inout Vector, _ nan: inout Vector)
  /// Soft-capping `c tanh(x / c)`, with `tanh(u) = sign(u) (-e) / (2 + e)`,
  /// `e = expm1(-2 |u|)`: no cancellation for small `u`; `x = +-inf` gives `+-c`.
  static func softcap(_ x: Vector, cap c: Self) -> Vector
  /// `softcap` and its derivative `1 - tanh(x / c)^2`, computed as `4 q / (1 + q)^2` with
  /// `q = e^(-2 |x / c|)` (no cancellation where `tanh` is near `+-1`; before 2026-12-01 it was
  /// `1 - (capped / c)^2`, 2.3% off at `x = 187`, `c = 30` in Float: an outside review).
  static func softcapParts(_ x: Vector, cap c: Self) -> (capped: Vector, chain: Vector)

  // The per-vector bodies of the BCE and SigLIP loops. Written generically (over `T.Vector`),
  // these bodies resolve `*`, `+`, ... to the SIMD protocol's lane-by-lane extensions, which LLVM
  // must re-vectorise; with this many live values it split the loops into xmm pieces in release
  // builds (half the speed, seen with hot-loops.py). In the concrete conformances the operators
  // are the concrete SIMD16<Float> / SIMD8<Double> ones; the two copies are identical apart
  // from the type.
  //
  // BCE per element, with e = e^-|x|, r = 1 / (1 + e), L = log1p(e), a = 1 - y, b = p y:
  //   loss = w [a max(x, 0) + b max(-x, 0) + (a + b) L] = w [(1 - y) softplus(x) + p y softplus(-x)]
  //   dloss/dx = w [a sigmoid(x) - b sigmoid(-x)]   (no cancellation for hard labels)
  // The products `a max(x, 0)`, `b max(-x, 0)` are 0 when their weight is 0, so an infinite logit
  // with the matching hard label gives loss 0 (not 0 * inf = NaN).
  //
  // SigLIP per pair: l = t s + b, u = -z l (z = +1 for the positive pair), loss softplus(u) =
  // max(u, 0) + log1p(e^-|u|), q = -z sigmoid(u) = dloss/dl.

  /// BCE with logits per element: `(loss, dloss/dx)`.
  static func bceCore(_ x: Vector, _ y: Vector, _ w: Vector, _ p: Vector) -> (loss: Vector, gradient: Vector)
  /// SigLIP per pair: `(softplus(u), q)` with `u = -z (t s + b)`, `z = +1` where
  /// `position == 0`.
  static func sigLIPCore(_ s: Vector, _ position: Vector, _ t: Vector, _ b: Vector) -> (loss: Vector, q: Vector)
}
