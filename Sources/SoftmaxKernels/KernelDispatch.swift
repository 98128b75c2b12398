// The scalar types of the public API and the one switch from an ISA level to its module.

import SoftmaxKernelsCore
import SoftmaxKernelsBaseline

#if canImport(SoftmaxKernelsX86_64_V3)
import SoftmaxKernelsX86_64_V3
#endif
#if canImport(SoftmaxKernelsX86_64_V4)
import SoftmaxKernelsX86_64_V4
#endif

/// A scalar type the kernels are compiled for: `Float` (the fast path) and `Double`.
///
/// Only `Float` and `Double` conform; the package's kernels exist for these two types, and a
/// conformance added outside the package traps on its first call.
public protocol KernelScalar: BinaryFloatingPoint, Sendable, BitwiseCopyable {}

extension Float: KernelScalar {}
extension Double: KernelScalar {}

/// The module compiled for `level`: the only place that names the level modules.
package func kernelModule(_ level: ISALevel) -> any KernelModule.Type {
  switch level {
  #if canImport(SoftmaxKernelsX86_64_V4)
  case .x86_64_v4: return SoftmaxKernelsX86_64_V4.LevelKernels.self
  #endif
  #if canImport(SoftmaxKernelsX86_64_V3)
  case .x86_64_v3: return SoftmaxKernelsX86_64_V3.LevelKernels.self
  #endif
  default: return SoftmaxKernelsBaseline.LevelKernels.self
  }
}

/// The kernel sets of every level (indexed by `ISALevel.rawValue`), built once per process:
/// a call then costs one array read instead of an existential dispatch into the level module.
private let floatKernelSets = ISALevel.allCases.map { kernelModule($0).kernels(Float.self) }
private let doubleKernelSets = ISALevel.allCases.map { kernelModule($0).kernels(Double.self) }

extension KernelScalar {
  /// The kernels of `level` for this type.
  package static func kernels(_ level: ISALevel) -> KernelSet<Self> {
    if Self.self == Float.self {
      return unsafeBitCast(floatKernelSets[level.rawValue], to: KernelSet<Self>.self)
    }
    if Self.self == Double.self {
      return unsafeBitCast(doubleKernelSets[level.rawValue], to: KernelSet<Self>.self)
    }
    return kernelModule(level).kernels(Self.self)  // traps: only Float and Double conform
  }
}

extension KernelScalar {
  /// The vector functions inside the kernels of `level`, alone (for the tests).
  package static func vectorFunctionHooks(_ level: ISALevel) -> VectorFunctionHooks<Self> {
    kernelModule(level).hooks(Self.self)
  }
}
