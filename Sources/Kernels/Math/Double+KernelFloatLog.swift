// `KernelFloatLog` for Double: log, log1p on [0, 1], exponential with gradual underflow,
// soft-capping, and the BCE / SigLIP bodies (see KernelFloatLog.swift for why they are concrete).

import SoftmaxKernelsCore

// MARK: - Double

extension Double: KernelFloatLog {
  typealias SignedBits = SIMD8<Int64>

  // fdlibm e_log.c: ln2Hi has 32 significant bits, so k * ln2Hi is exact for |k| < 2^21.
  @inline(always) static var logLn2Hi: Double { 0x1.62E42FEE00000p-1 }
  @inline(always) static var logLn2Lo: Double { 0x1.A39EF35793C76p-33 }
  // R(z)/z ~ c1 + c2 z + ... + c8 z^7, Chebyshev fit on z in [0, 0.04]
  // (Benchmarks/Coefficients/log-coefficients.py).
  @inline(always) static var lg1: Double { 0x1.5555555555555p-1 }
  @inline(always) static var lg2: Double { 0x1.9999999999F17p-2 }
  @inline(always) static var lg3: Double { 0x1.24924923DE6EDp-2 }
  @inline(always) static var lg4: Double { 0x1.C71C72DF580FCp-3 }
  @inline(always) static var lg5: Double { 0x1.745CAC43CC003p-3 }
  @inline(always) static var lg6: Double { 0x1.3B29D0452D426p-3 }
  @inline(always) static var lg7: Double { 0x1.0E8C55B42945Fp-3 }
  @inline(always) static var lg8: Double { 0x1.169C38CC826BEp-3 }
  @inline(always) static var sqrtHalfBits: Int64 { 0x3FE6_A09E_667F_3BCD }
  // ln(2^-1075).
  @inline(always) static var underflowBelow: Double { -0x1.74910D52D3052p9 }

  @inline(always)
  static func logReduced(_ f: Vector, _ k: Vector) -> Vector {
    let s = f / (Vector(repeating: 2) + f)
    let z = s * s
    var r = fma(Vector(repeating: lg8), z, Vector(repeating: lg7))
    r = fma(r, z, Vector(repeating: lg6))
    r = fma(r, z, Vector(repeating: lg5))
    r = fma(r, z, Vector(repeating: lg4))
    r = fma(r, z, Vector(repeating: lg3))
    r = fma(r, z, Vector(repeating: lg2))
    r = fma(r, z, Vector(repeating: lg1))
    r = r * z
    let hfsq = Vector(repeating: 0.5) * f * f
    let tail = fma(s, hfsq + r, k * Vector(repeating: logLn2Lo))
    return k * Vector(repeating: logLn2Hi) - ((hfsq - tail) - f)
  }

  @inline(always)
  static func log1pUnit(_ u: Vector) -> Vector {
    // Two different comparisons rather than one mask used twice: a reused SIMDMask was
    // materialised through 16-bit lanes and split the loops into xmm pieces at x86-64-v3.
    let f = u.replacing(with: (u - Vector(repeating: 1)) * Vector(repeating: 0.5), where: u .>= Vector(repeating: 0.5))
    let k = Vector(repeating: 1).replacing(with: 0, where: u .< Vector(repeating: 0.5))
    return logReduced(f, k)
  }

  @inline(always)
  static func log(_ x: Vector) -> Vector {
    let scaled = x.replacing(with: x * Vector(repeating: 0x1p54), where: x .< Vector(repeating: .leastNormalMagnitude))
    let bias = Vector(repeating: 54).replacing(with: 0, where: x .>= Vector(repeating: .leastNormalMagnitude))
    let bits = unsafeBitCast(scaled, to: SignedBits.self)
    let shifted = bits &- SignedBits(repeating: sqrtHalfBits)
    let kBits = shifted &>> 52
    let m = unsafeBitCast(bits &- (kBits &<< 52), to: Vector.self)
    // |k| < 1100: the conversion through the magic number is exact.
    let k = unsafeBitCast(kBits &+ unsafeBitCast(Vector(repeating: roundPlain), to: SignedBits.self),
                          to: Vector.self) - Vector(repeating: roundPlain) - bias
    var y = logReduced(m - Vector(repeating: 1), k)
    y = y.replacing(with: .infinity, where: x .== Vector(repeating: .infinity))
    y = y.replacing(with: -.infinity, where: x .== Vector(repeating: 0))
    return y.replacing(with: .nan, where: .!(x .>= Vector(repeating: 0)))
  }

