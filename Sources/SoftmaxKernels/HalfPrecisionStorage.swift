// The 16-bit storage types of the public API and their kernels.

@_exported import struct SoftmaxKernelsCore.BFloat16
import SoftmaxKernelsCore

/// A 16-bit type the kernels read and write with `Float` arithmetic inside: `Float16` and
/// ``BFloat16``.
///
/// A row stored in a 16-bit type is read exactly as `Float` (one conversion instruction per 16
/// values at x86-64-v3/v4), computed as a `Float` row is, with the same algorithms and the same
/// sums (in `Float` within a window, in `Double` across windows), and each result is rounded
/// once, to nearest even, to the output's type: the same 16-bit type, or `Float`. Against a
/// float64 reference of the 16-bit input, a 16-bit output is therefore the correctly rounded
/// result or its neighbour (the `Float` result's error, at most a few `Float` ulps, can move a
/// value that lies within it of a rounding boundary): at most 1 ulp of the 16-bit type. A
/// `Float` output has the accuracy of the `Float` kernels on the widened input.
///
/// Results outside the 16-bit type's range follow its rounding: a `Float16` log-softmax of
/// -65520 or below (the second entry of `[65504, -65504]`) or log-sum-exp of 65520 or above
/// becomes infinite;
/// probabilities below half the smallest subnormal (`2^-24` for `Float16`, `2^-133` for
/// `BFloat16`) become 0, and, as in `Float`, so do those below the smallest normal `Float`
/// (`2^-126`). The `Float` outputs keep them. Measured: 16-bit outputs at most 0.5004 ulp from
/// a float64 reference (see <doc:SixteenBitStorage>).
///
/// `Float16` is not available on x86-64 macOS (the standard library does not have it there);
/// its entry points are compiled out on that platform. At the x86-64 baseline level (no F16C)
/// every `Float16` conversion is a call to the compiler's runtime, one per value: use
/// x86-64-v3 or later for speed. `BFloat16` converts with integer vector instructions at
/// every level.
///
/// Only `Float16` and ``BFloat16`` conform; a conformance added outside the package traps on
/// its first call.
public protocol HalfPrecisionStorage: BitwiseCopyable, Sendable {}

extension BFloat16: HalfPrecisionStorage {}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: HalfPrecisionStorage {}
#endif

/// The kernel sets of every level for the 16-bit types, built once per process.
private let bfloat16KernelSets = ISALevel.allCases.map { kernelModule($0).halfKernels(BFloat16.self) }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
private let float16KernelSets = ISALevel.allCases.map { kernelModule($0).halfKernels(Float16.self) }
#endif

extension HalfPrecisionStorage {
  /// The kernels of `level` for this type.
  package static func halfKernels(_ level: ISALevel) -> HalfKernelSet<Self> {
    if Self.self == BFloat16.self {
      return unsafeBitCast(bfloat16KernelSets[level.rawValue], to: HalfKernelSet<Self>.self)
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    if Self.self == Float16.self {
      return unsafeBitCast(float16KernelSets[level.rawValue], to: HalfKernelSet<Self>.self)
    }
    #endif
    return kernelModule(level).halfKernels(Self.self)  // traps: only Float16 and BFloat16 conform
  }
}
