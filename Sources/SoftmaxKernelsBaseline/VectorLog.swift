// Vector logarithms, an exponential with gradual underflow, and the lane-wise selects the
// sigmoid / softplus kernels need.
//
// Like VectorMath.swift this file is compiled once per ISA module (the V3 and V4 folders link
// to it). Every comparison and select is a requirement implemented in the concrete `Float` and
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

/// The vector logarithms and selects of the sigmoid / softplus kernels. (`Codable` only silences
/// a compiler warning about the inherited same-type constraint; Float and Double are Codable.)
protocol KernelFloatLog: KernelFloat, Codable {
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
}

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
}
