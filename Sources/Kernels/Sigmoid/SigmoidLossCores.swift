// The per-vector bodies of the BCE and SigLIP loops, written once per concrete type.
//
// Written generically (over `T.Vector`), these bodies resolve `*`, `+`, ... to the SIMD
// protocol's lane-by-lane extensions, which LLVM must re-vectorise; with this many live values it
// split the loops into xmm pieces in release builds (half the speed, seen with
// hot-loops.py). In the concrete conformances the operators are the concrete SIMD16<Float> /
// SIMD8<Double> ones. The two copies below are identical apart from the type.
//
// BCE per element, with e = e^-|x|, r = 1 / (1 + e), L = log1p(e), a = 1 - y, b = p y:
//   loss = w [a max(x, 0) + b max(-x, 0) + (a + b) L] = w [(1 - y) softplus(x) + p y softplus(-x)]
//   dloss/dx = w [a sigmoid(x) - b sigmoid(-x)]   (no cancellation for hard labels)
// The products `a max(x, 0)`, `b max(-x, 0)` are 0 when their weight is 0, so an infinite logit
// with the matching hard label gives loss 0 (not 0 * inf = NaN).
//
// SigLIP per pair: l = t s + b, u = -z l (z = +1 for the positive pair), loss softplus(u) =
// max(u, 0) + log1p(e^-|u|), q = -z sigmoid(u) = dloss/dl.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Float {
  @inline(always)
  static func bceCore(_ x: Vector, _ y: Vector, _ w: Vector, _ p: Vector) -> (loss: Vector, gradient: Vector) {
    let zero = Vector(), one = Vector(repeating: 1)
    let e = expNegativeGradual(negativeAbs(x))
    let r = one / (one + e)
    let a = one - y, b = p * y
    let er = e * r
    // a sigmoid(x) - b sigmoid(-x) with one select of the two finished branches: a mask used by
    // two selects was materialised through 16-bit lanes, splitting the loop into xmm pieces.
    let gradient = w * (a * er - b * r).replacing(with: a * r - b * er, where: x .>= zero)
    let linear = multiplyZeroSafe(a, vmax(x, zero)) + multiplyZeroSafe(b, vmax(zero - x, zero))
    return (w * fma(a + b, log1pUnit(e), linear), gradient)
  }

  @inline(always)
  static func sigLIPCore(_ s: Vector, _ position: Vector, _ t: Vector, _ b: Vector) -> (loss: Vector, q: Vector) {
    let zero = Vector(), one = Vector(repeating: 1)
    // -z as a vector (one select): u = -z l, q = -z sigmoid(u).
    let minusZ = one.replacing(with: Vector(repeating: -1), where: position .== zero)
    let u = fma(s, t, b) * minusZ
    let e = expNegativeGradual(negativeAbs(u))
    let r = one / (one + e)
    let sigmoid = (e * r).replacing(with: r, where: u .>= zero)
    return (vmax(u, zero) + log1pUnit(e), minusZ * sigmoid)
  }
}

extension Double {
  @inline(always)
  static func bceCore(_ x: Vector, _ y: Vector, _ w: Vector, _ p: Vector) -> (loss: Vector, gradient: Vector) {
    let zero = Vector(), one = Vector(repeating: 1)
    let e = expNegativeGradual(negativeAbs(x))
    let r = one / (one + e)
    let a = one - y, b = p * y
    let er = e * r
    // a sigmoid(x) - b sigmoid(-x) with one select of the two finished branches: a mask used by
    // two selects was materialised through 16-bit lanes, splitting the loop into xmm pieces.
    let gradient = w * (a * er - b * r).replacing(with: a * r - b * er, where: x .>= zero)
    let linear = multiplyZeroSafe(a, vmax(x, zero)) + multiplyZeroSafe(b, vmax(zero - x, zero))
    return (w * fma(a + b, log1pUnit(e), linear), gradient)
  }

  @inline(always)
  static func sigLIPCore(_ s: Vector, _ position: Vector, _ t: Vector, _ b: Vector) -> (loss: Vector, q: Vector) {
    let zero = Vector(), one = Vector(repeating: 1)
    // -z as a vector (one select): u = -z l, q = -z sigmoid(u).
    let minusZ = one.replacing(with: Vector(repeating: -1), where: position .== zero)
    let u = fma(s, t, b) * minusZ
    let e = expNegativeGradual(negativeAbs(u))
    let r = one / (one + e)
    let sigmoid = (e * r).replacing(with: r, where: u .>= zero)
    return (vmax(u, zero) + log1pUnit(e), minusZ * sigmoid)
  }
}