  // 1.5 * 2^52 + 1023 + 64.
  @inline(always) static var roundBiasedPlus64: Double { 6_755_399_441_056_831 }

  @inline(always)
  static func expNegativeGradual(_ x: Vector) -> Vector {
    let biased = fma(x, Vector(repeating: log2e), Vector(repeating: roundBiasedPlus64))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 52, to: Vector.self)
    let n = biased - Vector(repeating: roundBiasedPlus64)
    let t = fma(n, Vector(repeating: -ln2Lo), fma(n, Vector(repeating: -ln2Hi), x))
    let y = fma(t * s, polynomial(t), s) * Vector(repeating: 0x1p-64)
    return y.replacing(with: 0, where: x .< Vector(repeating: underflowBelow))
  }

  @inline(always)
  static func negativeAbs(_ x: Vector) -> Vector {
    unsafeBitCast(
      unsafeBitCast(x, to: Bits.self) | Bits(repeating: 0x8000_0000_0000_0000), to: Vector.self)
  }

  @inline(always)
  static func whereGreater(_ a: Vector, _ b: Vector, _ then: Vector, _ otherwise: Vector) -> Vector {
    otherwise.replacing(with: then, where: a .> b)
  }

  @inline(always)
  static func whereNonNegative(_ x: Vector, _ then: Vector, _ otherwise: Vector) -> Vector {
    otherwise.replacing(with: then, where: x .>= Vector(repeating: 0))
  }

  @inline(always)
  static func whereEqual(_ a: Vector, _ b: Vector, _ then: Vector, _ otherwise: Vector) -> Vector {
    otherwise.replacing(with: then, where: a .== b)
  }

  @inline(always)
  static func multiplyZeroSafe(_ a: Vector, _ b: Vector) -> Vector {
    (a * b).replacing(with: 0, where: a .== Vector(repeating: 0))
  }

  @inline(always)
  static func rangeStep(_ x: Vector, _ hi: inout Vector, _ lo: inout Vector, _ nan: inout Vector) {
    hi = vmax(hi, x)
    lo = vmin(lo, x)
    nan = nan.replacing(with: 1, where: x .!= x)
  }

  @inline(always)
  static func softcapParts(_ x: Vector, cap c: Double) -> (capped: Vector, chain: Vector) {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-700, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let far = magnitude .> Vector(repeating: 350.0)
    let v = (magnitude * Vector(repeating: -2)).replacing(with: Vector(repeating: -700), where: far)
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD8<UInt64>.self) &<< 52, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(v, n)
    let ts = t * s, p = polynomial(t)
    let e = fma(ts, p, s - Vector(repeating: 1))
    // q = e^v = e^(-2|u|) itself (not 1 + e, which loses q's digits when q is small).
    let q = fma(ts, p, s)
    let tanhMagnitude = -e / (e + Vector(repeating: 2))
    let signed = tanhMagnitude.replacing(with: -tanhMagnitude, where: u .< Vector())
    // 1 - tanh(u)^2 = 4 q / (1 + q)^2: no cancellation where tanh(u) is near +-1.
    let onePlusQ = q + Vector(repeating: 1)
    // Beyond the clamp the factor is below the smallest normal number: 0, as the exponential
    // flushes (and exactly 0 for x = +-inf, as before).
    let chain = (Vector(repeating: 4) * q / (onePlusQ * onePlusQ)).replacing(with: 0, where: far)
    return (signed * Vector(repeating: c), chain)
  }

  @inline(always)
  static func softcap(_ x: Vector, cap c: Double) -> Vector { softcapParts(x, cap: c).capped }


  // MARK: BCE and SigLIP (KernelFloatLog.swift)

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
