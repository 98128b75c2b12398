// `KernelFloatLog` for Float: log, log1p on [0, 1], exponential with gradual underflow,
// soft-capping, and the BCE / SigLIP bodies (see KernelFloatLog.swift for why they are concrete).

import SoftmaxKernelsCore

// MARK: - Float

extension Float: KernelFloatLog {
  typealias SignedBits = SIMD16<Int32>

  // fdlibm e_logf.c: ln2 split (ln2Hi has 16 significant bits so k * ln2Hi is exact) and the
  // coefficients of R(z) (|error| < 2^-34.24 on fdlibm's interval).
  @inline(always) static var logLn2Hi: Float { 0x1.62E300p-1 }
  @inline(always) static var logLn2Lo: Float { 0x1.2FEFA2p-17 }
  @inline(always) static var lg1: Float { 0xAAAAAA.0p-24 }
  @inline(always) static var lg2: Float { 0xCCCE13.0p-25 }
  @inline(always) static var lg3: Float { 0x91E9EE.0p-25 }
  @inline(always) static var lg4: Float { 0xF89E26.0p-26 }
  // Bit pattern of sqrt(1/2) rounded to float: the reduction maps x to m in [sqrt(1/2), sqrt(2)).
  @inline(always) static var sqrtHalfBits: Int32 { 0x3F35_04F3 }
  // ln(2^-150): below it e^x rounds to 0 (XNNPACK's exp cut-off).
  @inline(always) static var underflowBelow: Float { -0x1.9FE368p6 }

  /// log(1 + f) + k ln 2 for f in [-0.2929, 0.5], k integral.
  @inline(always)
  static func logReduced(_ f: Vector, _ k: Vector) -> Vector {
    let s = f / (Vector(repeating: 2) + f)
    let z = s * s
    var r = fma(Vector(repeating: lg4), z, Vector(repeating: lg3))
    r = fma(r, z, Vector(repeating: lg2))
    r = fma(r, z, Vector(repeating: lg1))
    r = r * z
    let hfsq = Vector(repeating: 0.5) * f * f
    // fdlibm: k ln2Hi - ((hfsq - (s (hfsq + R) + k ln2Lo)) - f).
    let tail = fma(s, hfsq + r, k * Vector(repeating: logLn2Lo))
    return k * Vector(repeating: logLn2Hi) - ((hfsq - tail) - f)
  }

  /// log1p(u) = u P(u), P of degree 10: a Chebyshev fit of log1p(u) / u on [0, 1]
  /// (Benchmarks/Coefficients/log-coefficients.py), rounded to float. No reduction and no
  /// division: 11 FMAs instead of fdlibm's reduction, division and 4 FMAs, which made
  /// log-sigmoid 34% and softplus 20% faster at x86-64-v3 for 0.6 units of 2^-24 more error.
  @inline(always)
  static func log1pUnit(_ u: Vector) -> Vector {
    var p = fma(Vector(repeating: 0x1.04667Ap-9), u, Vector(repeating: -0x1.B02382p-7))
    p = fma(p, u, Vector(repeating: 0x1.4FED04p-5))
    p = fma(p, u, Vector(repeating: -0x1.4F61D4p-4))
    p = fma(p, u, Vector(repeating: 0x1.FB00B2p-4))
    p = fma(p, u, Vector(repeating: -0x1.49797Ap-3))
    p = fma(p, u, Vector(repeating: 0x1.9742F8p-3))
    p = fma(p, u, Vector(repeating: -0x1.FFB934p-3))
    p = fma(p, u, Vector(repeating: 0x1.555324p-2))
    p = fma(p, u, Vector(repeating: -0x1.FFFFF2p-2))
    p = fma(p, u, Vector(repeating: 1))
    return p * u
  }

  @inline(always)
  static func log(_ x: Vector) -> Vector {
    // Subnormal inputs: scale by 2^24 first, take 24 off the exponent.
    let scaled = x.replacing(with: x * Vector(repeating: 0x1p24), where: x .< Vector(repeating: .leastNormalMagnitude))
    let bias = Vector(repeating: 24).replacing(with: 0, where: x .>= Vector(repeating: .leastNormalMagnitude))
    let bits = unsafeBitCast(scaled, to: SignedBits.self)
    let shifted = bits &- SignedBits(repeating: sqrtHalfBits)
    let kBits = shifted &>> 23
    let m = unsafeBitCast(bits &- (kBits &<< 23), to: Vector.self)
    // |k| < 200: the conversion through the magic number is exact (a vector Int32 -> Float
    // initialiser was an out-of-line call).
    let k = unsafeBitCast(kBits &+ unsafeBitCast(Vector(repeating: roundPlain), to: SignedBits.self),
                          to: Vector.self) - Vector(repeating: roundPlain) - bias
    var y = logReduced(m - Vector(repeating: 1), k)
    y = y.replacing(with: .infinity, where: x .== Vector(repeating: .infinity))
    y = y.replacing(with: -.infinity, where: x .== Vector(repeating: 0))
    // NaN for x < 0 and for NaN (x >= 0 is false for both).
    return y.replacing(with: .nan, where: .!(x .>= Vector(repeating: 0)))
  }

  // 1.5 * 2^23 + 127 + 64: with it the magic-number rounding leaves n + 64 + 127 in the low
  // bits, so `bits << 23` is 2^(n + 64).
  @inline(always) static var roundBiasedPlus64: Float { 12_583_103 }

  @inline(always)
  static func expNegativeGradual(_ x: Vector) -> Vector {
    // e^x 2^64 is a normal float for every x >= ln(2^-150); one multiplication by 2^-64 then
    // rounds it once into the subnormal range (a single extra multiply over the flushing exp).
    let biased = fma(x, Vector(repeating: log2e), Vector(repeating: roundBiasedPlus64))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 23, to: Vector.self)
    let n = biased - Vector(repeating: roundBiasedPlus64)
    let t = fma(n, Vector(repeating: -ln2Lo), fma(n, Vector(repeating: -ln2Hi), x))
    let y = fma(t * s, polynomial(t), s) * Vector(repeating: 0x1p-64)
    return y.replacing(with: 0, where: x .< Vector(repeating: underflowBelow))
  }

  @inline(always)
  static func negativeAbs(_ x: Vector) -> Vector {
    unsafeBitCast(unsafeBitCast(x, to: Bits.self) | Bits(repeating: 0x8000_0000), to: Vector.self)
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
  static func softcapParts(_ x: Vector, cap c: Float) -> (capped: Vector, chain: Vector) {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-87, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let far = magnitude .> Vector(repeating: 43.5)
    let v = (magnitude * Vector(repeating: -2)).replacing(with: Vector(repeating: -87), where: far)
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD16<UInt32>.self) &<< 23, to: Vector.self)
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
  static func softcap(_ x: Vector, cap c: Float) -> Vector { softcapParts(x, cap: c).capped }


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
