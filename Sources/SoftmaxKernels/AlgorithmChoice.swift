// What `.automatic` runs, and whether the output is streamed: chosen per CPU vendor, ISA level,
// operation, row length and output size, from measurements kept in the repository
// (Benchmarks/Results/2026-11-30-intel-xeon-algorithms.md, 2026-11-30h-amd-epyc-algorithms.md;
// summary in <doc:Algorithms>).

import SoftmaxKernelsCore

extension SoftmaxAlgorithm {
  /// The algorithm `.automatic` runs for rows of `columns` entries at `level` on a CPU of
  /// `vendor`; `logarithmic` is true for log-softmax and log-sum-exp, `streaming` when the
  /// output is large enough to be written with streaming stores by default (`rows x columns`
  /// elements above three quarters of the last-level cache, see
  /// ``ExecutionOptions/streamingStores``; forcing that option changes the stores, not the
  /// algorithm). Other cases return themselves. Never depends on the thread count, so results
  /// stay bitwise the same for every thread count.
  ///
  /// Rule (softmax-bench, 1 GiB inputs, every algorithm with and without streaming stores,
  /// medians of two interleaved rounds; <doc:Algorithms> has the tables and the files):
  /// - AMD (Zen 4, 2 vCPUs, 2026-11-30), x86-64-v4: softmax with a streamed output,
  ///   `threePassReload` for rows of up to 2^16 entries (the exponentials in a scratch row, then
  ///   one streamed write: 8192 x 32768, 20.7 / 31.4 GB/s at 1 / 2 threads against 17.8 / 29.6
  ///   for streamed `threePassRecompute`), `online` for longer rows (1024 x 262144: 18.9 / 32.8
  ///   against 19.4 / 27.6 for `threePassReload`; one 1 GiB row: 16.8 / 23.2 against 15.0 /
  ///   22.3 for `twoPass`); log-softmax with a streamed output `online` (8192 x 32768: 21.4 /
  ///   31.9 against 19.8 / 31.1 for `threePassRecompute`);
  /// - AMD, x86-64-v3: softmax with a streamed output, `threePassReload` for rows of up to
  ///   2^18 entries (8192 x 32768, streamed: 16.4 / 27.1 against 13.8 / 21.9 for `online`;
  ///   1024 x 262144, not streamed: 16.6 / 24.5 against 14.1 / 25.8), `online` for longer rows
  ///   (one 1 GiB row, streamed: 12.1 / 21.3 against 10.3 / 15.9 for `twoPass`); log-softmax
  ///   `threePassRecompute`;
  /// - Intel (Xeon, family 6 model 207, 2 vCPUs, 2026-12-01, after the block-by-block
  ///   three-pass softmax and the scratch row), x86-64-v4: softmax with a streamed output,
  ///   `threePassRecompute` for every row length (one 1 GiB row: 8.4 / 18.4 against 7.2 / 14.0
  ///   for `twoPass`, the rule before; 1024 x 262144: 12.8 / 25.5 against 12.2 / 23.9 for
  ///   `threePassReload`; 8192 x 32768: 13.9 / 28.1 against 14.6 / 28.1, level within the
  ///   machine's noise); x86-64-v3: `threePassReload` (8192 x 32768: 13.4 / 25.4 against 11.0
  ///   / 19.7 for `threePassRecompute`; one 1 GiB row: 7.9 / 13.1 against 7.7 / 15.2, level);
  ///   log-softmax and log-sum-exp at both levels: `threePassRecompute` (log-softmax 8192 x
  ///   32768, streamed, v4: 13.8 / 25.7 against 9.1 / 17.6 for `online`; 2026-11-30: log-sum-exp
  ///   7.4 / 8.1 GB/s of input against 5.1 / 7.9 for `online`);
  /// - every vendor: softmax whose output is not streamed (it fits the cache) `threePassReload`;
  ///   log-sum-exp `threePassRecompute`;
  /// - baseline (not re-measured): `threePassReload` up to 2^18 entries, `online` beyond and
  ///   for the logarithmic operations (AMD EPYC AVX2 machine, 2026-11-22).
  /// - every vendor, x86-64-v3 and x86-64-v4, softmax into a 16-bit output (`narrowOutput`:
  ///   the output cannot hold the Float exponentials, so every other algorithm computes each
  ///   exponential twice): `threePassReload` with a Float scratch row for rows of up to 2^22
  ///   entries (`narrowReloadColumns`), whatever the rules above say; longer rows follow them.
  ///   (Rows longer than one block keep the scratch row only in calls of at least 16 rows,
  ///   `narrowScratchRows`; with fewer, `threePassReload` recomputes the exponentials.)
  ///   AMD EPYC Zen 4, 2026-12-01, x86-64-v4, Gelem/s at 1 / 2 threads: BFloat16 1024 x 262144
  ///   2.70 / 4.67 against 1.85 / 3.63 for `online`; 256 x 2^20 2.82 / 4.67 against 1.82 /
  ///   3.11; 64 x 2^22 2.71 / 4.90 against 1.69 / 3.05. Intel Xeon (model 207), 2026-12-01,
  ///   x86-64-v4, GB/s: BFloat16 1024 x 262144 10.0 / 19.5 against 7.0 / 11.9 for
  ///   `threePassRecompute`, 8192 x 32768 9.9 / 16.9 against 7.2 / 14.0; Float16 alike.
  ///   <doc:Algorithms> has the tables.
  public func resolved(
    columns: Int, logarithmic: Bool = false, level: ISALevel = .active, streaming: Bool = false,
    vendor: CPUVendor = .detected, narrowOutput: Bool = false
  ) -> SoftmaxAlgorithm {
    guard self == .automatic else { return self }
    if narrowOutput && !logarithmic && level != .baseline && columns <= narrowReloadColumns {
      return .threePassReload
    }
    switch (level, vendor) {
    case (.baseline, _):
      return logarithmic || columns > 1 << 18 ? .online : .threePassReload
    case (.x86_64_v4, .amd):
      if logarithmic { return streaming ? .online : .threePassRecompute }
      guard streaming else { return .threePassReload }
      return columns <= 1 << 16 ? .threePassReload : .online
    case (.x86_64_v3, .amd):
      if logarithmic { return .threePassRecompute }
      return streaming && columns > 1 << 18 ? .online : .threePassReload
    case (.x86_64_v3, .other):
      return logarithmic ? .threePassRecompute : .threePassReload
    case (.x86_64_v4, .other):
      if logarithmic { return .threePassRecompute }
      return streaming ? .threePassRecompute : .threePassReload
    }
  }
}

