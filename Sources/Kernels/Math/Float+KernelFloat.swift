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
  static func addBelowZero(_ a: Vector, _ v: Vector, _ d: Vector) -> Vector {
    a.replacing(with: a + v, where: d .< Vector())
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
