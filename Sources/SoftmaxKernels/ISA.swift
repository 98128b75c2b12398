// Run-time choice of the instruction-set level.

import CSoftmaxKernelsCPU
import Foundation

extension ISALevel {
  /// The best level this CPU (and this build) supports, detected once per process.
  public static let supported: ISALevel = {
    var best = ISALevel(rawValue: Int(softmaxkernels_cpu_isa_level())) ?? .baseline
    #if !canImport(SoftmaxKernelsX86_64_V4)
    best = min(best, .x86_64_v3)
    #endif
    #if !canImport(SoftmaxKernelsX86_64_V3)
    best = .baseline
    #endif
    return best
  }()

  /// The level a call uses when `ExecutionOptions.isa` is `nil`: `supported`, lowered to the
  /// value of the environment variable `SOFTMAXKERNELS_ISA` (`baseline`, `x86-64-v3`,
  /// `x86-64-v4`) when it is set. A value above `supported` is clamped to it; an unknown value
  /// is ignored. Either prints one warning to standard error. Read once per process.
  public static let active: ISALevel = {
    guard let value = ProcessInfo.processInfo.environment["SOFTMAXKERNELS_ISA"], !value.isEmpty
    else { return supported }
    guard let requested = ISALevel(name: value) else {
      warn("SOFTMAXKERNELS_ISA=\(value) is not one of baseline, x86-64-v3, x86-64-v4; using \(supported)")
      return supported
    }
    if requested > supported {
      warn("SOFTMAXKERNELS_ISA=\(value) is above what this CPU supports; using \(supported)")
      return supported
    }
    return requested
  }()

  /// Every level this CPU supports, lowest first.
  public static var allSupported: [ISALevel] { allCases.filter { $0 <= supported } }
}

extension CPUVendor {
  /// The maker of this process's CPU (CPUID), detected once per process; `other` off x86.
  public static let detected: CPUVendor = softmaxkernels_cpu_is_amd() != 0 ? .amd : .other
}

private func warn(_ message: String) {
  FileHandle.standardError.write(Data("SoftmaxKernels: warning: \(message)\n".utf8))
}

/// Facts about the machine the package reports (used by the benchmark).
public enum MachineInfo {
  /// The CPU's brand string, or "unknown".
  public static var cpuModel: String {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = softmaxkernels_cpu_brand(&buffer, Int32(buffer.count))
    return n > 0 ? String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
  }
  /// Cores the process may use.
  public static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}
