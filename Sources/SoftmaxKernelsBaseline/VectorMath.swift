// Vector exponentials and the small helpers every kernel uses.
//
// This file is compiled once per ISA module (baseline, x86-64-v3, x86-64-v4): the V3 and V4
// folders hold symbolic links to it. `SOFTMAXKERNELS_FMA` is defined for the levels that have
// fused multiply-add; without it `fma` is a multiply and an add (at the x86-64 baseline a
// vector `addingProduct` becomes one `fmaf` library call per lane).

/// A scalar type the kernels are written for (`Float`, `Double`), with its SIMD vector type and
/// its vector exponentials.
protocol KernelFloat: BinaryFloatingPoint, SIMDScalar where Vector.Scalar == Self {
  /// The vector type the kernels use: 64 bytes (one zmm register at x86-64-v4, two ymm at
  /// x86-64-v3, four xmm at the baseline).
  associatedtype Vector: SIMD
  /// `e^x` for `x <= 0` (and `x = -inf`, giving 0; NaN propagates). Results below the smallest
  /// normal number are flushed to `+0`.
  static func expNonPositive(_ x: Vector) -> Vector
  /// The extended exponential `e^x = mantissa * 2^exponent`, `mantissa` in `[0.7, 1.42]`,
  /// `exponent` integral (stored as a float). Accurate for `|x| <= 1e5`; NaN for non-finite x.
  static func extendedExp(_ x: Vector) -> (mantissa: Vector, exponent: Vector)
  /// `2^d` for integral `d <= 0`; exactly `+0` for `d <= -(exponent bias)`.
  static func exp2Integral(_ d: Vector) -> Vector
  /// Lane-wise maximum, ignoring NaN in `b`. A requirement (not a generic helper) because in
  /// generic code `.>` resolves to the lane-by-lane protocol extension, which was seen to
  /// compile to a scalar loop; the concrete conformances get one `vmaxps`.
  static func vmax(_ a: Vector, _ b: Vector) -> Vector
  /// Lane-wise minimum, ignoring NaN in `b`.
  static func vmin(_ a: Vector, _ b: Vector) -> Vector
  /// `a * b + c`, fused where the level has FMA.
  static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector
  /// The sum of the lanes by halving (`lowHalf + highHalf` down to one lane): a few vector adds,
  /// where the generic `sum()` was seen to compile to 15 scalar extracts and adds per window.
  static func horizontalSum(_ v: Vector) -> Self
  /// `a + v` where `d < 0`, else `a` (NaN in `d` adds nothing): accumulates the exponentials
  /// of the entries below a row's maximum (`d = x - max`); one merge-masked add at
  /// x86-64-v4. A requirement for the same reason as `vmax`.
  static func addBelowZero(_ a: Vector, _ v: Vector, _ d: Vector) -> Vector
  /// How far above the two-pass reference `r` a row's maximum may lie: every non-negligible
  /// term then has `|x - r|` small enough that `n * ln2Hi` is exact in `extendedExp`.
  static var twoPassRange: Double { get }
  /// Rows whose first entry is within this distance of 0 are summed unshifted (`r = 0`).
  static var twoPassUnshiftedLimit: Double { get }
  /// Entries more than this far below a row's maximum have `exp(x - max)` below the smallest
  /// normal number (flushed to 0): ln(2^-126) = -87.3 rounded out to 104 for Float (the margin
  /// the two-pass range above uses), ln(2^-1022) = -708.4 rounded out to 746 for Double.
  static var negligibleBelowMax: Double { get }
}

/// `a * b + c`, fused where the level has FMA. Concrete overloads: a generic one binds
/// `addingProduct` to the lane-by-lane protocol extension, which LLVM vectorised erratically.
@inline(always)
func fusedMultiplyAdd(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
  #if SOFTMAXKERNELS_FMA || arch(arm64)
  return c.addingProduct(a, b)
  #else
  return a * b + c
  #endif
}

@inline(always)
func fusedMultiplyAdd(_ a: SIMD8<Double>, _ b: SIMD8<Double>, _ c: SIMD8<Double>) -> SIMD8<Double> {
  #if SOFTMAXKERNELS_FMA || arch(arm64)
  return c.addingProduct(a, b)
  #else
  return a * b + c
  #endif
}

/// Lane sum by halving, for the kernels' vector types.
@inline(always)
func halvingSum(_ v: SIMD16<Float>) -> Float {
  let h8 = v.lowHalf + v.highHalf
  let h4 = h8.lowHalf + h8.highHalf
  let h2 = h4.lowHalf + h4.highHalf
  return h2[0] + h2[1]
}

@inline(always)
func halvingSum(_ v: SIMD8<Double>) -> Double {
  let h4 = v.lowHalf + v.highHalf
  let h2 = h4.lowHalf + h4.highHalf
  return h2[0] + h2[1]
}

