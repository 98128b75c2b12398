// Shared helpers of the sigmoid-family tests: error metrics against float64 / Float80
// references, the reference functions, and a deterministic generator.

import Foundation
import SoftmaxKernels
import XCTest

/// The error of a Float result against a Double reference: relative, in units of 2^-24, when
/// the reference is a normal float; absolute, in units of the smallest subnormal (2^-149), below
/// that. Infinite for a wrong NaN / infinity.
func sigFloatError(_ y: Float, _ ref: Double) -> Double {
  if ref.isNaN { return y.isNaN ? 0 : .infinity }
  if y.isNaN { return .infinity }
  if ref.isInfinite || y.isInfinite { return Double(y) == ref ? 0 : .infinity }
  if abs(ref) < Double(Float.leastNormalMagnitude) {
    return abs(Double(y) - ref) / Double(Float.leastNonzeroMagnitude)
  }
  return abs(Double(y) - ref) / abs(ref) / 0x1p-24
}

/// The error of a Double result against a Float80 reference (units 2^-53 / 2^-1074).
func sigDoubleError(_ y: Double, _ ref: Float80) -> Double {
  if ref.isNaN { return y.isNaN ? 0 : .infinity }
  if y.isNaN { return .infinity }
  if ref.isInfinite || y.isInfinite { return Float80(y) == ref ? 0 : .infinity }
  if abs(ref) < Float80(Double.leastNormalMagnitude) {
    return Double(abs(Float80(y) - ref) / Float80(Double.leastNonzeroMagnitude))
  }
  return Double(abs(Float80(y) - ref) / abs(ref)) / 0x1p-53
}

/// The worst error seen and where.
struct SigWorst: CustomStringConvertible {
  var relative = 0.0
  var relativeAt = 0.0
  var subnormal = 0.0
  var subnormalAt = 0.0

  mutating func add(_ error: Double, at x: Double, subnormal isSubnormal: Bool) {
    if isSubnormal {
      if error > subnormal || error.isNaN { (subnormal, subnormalAt) = (error, x) }
    } else if error > relative || error.isNaN {
      (relative, relativeAt) = (error, x)
    }
  }

  var description: String {
    String(format: "%.3f ulp (relative) at x = %.9g; subnormal results %.3f ulp (absolute) at x = %.9g",
           relative, relativeAt, subnormal, subnormalAt)
  }
}

/// A small deterministic generator (xorshift64*).
struct SigRandom {
  var state: UInt64

  init(seed: UInt64) { state = seed | 1 }

  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 0x2545_F491_4F6C_DD1D
  }

  /// Uniform in [lo, hi).
  mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
    lo + (hi - lo) * Double(next() >> 11) * 0x1p-53
  }
}

// MARK: - References (PyTorch's definitions, evaluated in a wider type)

func sigRefSigmoid<R: BinaryFloatingPoint & ElementaryFunctionsShim>(_ x: R) -> R {
  x >= 0 ? 1 / (1 + R.shimExp(-x)) : R.shimExp(x) / (1 + R.shimExp(x))
}

func sigRefLogSigmoid<R: BinaryFloatingPoint & ElementaryFunctionsShim>(_ x: R) -> R {
  x >= 0 ? -R.shimLog1p(R.shimExp(-x)) : x - R.shimLog1p(R.shimExp(x))
}

/// PyTorch: `x` where `beta x > threshold`, else `log1p(exp(beta x)) / beta`.
func sigRefSoftplus<R: BinaryFloatingPoint & ElementaryFunctionsShim>(
  _ x: R, beta: R = 1, threshold: R = 20
) -> R {
  if x.isNaN { return x }
  let u = beta * x
  if u > threshold { return x }
  return (u > 0 ? u + R.shimLog1p(R.shimExp(-u)) : R.shimLog1p(R.shimExp(u))) / beta
}

/// `softplus(x)` without threshold (BCE, SigLIP).
func sigRefSoftplusExact<R: BinaryFloatingPoint & ElementaryFunctionsShim>(_ u: R) -> R {
  if u.isNaN { return u }
  return u > 0 ? u + R.shimLog1p(R.shimExp(-u)) : R.shimLog1p(R.shimExp(u))
}

/// `exp`, `log1p` for the reference types.
protocol ElementaryFunctionsShim {
  static func shimExp(_ x: Self) -> Self
  static func shimLog1p(_ x: Self) -> Self
  static func shimLog(_ x: Self) -> Self
}

extension Double: ElementaryFunctionsShim {
  static func shimExp(_ x: Double) -> Double { Foundation.exp(x) }
  static func shimLog1p(_ x: Double) -> Double { Foundation.log1p(x) }
  static func shimLog(_ x: Double) -> Double { Foundation.log(x) }
}

#if arch(x86_64)
extension Float80: ElementaryFunctionsShim {
  static func shimExp(_ x: Float80) -> Float80 { Foundation.exp(x) }
  static func shimLog1p(_ x: Float80) -> Float80 { Foundation.log1p(x) }
  static func shimLog(_ x: Float80) -> Float80 { Foundation.log(x) }
}
#endif

/// Float inputs on a strided sweep of every finite bit pattern (both signs), in chunks.
func sigFloatSweep(stride: UInt32, chunk: Int = 1 << 20, _ body: ([Float]) -> Void) {
  var values: [Float] = []
  values.reserveCapacity(chunk)
  var bits: UInt32 = 0
  while bits < 0x7F80_0000 {
    let x = Float(bitPattern: bits)
    values.append(x)
    values.append(-x)
    if values.count >= chunk {
      body(values)
      values.removeAll(keepingCapacity: true)
    }
    let (next, overflow) = bits.addingReportingOverflow(stride)
    if overflow { break }
    bits = next
  }
  values += [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude]
  body(values)
}

/// Double inputs: a strided sweep of every finite bit pattern (both signs) plus uniform values
/// in [-50, 50].
func sigDoubleInputs(samples: Int, seed: UInt64) -> [Double] {
  var values: [Double] = []
  let stride = UInt64(0x7FF0_0000_0000_0000) / UInt64(samples)
  var bits: UInt64 = 0
  while bits < 0x7FF0_0000_0000_0000 {
    let x = Double(bitPattern: bits)
    values.append(x)
    values.append(-x)
    bits += stride
  }
  var random = SigRandom(seed: seed)
  for _ in 0..<samples { values.append(random.uniform(-50, 50)) }
  return values
}

extension XCTestCase {
  /// Asserts `body` throws the expected error.
  func sigAssertThrows(
    _ expected: SoftmaxKernelsError, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
  ) {
    do {
      try body()
      XCTFail("no error thrown, expected \(expected)", file: file, line: line)
    } catch {
      XCTAssertEqual(error as? SoftmaxKernelsError, expected, file: file, line: line)
    }
  }

  /// Asserts `body` throws `invalidArgument` naming `argument`.
  func sigAssertInvalid(
    _ argument: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
  ) {
    do {
      try body()
      XCTFail("no error thrown, expected invalid \(argument)", file: file, line: line)
    } catch {
      guard case .invalidArgument(let name, _)? = error as? SoftmaxKernelsError else {
        return XCTFail("\(error), expected invalid \(argument)", file: file, line: line)
      }
      XCTAssertEqual(name, argument, file: file, line: line)
    }
  }
}

/// `body` with the array's buffer, or `nil`.
func sigWithOptional<T, R>(_ a: [T]?, _ body: (UnsafeBufferPointer<T>?) throws -> R) rethrows -> R {
  guard let a else { return try body(nil) }
  return try a.withUnsafeBufferPointer { try body($0) }
}
