// The types rows are stored in, and how a vector of each is read into and written from the
// vector of its arithmetic type.
//
// `Float` and `Double` are their own arithmetic. `Float16` and `BFloat16` are storage only:
// a vector of 16 of them (32 bytes) is widened exactly to one `SIMD16<Float>` when read, and
// each `Float` result is rounded once, to nearest even, when written. So every kernel written
// for a `KernelFloat` row also reads and writes 16-bit rows, its arithmetic unchanged.
//
// Code generation (objdump of the level modules, 2026-11-30): Float16 widens with one
// `vcvtph2ps` (a memory operand) and narrows with one `vcvtps2ph` at x86-64-v3/v4 (F16C); at the
// x86-64 baseline, which has no F16C, each lane is a call to the compiler's runtime
// (`__extendhfsf2` / `__truncsfhf2`). BFloat16 widens with `vpmovzxwd` + `vpslld` and narrows
// with 6 integer and compare instructions (round to nearest even, NaN kept quiet) and
// `vpmovdw` at x86-64-v4. The conversions are written as lane loops of scalar conversions
// and a compare of floats: LLVM turns those into the instructions above, where the stdlib's
// `SIMD16<UInt32>(truncatingIfNeeded:)` stayed a call and an integer lane compare became a
// scalar loop (seen in the disassembly).

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

/// A type the kernels read rows from and write results to.
protocol KernelStorage: BitwiseCopyable {
  /// The type the kernels compute in: `Self` for `Float` and `Double`, `Float` for the 16-bit
  /// types.
  associatedtype Arithmetic: KernelFloat
  /// The `Arithmetic.Vector.scalarCount` values at `p` (unaligned), exactly.
  static func loadWidened(_ p: UnsafePointer<Self>) -> Arithmetic.Vector
  /// The `2 x Arithmetic.Vector.scalarCount` values at `p` (unaligned), exactly, as two
  /// vectors in an order of the type's choosing, for a use that does not depend on the order
  /// (the maximum), where it is cheaper than two `loadWidened` (`BFloat16` at x86-64-v4: the
  /// even elements, then the odd ones). Not for sums: their lanes would then hold other terms
  /// than a `Float` row's, and 16-bit cross-entropy losses are bitwise those of the logits
  /// widened to `Float`.
  static func loadWidenedPair(_ p: UnsafePointer<Self>) -> (Arithmetic.Vector, Arithmetic.Vector)
  /// Stores `v` at `p` (unaligned), each lane rounded to nearest even.
  static func storeNarrowed(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>)
  /// `storeNarrowed` with a streaming (non-temporal) store to a `p` aligned to the vector's
  /// size in this type (64 bytes, 32 for the 16-bit types).
  static func streamStoreNarrowed(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>)
  /// `storeNarrowed` of a `v` without NaN lanes (a NaN lane may be stored as anything): the
  /// same bits for every other value, and one compare and one blend fewer per vector where the
  /// rounding is done in software (`BFloat16`).
  static func storeNarrowedNonNaN(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>)
  /// `streamStoreNarrowed` of a `v` without NaN lanes, as `storeNarrowedNonNaN`.
  static func streamStoreNarrowedNonNaN(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>)
  /// The value of `s`, exactly.
  static func widened(_ s: Self) -> Arithmetic
  /// `a` rounded to nearest even.
  static func narrowed(_ a: Arithmetic) -> Self
  /// Whether `Self` is `Arithmetic`: values stored are then read back unrounded (the
  /// three-pass reload algorithm stores its exponentials in the output and scales them there).
  static var isArithmetic: Bool { get }
}

extension KernelStorage {
  @inline(always)
  static func loadWidenedPair(_ p: UnsafePointer<Self>) -> (Arithmetic.Vector, Arithmetic.Vector) {
    (loadWidened(p), loadWidened(p + Arithmetic.Vector.scalarCount))
  }

  @inline(always)
  static func storeNarrowedNonNaN(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>) { storeNarrowed(v, p) }

  @inline(always)
  static func streamStoreNarrowedNonNaN(_ v: Arithmetic.Vector, _ p: UnsafeMutablePointer<Self>) {
    streamStoreNarrowed(v, p)
  }
}

