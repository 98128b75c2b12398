// The lane-wise selects the loss kernels need, written in the concrete conformances (generic
// `.>` / `replacing(with:where:)` compile to scalar loops).

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The selects StableMax needs, implemented concretely (generic SIMD comparisons compile to
/// scalar loops; see `KernelFloat.vmax`).
protocol KernelFloatLoss: KernelFloat {
  /// `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for `x < 0` (Prieto et al. 2025).
  static func stableMaxS(_ x: Vector) -> Vector
  /// `s'(x) = 1` for `x >= 0`, `1 / (1 - x)^2` for `x < 0`.
  static func stableMaxDerivative(_ x: Vector) -> Vector
  /// Soft-capping `c tanh(x / c)`, with `tanh(u) = sign(u) (-e) / (2 + e)`,
  /// `e = expm1(-2 |u|)`: no cancellation for small `u`; `x = +-inf` gives `+-c`.
  static func softcap(_ x: Vector, cap c: Self) -> Vector
}

extension Float: KernelFloatLoss {
  @inline(always)
  static func softcap(_ x: Vector, cap c: Float) -> Vector {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-87, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let v = (magnitude * Vector(repeating: -2)).replacing(
      with: Vector(repeating: -87), where: magnitude .> Vector(repeating: 43.5))
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD16<UInt32>.self) &<< 23, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(v, n)
    let e = fma(t * s, polynomial(t), s - Vector(repeating: 1))
    let tanhMagnitude = -e / (e + Vector(repeating: 2))
    let signed = tanhMagnitude.replacing(with: -tanhMagnitude, where: u .< Vector())
    return signed * Vector(repeating: c)
  }

  @inline(always)
  static func stableMaxS(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    return (one / (one - x)).replacing(with: x + one, where: x .>= Vector())
  }
  @inline(always)
  static func stableMaxDerivative(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    let r = one / (one - x)
    return (r * r).replacing(with: one, where: x .>= Vector())
  }
}

extension Double: KernelFloatLoss {
  @inline(always)
  static func softcap(_ x: Vector, cap c: Double) -> Vector {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-700, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let v = (magnitude * Vector(repeating: -2)).replacing(
      with: Vector(repeating: -700), where: magnitude .> Vector(repeating: 350.0))
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD8<UInt64>.self) &<< 52, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(v, n)
    let e = fma(t * s, polynomial(t), s - Vector(repeating: 1))
    let tanhMagnitude = -e / (e + Vector(repeating: 2))
    let signed = tanhMagnitude.replacing(with: -tanhMagnitude, where: u .< Vector())
    return signed * Vector(repeating: c)
  }

  @inline(always)
  static func stableMaxS(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    return (one / (one - x)).replacing(with: x + one, where: x .>= Vector())
  }
  @inline(always)
  static func stableMaxDerivative(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    let r = one / (one - x)
    return (r * r).replacing(with: one, where: x .>= Vector())
  }
}