/// The algorithm and store kind of one forward call (`package`: the tests check the choice).
package struct AlgorithmChoice {
  package var algorithm: SoftmaxAlgorithm
  package var streamingStores: Bool
  /// `threePassReload` softmax keeps its exponentials in a scratch row per thread.
  package var reloadsFromScratch: Bool

  /// `outputBytes`: the bytes of the rows written, `rows x columns` elements (0 for log-sum-exp,
  /// which writes one value per row). The algorithm depends on that size alone, never on the
  /// stride or on `streamingStores`, so forcing the store kind never changes a result.
  /// `scalarBytes`: the size of the arithmetic type; `narrowOutput`: the output is stored in a
  /// narrower type (16-bit), which cannot hold the exponentials.
  package init(
    _ options: SoftmaxOptions, _ operation: SoftmaxOperation, rows: Int, columns: Int, level: ISALevel,
    outputBytes: Int, scalarBytes: Int, narrowOutput: Bool
  ) {
    let large = outputBytes > streamingStoreThreshold
    algorithm = options.algorithm.resolved(
      columns: columns, logarithmic: operation != .softmax, level: level, streaming: large,
      narrowOutput: narrowOutput)
    // `threePassReload` keeps its exponentials in a scratch row when the output streams and
    // the row fits `reloadScratchBytes`; a longer row keeps them in the output, which its
    // pass 3 re-reads: streaming that pass was measured slower (8192 x 32768, v4, 2 threads:
    // 12.0 against 16.7 GB/s, Intel Xeon), so such rows are not streamed by default.
    // A 16-bit output cannot hold them: there the scratch row is used whenever it fits
    // `narrowReloadColumns` (streamed or not), else the exponentials are recomputed and the
    // output is never re-read. A row of more than one block (normalised block by block) keeps
    // them in a scratch row up to `narrowReloadColumns` entries too when the output streams:
    // 1024 x 262144 Float, x86-64-v3, 15.7 / 29.8 and 14.9 / 26.4 GB/s (1 / 2 threads, two
    // rounds) against 15.8 / 25.8 and 15.3 / 24.8 keeping them in the output; x86-64-v4 19.3 /
    // 30.9 and 18.9 / 31.3 against 17.9 / 35.7 and 18.3 / 25.7 (the 2-thread cells moved with
    // the machine's neighbours; AMD EPYC Zen 4, 2026-12-01).
    // A 16-bit output's scratch row of more than one block is allocated only for a call of at
    // least `narrowScratchRows` rows, which share its cost (see there); fewer rows recompute
    // the exponentials, bitwise the same results.
    let reloads = algorithm == .threePassReload && operation == .softmax
    let scratchFits = narrowOutput || columns > reproducibleBlock
      ? columns <= narrowReloadColumns
        && (!narrowOutput || columns <= reproducibleBlock || rows >= narrowScratchRows)
      : columns * scalarBytes <= reloadScratchBytes
    let rereadsOutput = reloads && !scratchFits && !narrowOutput
    streamingStores = outputBytes > 0 && (options.execution.streamingStores ?? (large && !rereadsOutput))
    reloadsFromScratch = reloads && scratchFits && (streamingStores || narrowOutput)
  }
}