extension KernelFloat {
  @inline(always)
  static func loadWidened(_ p: UnsafePointer<Self>) -> Vector {
    UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
  }

  @inline(always)
  static func storeNarrowed(_ v: Vector, _ p: UnsafeMutablePointer<Self>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
  }

  @inline(always)
  static func streamStoreNarrowed(_ v: Vector, _ p: UnsafeMutablePointer<Self>) { streamStore(v, p) }

  @inline(always)
  static func widened(_ s: Self) -> Self { s }

  @inline(always)
  static func narrowed(_ a: Self) -> Self { a }

  static var isArithmetic: Bool { true }
}

// MARK: - Loads and stores

/// An unaligned load of a full vector.
@inline(always)
func load<S: KernelStorage>(_ p: UnsafePointer<S>) -> S.Arithmetic.Vector {
  S.loadWidened(p)
}

/// An unaligned store of a full vector.
@inline(always)
func store<S: KernelStorage>(_ v: S.Arithmetic.Vector, _ p: UnsafeMutablePointer<S>) {
  S.storeNarrowed(v, p)
}

/// Loads `valid < lanes` elements, the other lanes set to `pad` (a row's last partial vector).
@inline(never)
func loadPartial<S: KernelStorage>(
  _ p: UnsafePointer<S>, _ valid: Int, pad: S.Arithmetic
) -> S.Arithmetic.Vector {
  var v = S.Arithmetic.Vector(repeating: pad)
  for k in 0..<valid { v[k] = S.widened(p[k]) }
  return v
}

/// Stores the first `valid` lanes of `v`.
@inline(never)
func storePartial<S: KernelStorage>(_ v: S.Arithmetic.Vector, _ p: UnsafeMutablePointer<S>, _ valid: Int) {
  for k in 0..<valid { p[k] = S.narrowed(v[k]) }
}

// MARK: - BFloat16

extension BFloat16: KernelStorage {
  typealias Arithmetic = Float

  @inline(always)
  static func loadWidened(_ p: UnsafePointer<BFloat16>) -> SIMD16<Float> {
    let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
    var w = SIMD16<UInt32>()
    for k in 0..<16 { w[k] = UInt32(h[k]) }
    return unsafeBitCast(w &<< 16, to: SIMD16<Float>.self)
  }