// MARK: - Float

extension Float: KernelFloat {
  typealias Vector = SIMD16<Float>
  typealias Bits = SIMD16<UInt32>

  // Range reduction x = n ln2 + t, |t| <= ln2/2 (Cody & Waite). log2(e) rounded to float.
  @inline(always) static var log2e: Float { 0x1.715476p+0 }
  // ln2 split so that n * ln2Hi is exact for |n| < 2^9 without FMA (ln2Hi has 15 significant
  // bits); ln2Lo = ln2 - ln2Hi rounded to float (Cody & Waite, "Software Manual for the
  // Elementary Functions", 1980; the same split as Cephes / SLEEF's float exp).
  @inline(always) static var ln2Hi: Float { 0x1.62E400p-1 }
  @inline(always) static var ln2Lo: Float { 0x1.7F7D1Cp-20 }
  // Adding 1.5 * 2^23 rounds to an integer (round to nearest even) and leaves it in the low
  // mantissa bits; the extra 127 is the exponent bias, so `bits << 23` is 2^n as a float
  // (XNNPACK's "magic bias" 0x1.8000FEp23, src/f32-raddstoreexpminusmax/avx2-rr1-p5.c.in).
  @inline(always) static var roundBiased: Float { 0x1.8000FEp23 }
  @inline(always) static var roundPlain: Float { 0x1.8p23 }
  // Degree-5 minimax polynomial for e^t on [-ln2/2, ln2/2], c0 = 1 (XNNPACK "p5" constants,
  // src/math/exp-avx512f-p5.c).
  @inline(always) static var c1: Float { 0x1.FFFFF6p-1 }
  @inline(always) static var c2: Float { 0x1.FFFDC6p-2 }
  @inline(always) static var c3: Float { 0x1.555A80p-3 }
  @inline(always) static var c4: Float { 0x1.573A1Ap-5 }
  @inline(always) static var c5: Float { 0x1.0F9F9Cp-7 }
  // n * ln2Hi is exact for |n| < 2^9, i.e. |x| < 512 ln 2 = 354.9; terms more than 104 below
  // the maximum vanish, so a maximum at most 350 above the reference keeps every term exact.
  static var twoPassRange: Double { 350 }
  static var twoPassUnshiftedLimit: Double { 250 }
  static var negligibleBelowMax: Double { 104 }
  // ln(2^-126): below it e^x is not a normal float; flushed to +0 (XNNPACK's denorm cutoff).
  @inline(always) static var flushBelow: Float { -0x1.5D589Ep6 }

  @inline(always)
  static func reduce(_ x: Vector, _ n: Vector) -> Vector {
    // Multiply and subtract, not FMA: n * ln2Hi is exact by the choice of ln2Hi, and the FMA
    // form let LLVM's SLP vectoriser split the following polynomial into zmm/ymm/xmm/scalar
    // pieces (seen in the two-pass loops at x86-64-v4).
    (x - n * Vector(repeating: ln2Hi)) - n * Vector(repeating: ln2Lo)
  }

  /// (e^t - 1) / t evaluated as c1 + t (c2 + t (c3 + t (c4 + t c5))).
  @inline(always)
  static func polynomial(_ t: Vector) -> Vector {
    var p = fma(Vector(repeating: c5), t, Vector(repeating: c4))
    p = fma(p, t, Vector(repeating: c3))
    p = fma(p, t, Vector(repeating: c2))
    return fma(p, t, Vector(repeating: c1))
  }

  @inline(always)
  static func vmax(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .> a) }

  @inline(always)
  static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
    fusedMultiplyAdd(a, b, c)
  }

  @inline(always)
  static func vmin(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .< a) }

  @inline(always)
  static func addBelowZero(_ a: Vector, _ v: Vector, _ d: Vector) -> Vector {
    a.replacing(with: a + v, where: d .< Vector())
  }

  @inline(always)
  static func horizontalSum(_ v: Vector) -> Self { halvingSum(v) }

  @inline(always)
  static func expNonPositive(_ x: Vector) -> Vector {
    let biased = fma(x, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 23, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(x, n)
    // e^x = s (1 + t p(t)) = s + (t s) p(t)
    let y = fma(t * s, polynomial(t), s)
    return y.replacing(with: 0, where: x .< Vector(repeating: flushBelow))
  }

  @inline(always)
  static func extendedExp(_ x: Vector) -> (mantissa: Vector, exponent: Vector) {
    let n = fma(x, Vector(repeating: log2e), Vector(repeating: roundPlain))
      - Vector(repeating: roundPlain)
    let t = reduce(x, n)
    return (fma(t, polynomial(t), Vector(repeating: 1)), n)
  }

  @inline(always)
  static func exp2Integral(_ d: Vector) -> Vector {
    // Clamp at -127: (-127 + 127) << 23 is the bit pattern of +0 (XNNPACK avx2-p5 extexp).
    let clamped = vmax(Vector(repeating: -127), d)
    let biased = clamped + Vector(repeating: roundBiased)
    return unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 23, to: Vector.self)
  }
}