/// The longest row whose exponentials `threePassReload` keeps in a scratch row when its output
/// is 16-bit, or when the row has more than one block and its output streams: 2^22 entries (a
/// 16 MiB scratch row, half the last-level cache of the AMD EPYC Zen 4 it was measured on,
/// where with a 16-bit output it still beat `online` by 1.6x at 1 thread: see
/// `SoftmaxAlgorithm.resolved`). Beyond it the scratch row would travel to memory and back.
let narrowReloadColumns = 1 << 22

/// The fewest rows of a call whose 16-bit softmax output keeps the exponentials of rows longer
/// than one block (2^16 entries) in a Float scratch row: 16. Such a scratch row (256 KiB to
/// 16 MiB per thread) is allocated and freed once per call, and the allocator hands its pages
/// back to the system and faults them in again on many calls (about 1000 minor page faults per
/// call of one 2^20-entry BFloat16 row, against none without the scratch row): with few rows
/// that costs more than recomputing the exponentials. `softmax-bench`, BFloat16, x86-64-v4,
/// 1 thread, medians of 5 calls, GB/s, `threePassReload` (scratch row) against
/// `threePassRecompute` (Intel Xeon model 207, 2026-12-01): one row of 2^20 entries 1.86 / 7.96
/// (median of 21 calls: 5.91 / 5.68), one of 2^22 1.39 / 5.25 (21 calls: 4.54 / 5.29),
/// 8 x 262144 5.02 / 6.37 and 3.75 / 6.64 (two rounds), 16 x 262144 5.10 / 4.51 and 5.34 /
/// 5.29, 32 x 262144 5.35 / 4.94 and 5.36 / 5.04. Rows of one block keep their scratch row
/// (at most 256 KiB; one row of 2^16 entries, 21 calls: 10.4 / 6.9 and 8.3 / 7.3).
package let narrowScratchRows = 16

/// The longest row of one block (in bytes of the arithmetic type) whose exponentials
/// `threePassReload` keeps in a scratch row of the thread's own when the output streams: a quarter of the
/// level-2 cache (256 KiB on a Zen 4 core), the rows whose next row is prefetched as well
/// (`prefetchesNextRow`), so that the input row, the next one and the scratch stay in the
/// cache. Longer rows keep them in the output. A scratch row of the whole level-2 cache (1 MiB
/// rows, 1024 x 262144, x86-64-v4, AMD EPYC Zen 4) was slower than keeping them in the output:
/// 17.1 / 27.1 against 18.7 / 27.8 GB/s, and 16.3 / 27.1 against 19.3 / 27.7 in a second round
/// (1 / 2 threads).
var reloadScratchBytes: Int { levelTwoCacheBytes / 4 }
