// Shared helpers of the sigmoid-family tests: the reference functions (evaluated in Double or
// Float80) and the sweeps of inputs. (The ulp error measures are in TestSupport.swift.)

import Foundation
import SoftmaxKernels
import XCTest

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
  var random = SeededRandom(seed: seed, stream: .xorshift64Star)
  for _ in 0..<samples { values.append(random.uniform(-50, 50)) }
  return values
}