// MARK: - Double

extension Double: KernelFloat {
  typealias Vector = SIMD8<Double>
  typealias Bits = SIMD8<UInt64>

  @inline(always) static var log2e: Double { 0x1.71547652B82FEp+0 }
  // fdlibm's split of ln 2 (e_exp.c: ln2HI, ln2LO): n * ln2Hi is exact for |n| < 2^11.
  @inline(always) static var ln2Hi: Double { 0x1.62E42FEE00000p-1 }
  @inline(always) static var ln2Lo: Double { 0x1.A39EF35793C76p-33 }
  // 1.5 * 2^52 (+ the exponent bias 1023): the double analogue of the float magic bias.
  @inline(always) static var roundBiased: Double { 0x1.80000000003FFp52 }
  @inline(always) static var roundPlain: Double { 0x1.8p52 }
  // n * ln2Hi is exact for |n| < 2^21 (|x| < 1.45e6); 1e5 keeps a wide margin.
  static var twoPassRange: Double { 1e5 }
  static var twoPassUnshiftedLimit: Double { 5e4 }
  static var negligibleBelowMax: Double { 746 }
  // ln(2^-1022).
  @inline(always) static var flushBelow: Double { -0x1.6232BDD7ABCD2p9 }

  @inline(always)
  static func reduce(_ x: Vector, _ n: Vector) -> Vector {
    // Multiply and subtract, not FMA: n * ln2Hi is exact by the choice of ln2Hi, and the FMA
    // form let LLVM's SLP vectoriser split the following polynomial into zmm/ymm/xmm/scalar
    // pieces (seen in the two-pass loops at x86-64-v4).
    (x - n * Vector(repeating: ln2Hi)) - n * Vector(repeating: ln2Lo)
  }

  /// (e^t - 1) / t = sum_{k=0}^{12} t^k / (k + 1)!  (Taylor; on |t| <= ln2/2 the first
  /// omitted term t^13 / 14! is below 5e-18, well under the 2^-53 rounding unit).
  @inline(always)
  static func polynomial(_ t: Vector) -> Vector {
    var p = Vector(repeating: 1.0 / 6227020800.0)  // 1/13!
    p = fma(p, t, Vector(repeating: 1.0 / 479001600.0))  // 1/12!
    p = fma(p, t, Vector(repeating: 1.0 / 39916800.0))  // 1/11!
    p = fma(p, t, Vector(repeating: 1.0 / 3628800.0))  // 1/10!
    p = fma(p, t, Vector(repeating: 1.0 / 362880.0))  // 1/9!
    p = fma(p, t, Vector(repeating: 1.0 / 40320.0))  // 1/8!
    p = fma(p, t, Vector(repeating: 1.0 / 5040.0))  // 1/7!
    p = fma(p, t, Vector(repeating: 1.0 / 720.0))  // 1/6!
    p = fma(p, t, Vector(repeating: 1.0 / 120.0))  // 1/5!
    p = fma(p, t, Vector(repeating: 1.0 / 24.0))  // 1/4!
    p = fma(p, t, Vector(repeating: 1.0 / 6.0))  // 1/3!
    p = fma(p, t, Vector(repeating: 0.5))  // 1/2!
    return fma(p, t, Vector(repeating: 1.0))  // 1/1!
  }

  @inline(always)
  static func vmax(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .> a) }

  @inline(always)
  static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
    fusedMultiplyAdd(a, b, c)
  }

  @inline(always)
  static func vmin(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .< a) }

  @inline(always)
  static func addBelowZero(_ a: Vector, _ v: Vector, _ d: Vector) -> Vector {
    a.replacing(with: a + v, where: d .< Vector())
  }

  @inline(always)
  static func horizontalSum(_ v: Vector) -> Self { halvingSum(v) }

  @inline(always)
  static func expNonPositive(_ x: Vector) -> Vector {
    let biased = fma(x, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 52, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(x, n)
    let y = fma(t * s, polynomial(t), s)
    return y.replacing(with: 0, where: x .< Vector(repeating: flushBelow))
  }

  @inline(always)
  static func extendedExp(_ x: Vector) -> (mantissa: Vector, exponent: Vector) {
    let n = fma(x, Vector(repeating: log2e), Vector(repeating: roundPlain))
      - Vector(repeating: roundPlain)
    let t = reduce(x, n)
    return (fma(t, polynomial(t), Vector(repeating: 1)), n)
  }

  @inline(always)
  static func exp2Integral(_ d: Vector) -> Vector {
    let clamped = vmax(Vector(repeating: -1023), d)
    let biased = clamped + Vector(repeating: roundBiased)
    return unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 52, to: Vector.self)
  }
}
