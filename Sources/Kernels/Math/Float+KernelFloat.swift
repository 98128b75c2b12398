// `KernelFloat` for Float: SIMD16<Float> (one zmm, two ymm or four xmm registers).

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

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

  /// `z t` for `t = z a - n ln 2` and a sign `z = ±1` (a constant that folds into the
  /// coefficients), in two steps, `(x - n ln2Hi) - n ln2Lo` (Cody & Waite). The first step is
  /// exact (n ln2Hi is exact by the choice of ln2Hi, and x lies within ln2/2 of it); the second
  /// rounds once with FMA, twice without. Round to nearest is sign-symmetric, so `z = -1` gives
  /// bitwise the negation of `z = 1` on `-a`.
  @inline(always)
  static func reduce(_ a: Vector, _ n: Vector, sign z: Float = 1) -> Vector {
    fma(n, Vector(repeating: -z * ln2Lo), fma(n, Vector(repeating: -z * ln2Hi), a))
  }

  /// `reduce` (z = 1) by multiplications and subtractions only, for the two-pass exponential:
  /// with the FMA form LLVM's SLP vectoriser, which rebuilds the vector FMA from the lanes of
  /// `addingProduct`, split the two-pass loops at x86-64-v4 into zmm, ymm, xmm and scalar
  /// pieces (3.2 times the instructions of `extendedSumPass`, seen with `hot-loops.py`).
  @inline(always)
  static func reduceUnfused(_ x: Vector, _ n: Vector) -> Vector {
    (x - n * Vector(repeating: ln2Hi)) - n * Vector(repeating: ln2Lo)
  }

  /// `z p(z t)` for a sign `z = ±1` (folded into the coefficients), with `p(t) = (e^t - 1) / t`
  /// evaluated as c1 + t (c2 + t (c3 + t (c4 + t c5))): the coefficient of t^k is
  /// c_(k+1) z^(k+1). Each Horner step of `z = -1` is the exact negation of that of `z = 1` on
  /// `-t` (or equal to it), so the two agree bitwise.
  @inline(always)
  static func polynomial(_ t: Vector, sign z: Float = 1) -> Vector {
    var p = fma(Vector(repeating: z * c5), t, Vector(repeating: c4))
    p = fma(p, t, Vector(repeating: z * c3))
    p = fma(p, t, Vector(repeating: c2))
    return fma(p, t, Vector(repeating: z * c1))
  }

  @inline(always)
  static func vmax(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .> a) }

  @inline(always)
  static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector {
    // Without FMA a multiply and an add: at the x86-64 baseline a vector `addingProduct`
    // becomes one `fma` library call per lane.
    #if SOFTMAXKERNELS_FMA || arch(arm64)
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
  }

  @inline(always)
  static func vmin(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .< a) }

  @inline(always)
  static func addWhereBelow(_ a: Vector, _ v: Vector, _ x: Vector, _ m: Vector) -> Vector {
    a.replacing(with: a + v, where: x .< m)
  }

  @inline(always)
  static func streamStore(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
    softmaxkernels_stream_f32x16(p, v)  // the C vector type imports as SIMD16<Float>
  }

  @inline(always)
  static func horizontalSum(_ v: Vector) -> Self {
    // Lane sum by halving.
    let h8 = v.lowHalf + v.highHalf
    let h4 = h8.lowHalf + h8.highHalf
    let h2 = h4.lowHalf + h4.highHalf
    return h2[0] + h2[1]
  }

  @inline(always)
  static func expNonPositive(_ x: Vector) -> Vector { exp(x, sign: 1) }

  @inline(always)
  static func expOfNegated(_ d: Vector) -> Vector { exp(d, sign: -1) }

  /// `e^(z a)` for `z a <= 0` and a sign `z = ±1` that folds into the constants: both
  /// `expNonPositive` (z = 1) and `expOfNegated` (z = -1), bitwise equal on mirrored arguments.
  @inline(always)
  static func exp(_ a: Vector, sign z: Float) -> Vector {
    let biased = fma(a, Vector(repeating: z * log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 23, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let r = reduce(a, n, sign: z)  // z t
    // e^(z a) = s (1 + t p(t)) = s + (z t s) (z p(t)): the signs cancel.
    let y = fma(r * s, polynomial(r, sign: z), s)
    let underflow = z > 0 ? a .< Vector(repeating: flushBelow) : a .> Vector(repeating: -flushBelow)
    return y.replacing(with: 0, where: underflow)
  }

  @inline(always)
  static func extendedExp(_ x: Vector) -> (mantissa: Vector, exponent: Vector) {
    let n = fma(x, Vector(repeating: log2e), Vector(repeating: roundPlain))
      - Vector(repeating: roundPlain)
    let t = reduceUnfused(x, n)
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
