// swift-tools-version:6.2
// 6.2 is the first manifest version whose `unsafeFlags` are accepted in a package that is
// consumed by version (`from: "1.0.0"`).

import PackageDescription

// MARK: - ISA levels
//
// One kernel source, Sources/Kernels (laid out by operation, not a target of its own), is
// compiled into one module per instruction-set level: the folder of each level target holds one
// symbolic link `Kernels -> ../Kernels`. The public module `SoftmaxKernels` checks the CPU once and calls the best
// module the CPU supports. Flags are chosen on the host, so guard the x86 ones by architecture.

let fmaDefine: [SwiftSetting] = [.define("SOFTMAXKERNELS_FMA")]

// The kernels are always optimised, whole-module, also in debug builds (`swift test`): an
// unoptimised generic SIMD kernel is hundreds of times slower, and the tests exercise exactly
// the code users run.
let alwaysOptimized: SwiftSetting = .unsafeFlags(["-O", "-wmo", "-disable-batch-mode", "-num-threads", "2"])

var levelTargets: [Target] = [
  .target(
    name: "SoftmaxKernelsBaseline",
    dependencies: ["SoftmaxKernelsCore", "CSoftmaxKernelsStore"],
    path: "Sources/SoftmaxKernelsBaseline",
    swiftSettings: [.define("SOFTMAXKERNELS_LEVEL_BASELINE"), alwaysOptimized],
    linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
  )
]
var levelDependencies: [Target.Dependency] = ["SoftmaxKernelsBaseline"]

#if arch(x86_64)
levelTargets += [
  .target(
    name: "SoftmaxKernelsX86_64_V3",
    dependencies: ["SoftmaxKernelsCore", "CSoftmaxKernelsStore"],
    path: "Sources/SoftmaxKernelsX86_64_V3",
    swiftSettings: fmaDefine + [
      .define("SOFTMAXKERNELS_LEVEL_V3"),
      .unsafeFlags(["-Xcc", "-march=x86-64-v3"]), alwaysOptimized,
    ]
  ),
  .target(
    name: "SoftmaxKernelsX86_64_V4",
    dependencies: ["SoftmaxKernelsCore", "CSoftmaxKernelsStore"],
    path: "Sources/SoftmaxKernelsX86_64_V4",
    swiftSettings: fmaDefine + [
      .define("SOFTMAXKERNELS_LEVEL_V4"),
      .unsafeFlags(["-Xcc", "-march=x86-64-v4"]), alwaysOptimized,
    ]
  ),
]
levelDependencies += ["SoftmaxKernelsX86_64_V3", "SoftmaxKernelsX86_64_V4"]
#endif

let package = Package(
  name: "SoftmaxKernels",
  products: [
    .library(name: "SoftmaxKernels", targets: ["SoftmaxKernels"]),
    .executable(name: "softmax-bench", targets: ["SoftmaxBench"]),
  ],
  targets: [
    // MARK: - Public API
    .target(
      name: "SoftmaxKernels",
      dependencies: ["SoftmaxKernelsCore", "CSoftmaxKernelsCPU"] + levelDependencies
    ),

    // MARK: - Implementation details (not API)
    .target(name: "SoftmaxKernelsCore"),
    .target(name: "CSoftmaxKernelsCPU"),
    // Streaming (non-temporal) stores: header-only `static inline` C, inlined into the kernels.
    .target(name: "CSoftmaxKernelsStore"),
  ] + levelTargets + [

    // MARK: - Benchmark
    .executableTarget(
      name: "SoftmaxBench",
      dependencies: ["SoftmaxKernels", "CSoftmaxKernelsStore", "CSoftmaxBenchPeak"],
      path: "Benchmarks/SoftmaxBench",
      // A measurement tool that shares raw buffers across Dispatch threads on purpose.
      swiftSettings: [.swiftLanguageMode(.v5)]
    ),

    // The FMA peak loops the benchmark measures the machine with (not kernels): each variant
    // picks its instruction set with a function `target` attribute; -O2 also in debug builds,
    // so the loop is the same instructions in every configuration.
    .target(
      name: "CSoftmaxBenchPeak",
      path: "Benchmarks/CPeak",
      cSettings: [.unsafeFlags(["-O2"])]
    ),

    // MARK: - Tests
    .testTarget(
      name: "SoftmaxKernelsTests",
      dependencies: ["SoftmaxKernels", "SoftmaxKernelsCore"]
    ),
  ]
)