  #if SOFTMAXKERNELS_LEVEL_V4
  /// The even elements (the low halves of 16 32-bit words: shifted up) and the odd ones (the
  /// high halves: masked) of one 64-byte load: 2 instructions per 32 values, where two
  /// `loadWidened` take 4 (a zero extension and a shift each).
  @inline(always)
  static func loadWidenedPair(_ p: UnsafePointer<BFloat16>) -> (SIMD16<Float>, SIMD16<Float>) {
    let w = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt32>.self)
    return (
      unsafeBitCast(w &<< 16, to: SIMD16<Float>.self), unsafeBitCast(w & 0xFFFF_0000, to: SIMD16<Float>.self)
    )
  }
  #endif

  /// `v` rounded to nearest even to BFloat16 (`BFloat16.init(_:)` lane by lane), each lane's
  /// 16-bit pattern in the high half of its 32 bits (NaN quietened, so it stays NaN).
  @inline(always)
  static func roundedBits(_ v: SIMD16<Float>) -> SIMD16<UInt32> {
    let b = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    let rounded = unsafeBitCast(b &+ (0x7FFF &+ ((b &>> 16) & 1)), to: SIMD16<Float>.self)
    let quiet = unsafeBitCast(b | 0x0040_0000, to: SIMD16<Float>.self)
    return unsafeBitCast(rounded.replacing(with: quiet, where: v .!= v), to: SIMD16<UInt32>.self)
  }

  /// `roundedBits` of a `v` without NaN lanes: the rounding alone (a NaN lane comes out as
  /// anything, possibly infinity or a zero).
  @inline(always)
  static func roundedBitsNonNaN(_ v: SIMD16<Float>) -> SIMD16<UInt32> {
    let b = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    return b &+ (0x7FFF &+ ((b &>> 16) & 1))
  }

  /// The 16-bit patterns in the high halves of `r`.
  @inline(always)
  static func highHalves(_ r: SIMD16<UInt32>) -> SIMD16<UInt16> {
    let r = r &>> 16
    var h = SIMD16<UInt16>()
    for k in 0..<16 { h[k] = UInt16(truncatingIfNeeded: r[k]) }
    return h
  }

  /// The 16-bit patterns of `v` rounded to nearest even.
  @inline(always)
  static func narrowedBits(_ v: SIMD16<Float>) -> SIMD16<UInt16> { highHalves(roundedBits(v)) }

  @inline(always)
  static func storeNarrowed(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
    UnsafeMutableRawPointer(p).storeBytes(of: narrowedBits(v), as: SIMD16<UInt16>.self)
  }

  @inline(always)
  static func storeNarrowedNonNaN(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
    UnsafeMutableRawPointer(p).storeBytes(of: highHalves(roundedBitsNonNaN(v)), as: SIMD16<UInt16>.self)
  }

  /// At x86-64-v4 the high halves are picked as the odd 16-bit words (`vpermw`), not by a shift
  /// and a truncation as in `narrowedBits`: LLVM folded that truncation into the store, a
  /// `vpmovdw` to memory, which dropped the non-temporal hint (seen with hot-loops.py: every
  /// "streamed" BFloat16 output was written with ordinary stores and read for ownership). The
  /// other levels keep `narrowedBits` (a pack in registers, then `vmovntps`): there the word
  /// shuffle compiled lane by lane, 60 instructions per 16 values at x86-64-v3.
  @inline(always)
  static func streamStoreNarrowed(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
    streamStoreHighHalves(roundedBits(v), p)
  }

  @inline(always)
  static func streamStoreNarrowedNonNaN(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<BFloat16>) {
    streamStoreHighHalves(roundedBitsNonNaN(v), p)
  }

  @inline(always)
  static func streamStoreHighHalves(_ r: SIMD16<UInt32>, _ p: UnsafeMutablePointer<BFloat16>) {
    #if SOFTMAXKERNELS_LEVEL_V4
    let words = unsafeBitCast(r, to: SIMD32<UInt16>.self)
    var h = SIMD16<UInt16>()
    for k in 0..<16 { h[k] = words[2 * k + 1] }
    #else
    let h = highHalves(r)
    #endif
    softmaxkernels_stream_u16x16(UnsafeMutableRawPointer(p), h)
  }

  @inline(always)
  static func widened(_ s: BFloat16) -> Float { s.floatValue }

  @inline(always)
  static func narrowed(_ a: Float) -> BFloat16 { BFloat16(a) }

  static var isArithmetic: Bool { false }
}

// MARK: - Float16

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: KernelStorage {
  typealias Arithmetic = Float

  // Lane loops, not the stdlib's `SIMD16<Float>(_: SIMD16<Float16>)`: inside the passes that
  // generic initialiser stayed a call per vector (seen in maxPass at x86-64-v4).
  @inline(always)
  static func loadWidened(_ p: UnsafePointer<Float16>) -> SIMD16<Float> {
    let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float16>.self)
    var w = SIMD16<Float>()
    for k in 0..<16 { w[k] = Float(h[k]) }
    return w
  }

  @inline(always)
  static func narrowed(_ v: SIMD16<Float>) -> SIMD16<Float16> {
    var h = SIMD16<Float16>()
    for k in 0..<16 { h[k] = Float16(v[k]) }
    return h
  }

  @inline(always)
  static func storeNarrowed(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float16>) {
    UnsafeMutableRawPointer(p).storeBytes(of: narrowed(v), as: SIMD16<Float16>.self)
  }

  @inline(always)
  static func streamStoreNarrowed(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float16>) {
    softmaxkernels_stream_u16x16(UnsafeMutableRawPointer(p), unsafeBitCast(narrowed(v), to: SIMD16<UInt16>.self))
  }

  @inline(always)
  static func widened(_ s: Float16) -> Float { Float(s) }

  @inline(always)
  static func narrowed(_ a: Float) -> Float16 { Float16(a) }

  static var isArithmetic: Bool { false }
}
#endif
