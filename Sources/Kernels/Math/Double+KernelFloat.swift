// `KernelFloat` for Double: SIMD8<Double> (one zmm, two ymm or four xmm registers).

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

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

  /// `z t` for `t = z a - n ln 2` and a sign `z = ±1` (a constant that folds into the
  /// coefficients), in two steps, `(x - n ln2Hi) - n ln2Lo` (Cody & Waite). The first step is
  /// exact (n ln2Hi is exact by the choice of ln2Hi, and x lies within ln2/2 of it); the second
  /// rounds once with FMA, twice without. Round to nearest is sign-symmetric, so `z = -1` gives
  /// bitwise the negation of `z = 1` on `-a`.
  @inline(always)
  static func reduce(_ a: Vector, _ n: Vector, sign z: Double = 1) -> Vector {
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

  /// `z p(z t)` for a sign `z = ±1` (folded into the coefficients), with
  /// `p(t) = (e^t - 1) / t = sum_{k=0}^{12} t^k / (k + 1)!` (Taylor; on |t| <= ln2/2 the first
  /// omitted term t^13 / 14! is below 5e-18, well under the 2^-53 rounding unit). The
  /// coefficient of t^k is z^(k+1) / (k + 1)!; each Horner step of `z = -1` is the exact
  /// negation of that of `z = 1` on `-t` (or equal to it), so the two agree bitwise.
  @inline(always)
  static func polynomial(_ t: Vector, sign z: Double = 1) -> Vector {
    var p = Vector(repeating: z / 6227020800.0)  // 1/13!
    p = fma(p, t, Vector(repeating: 1.0 / 479001600.0))  // 1/12!
    p = fma(p, t, Vector(repeating: z / 39916800.0))  // 1/11!
    p = fma(p, t, Vector(repeating: 1.0 / 3628800.0))  // 1/10!
    p = fma(p, t, Vector(repeating: z / 362880.0))  // 1/9!
    p = fma(p, t, Vector(repeating: 1.0 / 40320.0))  // 1/8!
    p = fma(p, t, Vector(repeating: z / 5040.0))  // 1/7!
    p = fma(p, t, Vector(repeating: 1.0 / 720.0))  // 1/6!
    p = fma(p, t, Vector(repeating: z / 120.0))  // 1/5!
    p = fma(p, t, Vector(repeating: 1.0 / 24.0))  // 1/4!
    p = fma(p, t, Vector(repeating: z / 6.0))  // 1/3!
    p = fma(p, t, Vector(repeating: 0.5))  // 1/2!
    return fma(p, t, Vector(repeating: z))  // 1/1!
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
  static func streamStore(_ v: Vector, _ p: UnsafeMutablePointer<Double>) {
    softmaxkernels_stream_f64x8(p, v)  // the C vector type imports as SIMD8<Double>
  }

  @inline(always)
  static func horizontalSum(_ v: Vector) -> Self {
    // Lane sum by halving.
    let h4 = v.lowHalf + v.highHalf
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
  static func exp(_ a: Vector, sign z: Double) -> Vector {
    let biased = fma(a, Vector(repeating: z * log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 52, to: Vector.self)
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
    let clamped = vmax(Vector(repeating: -1023), d)
    let biased = clamped + Vector(repeating: roundBiased)
    return unsafeBitCast(unsafeBitCast(biased, to: Bits.self) &<< 52, to: Vector.self)
  }
}
