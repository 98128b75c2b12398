// Public option types shared by every ISA module and re-exported by `SoftmaxKernels`.

/// The algorithm a softmax-family kernel uses for a row.
///
/// All algorithms compute the same `p_i = exp(x_i - m) / S`, `m = max_j x_j`,
/// `S = sum_j exp(x_j - m)` up to rounding; they differ in how often the row is streamed from
/// memory and how many exponentials they evaluate (see <doc:Algorithms>).
public enum SoftmaxAlgorithm: String, CaseIterable, Sendable, CustomStringConvertible {
  /// Chosen per call from the CPU's vendor, the level, the operation, the row length and the
  /// output's size (outputs above three quarters of the last-level cache may run another
  /// algorithm, so the last bits of a row can depend on the batch it is in; never the thread
  /// count); see `SoftmaxAlgorithm.resolved(columns:logarithmic:level:streaming:vendor:narrowOutput:)` for the
  /// rule and the measurements behind it. Name an algorithm for results independent of the batch
  /// size and the machine.
  case automatic
  /// Three passes, `exp` computed twice: max; sum of `exp(x - m)`; write `exp(x - m) / S`.
  /// Reads the input three times, writes once (Dukhan & Ablavatski 2020, "recomputing").
  /// Softmax rows longer than one block (65 536 entries) are normalised block by block: each
  /// block's maximum and sum while it is in the cache, then `exp(x - m_c) e^(m_c - M) / S`, so
  /// the row is read from memory twice, not three times (<doc:Algorithms>).
  case threePassRecompute
  /// Three passes, `exp` computed once: max; write `exp(x - m)` and sum it; scale the output
  /// in place. Reads the input twice and the output once, writes twice (XNNPACK's operator,
  /// PyTorch's CPU kernel). When the output is streamed and a row fits a quarter of the
  /// level-2 cache, or is longer than one block (65 536 entries, normalised block by block as
  /// in recompute) and at most 2^22 entries, or the output is 16-bit, the exponentials go to a
  /// scratch row of the thread's own (`C` elements per thread and call) and the output is
  /// written once. A 16-bit output of rows longer than one block takes the scratch row only
  /// for calls of at least 16 rows (its allocation and page faults, once per call, cost more
  /// than they save with fewer: <doc:Algorithms>); fewer rows recompute the exponentials.
  /// Bitwise the results of recompute. For log-softmax and log-sum-exp it is the
  /// same as recompute.
  case threePassReload
  /// Two passes with (mantissa, exponent) accumulation of `exp(x - r)`, `r` the row's first
  /// entry, and no max pass (Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm", IPDPSW
  /// 2020). Rows with a non-finite value, or whose maximum lies more than 350 (Float; 1e5 for
  /// Double) above `r`, are detected in pass 1 and recomputed with `threePassReload`: the
  /// extended exponential's range reduction is exact only there. So are rows with `r` beyond
  /// ±250 (Float; 5e4 Double) whose entries near the maximum are not within a factor 2 of `r`,
  /// where `x - r` would round. The sum adds pairs of terms in 16-pair lane runs: an all-equal
  /// row gives `1/n` within 3.0e-7 (Float) / 2.9e-15 (Double), measured (an outside review;
  /// 2.4e-7 on the test suite's rows; the tests enforce 4e-7 / 4e-15).
  case twoPass
  /// Two passes with the online normaliser of Milakov & Gimelshein (arXiv:1805.02867),
  /// blocked: the running `(max, sum)` is rescaled once per block of 256 elements.
  case online

  /// The case's name, as written in Swift (`"twoPass"`); the benchmark prints it.
  public var description: String { rawValue }
}

/// The CPU maker, as far as the choice of `SoftmaxAlgorithm.automatic` depends on it: at the same
/// instruction-set level an AMD Zen core (512-bit operations on 256-bit pipes, a 1 MiB level-2
/// cache per core) ranks the algorithms differently from an Intel core (see <doc:Algorithms>).
public enum CPUVendor: Sendable, CustomStringConvertible {
  /// AMD (the CPUID vendor string "AuthenticAMD").
  case amd
  /// Intel or any other maker: the rule measured on an Intel Xeon applies.
  case other

  /// `amd` or `other`.
  public var description: String { self == .amd ? "amd" : "other" }
}

/// An instruction-set level the kernels are compiled for.
public enum ISALevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
  /// The platform's baseline (SSE2 on x86-64, NEON on arm64). Always available.
  case baseline = 0
  /// x86-64-v3: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE (Haswell, Zen 1 and later).
  case x86_64_v3 = 1
  /// x86-64-v4: x86-64-v3 plus AVX-512 F/BW/CD/DQ/VL (Skylake-X, Zen 4 and later).
  case x86_64_v4 = 2

  /// Orders the levels from `baseline` up: every level's instructions include the lower ones'.
  public static func < (a: ISALevel, b: ISALevel) -> Bool { a.rawValue < b.rawValue }

  /// The name used by `SOFTMAXKERNELS_ISA` and printed by the benchmark.
  public var description: String {
    switch self {
    case .baseline: return "baseline"
    case .x86_64_v3: return "x86-64-v3"
    case .x86_64_v4: return "x86-64-v4"
    }
  }

  /// Parses `baseline`, `x86-64-v3`, `x86-64-v4` (also `v3`, `v4`, `avx2`, `avx512`).
  public init?(name: String) {
    switch name.lowercased() {
    case "baseline", "sse2", "scalar", "generic": self = .baseline
    case "x86-64-v3", "x86_64_v3", "v3", "avx2": self = .x86_64_v3
    case "x86-64-v4", "x86_64_v4", "v4", "avx512", "avx-512": self = .x86_64_v4
    default: return nil
    }
  }
}

