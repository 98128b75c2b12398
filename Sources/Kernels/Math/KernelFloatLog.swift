// Vector logarithms, an exponential with gradual underflow, and the lane-wise selects the
// sigmoid / softplus kernels need.
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The vector logarithms and selects of the sigmoid / softplus kernels.
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
  /// BCE with logits per element: `(loss, dloss/dx)` (SigmoidLossCores.swift).
  static func bceCore(_ x: Vector, _ y: Vector, _ w: Vector, _ p: Vector) -> (loss: Vector, gradient: Vector)
  /// SigLIP per pair: `(softplus(u), q)` with `u = -z (t s + b)`, `z = +1` where
  /// `position == 0` (SigmoidLossCores.swift).
  static func sigLIPCore(_ s: Vector, _ position: Vector, _ t: Vector, _ b: Vector) -> (loss: Vector, q: Vector)
}
