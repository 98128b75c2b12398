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