/// Options shared by the softmax family (softmax, log-softmax, log-sum-exp and their
/// gradients). The default value reproduces PyTorch's CPU results on every special input.
public struct SoftmaxOptions: Sendable, Equatable {
  /// The algorithm; `.automatic` by default.
  public var algorithm: SoftmaxAlgorithm
  /// What a row whose entries are all `-inf` (a fully masked row) produces.
  /// `false` (default, PyTorch): softmax and log-softmax are NaN (0/0), log-sum-exp is `-inf`,
  /// gradients NaN. `true` (PyTorch's private `_safe_softmax`, oneDNN
  /// `softmax_accurate_inf_as_zero`): softmax 0, log-softmax `-inf`, log-sum-exp `-inf`,
  /// gradients 0.
  public var fullyMaskedRowIsZero: Bool
  /// What a row that contains `+inf` (and no NaN) produces. `false` (default, PyTorch, JAX):
  /// softmax and log-softmax are NaN in the whole row. `true`: limit semantics when exactly
  /// one entry is `+inf` (softmax one-hot, log-softmax 0 there and `-inf` elsewhere); a row with
  /// several `+inf` is still NaN. Log-sum-exp is `+inf` either way.
  public var positiveInfinityIsLimit: Bool
  /// The threads and instruction-set level of a call.
  public var execution: ExecutionOptions

  /// Options with the given values; the defaults (`.automatic`, PyTorch's special values, all
  /// cores, the process's level) are what a call without options uses.
  public init(
    algorithm: SoftmaxAlgorithm = .automatic,
    fullyMaskedRowIsZero: Bool = false,
    positiveInfinityIsLimit: Bool = false,
    execution: ExecutionOptions = ExecutionOptions()
  ) {
    self.algorithm = algorithm
    self.fullyMaskedRowIsZero = fullyMaskedRowIsZero
    self.positiveInfinityIsLimit = positiveInfinityIsLimit
    self.execution = execution
  }
}

/// Where a call runs: how many threads it may use and which instruction-set level it uses.
/// Every family's options embed one as `execution`; the elementwise functions take it alone.
public struct ExecutionOptions: KernelOptions, Hashable {
  /// Upper bound on the threads a call may use; `nil` means one per active core. Inputs too
  /// small to profit (under 64 Ki elements per thread) run on the calling thread.
  public var threads: Int?
  /// Force an instruction-set level (at most the CPU's). `nil` means the process default:
  /// the best level the CPU supports, lowered by the environment variable
  /// `SOFTMAXKERNELS_ISA=baseline|x86-64-v3|x86-64-v4` when it is set.
  public var isa: ISALevel?
  /// Whether the output is written with streaming (non-temporal) stores, which write around
  /// the caches without reading the output's memory first. `nil` (default): when the output
  /// (`rows x columns` elements) is larger than three quarters of the last-level cache
  /// (glibc's rule for `memcpy`), where it would leave the cache anyway, and the algorithm is
  /// not `threePassReload` keeping its exponentials in the output (which it re-reads: streaming
  /// it was measured slower).
  /// Results are bitwise the same either way: the option changes the stores, never the
  /// algorithm. Used by the softmax family's forward functions and the cross-entropy gradient.
  public var streamingStores: Bool?

  /// All cores and the process's level.
  public init() { self.init(threads: nil) }

  /// The given thread bound, level and store choice (`nil`: all cores, the process's level,
  /// streaming stores by size).
  public init(threads: Int? = nil, isa: ISALevel? = nil, streamingStores: Bool? = nil) {
    self.threads = threads
    self.isa = isa
    self.streamingStores = streamingStores
  }

  /// The options themselves (so `ExecutionOptions` is the options type of the functions that
  /// have nothing else to choose).
  public var execution: ExecutionOptions {
    get { self }
    set { self = newValue }
  }
}

/// The options of a kernel: a default value and the execution options it embeds.
public protocol KernelOptions: Sendable, Equatable {
  /// The default options: PyTorch's results, all cores, the process's level.
  init()
  /// The threads and instruction-set level of the call.
  var execution: ExecutionOptions { get set }
}

extension SoftmaxOptions: KernelOptions {
  /// The defaults: `.automatic`, PyTorch's special values, all cores, the process's level.
  public init() { self.init(algorithm: .automatic) }
}
