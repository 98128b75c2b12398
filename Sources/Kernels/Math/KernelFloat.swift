// Vector exponentials and the small helpers every kernel uses.
//
// The kernel source is compiled once per ISA module (baseline, x86-64-v3, x86-64-v4): each
// level target's folder holds a symbolic link to Sources/Kernels. `SOFTMAXKERNELS_FMA` is
// defined for the levels that have fused multiply-add; without it `fma` is a multiply and an
// add (at the x86-64 baseline a vector `addingProduct` becomes one `fmaf` library call per lane).

import SoftmaxKernelsCore

/// A scalar type the kernels are written for (`Float`, `Double`), with its SIMD vector type and
/// its vector exponentials. (`Codable` only silences the compiler's warning about the same-type
/// constraint `Vector.Scalar == Self`, which the SIMD scalar's `Codable` conformance implies;
/// Float and Double are Codable.)
protocol KernelFloat: KernelStorage, BinaryFloatingPoint, SIMDScalar, Codable
where Vector.Scalar == Self, Arithmetic == Self {
  /// The vector type the kernels use: 64 bytes (one zmm register at x86-64-v4, two ymm at
  /// x86-64-v3, four xmm at the baseline).
  /// `BitwiseCopyable` selects the `loadUnaligned` / `storeBytes` overloads that are one
  /// `Builtin` load or store; the generic overloads (a temporary and a memcpy) were seen left as
  /// a call inside the online pass's hot loop when the inliner's budget ran out.
  associatedtype Vector: SIMD & BitwiseCopyable
  /// `e^x` for `x <= 0` (and `x = -inf`, giving 0; NaN propagates). Results below the smallest
  /// normal number are flushed to `+0`.
  static func expNonPositive(_ x: Vector) -> Vector
  /// `e^-d` for `d >= 0` (and `d = +inf`, giving 0; NaN propagates), bitwise equal to
  /// `expNonPositive(-d)`. See `expShifted`.
  static func expOfNegated(_ d: Vector) -> Vector
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
  /// `a * b + c`, fused where the level has FMA. A requirement written in each conformance on
  /// the concrete vector type: a generic implementation binds `addingProduct` to the
  /// lane-by-lane protocol extension, which LLVM vectorised erratically.
  static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector
  /// The sum of the lanes by halving (`lowHalf + highHalf` down to one lane): a few vector adds,
  /// where the generic `sum()` was seen to compile to 15 scalar extracts and adds per window.
  static func horizontalSum(_ v: Vector) -> Self
  /// Stores `v` to the 64-byte-aligned `p` with a non-temporal (streaming) store: the line is
  /// written around the caches, without being read first (CSoftmaxKernelsStore). Follow a
  /// pass of them with `streamFence()`.
  static func streamStore(_ v: Vector, _ p: UnsafeMutablePointer<Self>)
  /// `a + v` where `x < m`, else `a` (NaN in `x` adds nothing): accumulates the exponentials
  /// of the entries below a row's maximum `m`; one compare and one merge-masked add at
  /// x86-64-v4. A requirement for the same reason as `vmax`.
  static func addWhereBelow(_ a: Vector, _ v: Vector, _ x: Vector, _ m: Vector) -> Vector
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
