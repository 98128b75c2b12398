// The bfloat16 storage type (re-exported by `SoftmaxKernels`).

/// A 16-bit "brain floating point" value: the upper half of a `Float` (1 sign bit, 8 exponent
/// bits, 7 fraction bits), the storage format of activations and logits on many CPUs and
/// accelerators. A storage type: the kernels read it exactly as `Float`, compute in `Float`,
/// and round each result once to the nearest `BFloat16` (ties to even).
///
/// It has the range of `Float` (largest finite value `0x1.FEp127` ≈ 3.39e38, smallest normal
/// `2^-126`, subnormals down to `2^-133`) and 8 significant bits (unit roundoff `2^-8`).
///
/// Conversions:
/// - `Float(b)` is exact (the 16 bits followed by 16 zero bits).
/// - `BFloat16(x)` rounds `x` to nearest, ties to even. Values at or beyond
///   `0x1.FFp127` (half-way above the largest finite value) become ±infinity; ±0 and ±infinity
///   keep their sign; a NaN stays a NaN (its payload's upper bits kept, quiet bit set), so a
///   NaN never becomes infinity.
///
/// `==` compares the values as `Float` does (`+0 == -0`; a NaN equals nothing, itself
/// included); hashing is consistent with it.
public struct BFloat16: Sendable, BitwiseCopyable, Hashable, CustomStringConvertible {
  /// The 16 bits of the value.
  public var bitPattern: UInt16

  /// The value with these 16 bits.
  public init(bitPattern: UInt16) {
    self.bitPattern = bitPattern
  }

  /// `value` rounded to the nearest `BFloat16`, ties to even (see the type's documentation).
  @inlinable
  public init(_ value: Float) {
    let b = value.bitPattern
    if value.isNaN {
      // Keep the sign and the payload's upper bits; set the quiet bit (bit 6 of the 16).
      bitPattern = UInt16(truncatingIfNeeded: (b | 0x0040_0000) >> 16)
    } else {
      // Round to nearest even: add 0x7FFF plus the lowest kept bit, then truncate. A carry out
      // of the fraction steps the exponent, which is the correct rounding (to infinity at the top).
      bitPattern = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }
  }

  /// `Float(self)`, exact.
  @inlinable
  public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

  /// Whether the values are equal as `Float` values are (`+0 == -0`; a NaN equals nothing).
  public static func == (a: BFloat16, b: BFloat16) -> Bool { a.floatValue == b.floatValue }

  /// Hashes the value as `Float` does (so `+0` and `-0` hash alike).
  public func hash(into hasher: inout Hasher) { hasher.combine(floatValue) }

  /// The value as `Float` prints it (the shortest decimal that reads back as that `Float`).
  public var description: String { floatValue.description }
}

extension Float {
  /// The value of `value`, exactly.
  @inlinable
  public init(_ value: BFloat16) {
    self = value.floatValue
  }
}
