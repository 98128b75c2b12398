// What the 16-bit tests need to know about Float16 and BFloat16: conversions, the spacing of
// each format at a value (its ulp), and the calls of the softmax family in both output types.

import SoftmaxKernels
import XCTest

/// A 16-bit storage type of the package, with what the tests need of it.
protocol HalfType: HalfPrecisionStorage, Equatable {
  init(_ value: Float)
  var float: Float { get }
  var bits: UInt16 { get }
  init(bits: UInt16)
  /// Significant bits (the implicit one included) and the exponent of the smallest normal.
  static var precision: Int { get }
  static var minimumExponent: Int { get }
  static var name: String { get }
}

extension BFloat16: HalfType {
  var float: Float { Float(self) }
  var bits: UInt16 { bitPattern }
  init(bits: UInt16) { self.init(bitPattern: bits) }
  static var precision: Int { 8 }
  static var minimumExponent: Int { -126 }
  static var name: String { "BFloat16" }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: HalfType {
  var float: Float { Float(self) }
  var bits: UInt16 { bitPattern }
  init(bits: UInt16) { self.init(bitPattern: bits) }
  static var precision: Int { 11 }
  static var minimumExponent: Int { -14 }
  static var name: String { "Float16" }
}
#endif

/// Every 16-bit type this platform has.
let halfTypes: [any HalfType.Type] = {
  var types: [any HalfType.Type] = [BFloat16.self]
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  types.append(Float16.self)
  #endif
  return types
}()

extension HalfType {
  /// The spacing of the format at `v` (the subnormal spacing below the smallest normal).
  static func ulp(at v: Double) -> Double {
    let e = v == 0 || !v.isFinite ? minimumExponent : max(Int(Swift.abs(v).exponent), minimumExponent)
    return Double(sign: .plus, exponent: e - (precision - 1), significand: 1)
  }

  /// `|y - ref|` in units of the format's spacing at `ref`; 0 for equal kinds of non-finite
  /// values, infinite for a mismatch.
  static func ulpError(_ y: Self, _ ref: Double) -> Double {
    let v = Double(y.float)
    if v.isNaN || ref.isNaN { return v.isNaN && ref.isNaN ? 0 : .infinity }
    if v.isInfinite || ref.isInfinite { return v == ref ? 0 : .infinity }
    return Swift.abs(v - ref) / ulp(at: ref)
  }
}

/// Which function of the softmax family a 16-bit test calls.
enum HalfOperation: CaseIterable {
  case softmax, logSoftmax, logSumExp
}

/// `operation` of the rows of `x` (`columns` each) through the strided API, once with outputs
/// in `H` and once in `Float`.
func halfForward<H: HalfType>(
  _ operation: HalfOperation, _ x: [H], columns: Int, options: SoftmaxOptions
) throws -> (half: [H], float: [Float]) {
  let rows = columns == 0 ? 0 : x.count / columns
  let count = operation == .logSumExp ? rows : x.count
  var half = [H](repeating: H(Float.nan), count: count)
  var float = [Float](repeating: .nan, count: count)
  try x.withUnsafeBufferPointer { xp in
    let input = Rows(xp, rows: rows, columns: columns)
    try half.withUnsafeMutableBufferPointer { hp in
      switch operation {
      case .softmax: try Softmax.forward(input, into: MutableRows(hp, rows: rows, columns: columns), options: options)
      case .logSoftmax: try LogSoftmax.forward(input, into: MutableRows(hp, rows: rows, columns: columns), options: options)
      case .logSumExp: try LogSumExp.forward(input, into: hp, options: options)
      }
    }
    try float.withUnsafeMutableBufferPointer { fp in
      switch operation {
      case .softmax: try Softmax.forward(input, into: MutableRows(fp, rows: rows, columns: columns), options: options)
      case .logSoftmax: try LogSoftmax.forward(input, into: MutableRows(fp, rows: rows, columns: columns), options: options)
      case .logSumExp: try LogSumExp.forward(input, into: fp, options: options)
      }
    }
  }
  return (half, float)
}

/// The float64 reference of `operation` on one row.
func halfReference(_ operation: HalfOperation, _ row: [Double], options: SoftmaxOptions = SoftmaxOptions()) -> [Double] {
  switch operation {
  case .softmax:
    Reference.softmax(row, fullyMaskedRowIsZero: options.fullyMaskedRowIsZero, positiveInfinityIsLimit: options.positiveInfinityIsLimit)
  case .logSoftmax:
    Reference.logSoftmax(row, fullyMaskedRowIsZero: options.fullyMaskedRowIsZero, positiveInfinityIsLimit: options.positiveInfinityIsLimit)
  case .logSumExp:
    [Reference.logSumExp(row)]
  }
}

/// A row of `n` values that are multiples of `1 / quantum` in `[-range, range]`, rounded to
/// `H`: every difference of two of them is exact in Float, so the kernels' shifts `x - max`
/// do not round and the reference sees exactly what the kernels see.
func halfRow<H: HalfType>(_: H.Type, _ n: Int, range: Float = 16, quantum: Float = 128, _ rng: inout SeededRandom) -> [H] {
  (0..<n).map { _ in H((Float.random(in: -range...range, using: &rng) * quantum).rounded() / quantum) }
}
