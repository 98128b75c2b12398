// What `.automatic` runs, and whether the output is streamed: chosen per ISA level, operation,
// row length and output size, from measurements kept in the repository
// (Benchmarks/Results/2026-11-30-intel-xeon-algorithms.md; summary in <doc:Algorithms>).

import SoftmaxKernelsCore

extension SoftmaxAlgorithm {
  /// The algorithm `.automatic` runs for rows of `columns` entries at `level`; `logarithmic`
  /// is true for log-softmax and log-sum-exp, `streaming` when the output is large enough to be
  /// written with streaming stores by default (`rows x columns` elements above three quarters
  /// of the last-level cache, see ``ExecutionOptions/streamingStores``; forcing that option
  /// changes the stores, not the algorithm). Other cases return themselves.
  ///
  /// Rule (softmax-bench, 1 GiB inputs, median GB/s at 1 / 2 threads; Intel Xeon Sapphire
  /// Rapids, 2 vCPUs, 2026-11-30; <doc:Algorithms> has the table):
  /// - x86-64-v4, softmax, streamed output, rows of up to 2^18: `threePassRecompute` (three
  ///   reads, the last pass streams its output; 8192 x 32768: 9.4 / 18.9 against 9.1 / 16.7
  ///   for `threePassReload`, the best without streaming);
  /// - x86-64-v4, softmax, streamed output, longer rows: `twoPass` (two reads and a streamed
  ///   write: a third of `threePassReload`'s traffic). On one 1 GiB row it was within this
  ///   machine's noise of `threePassReload` (6.3 / 11.2 against 6.4 / 11.9 in one run, 6.5 /
  ///   12.7 against 6.2 / 10.9 in another), and 1.4x `online` at 2 threads on an AMD EPYC Zen 4;
  /// - other softmax rows at x86-64-v3 and v4: `threePassReload` (one 1 GiB row at v3: 5.7 /
  ///   10.7 against 5.2 / 10.1 for `twoPass` and 5.0 / 9.2 for `online`);
  /// - log-softmax and log-sum-exp at x86-64-v3 and v4: `threePassRecompute` (log-softmax
  ///   8192 x 32768, streamed, v4: 10.4 / 20.2 against 8.2 / 15.5 for `online`; log-sum-exp
  ///   v4: 7.4 / 8.1 against 5.1 / 7.9);
  /// - baseline (not re-measured): `threePassReload` up to 2^18 entries, `online` beyond and
  ///   for the logarithmic operations (AMD EPYC, AVX2 machine, 2026-11-22).
  public func resolved(
    columns: Int, logarithmic: Bool = false, level: ISALevel = .active, streaming: Bool = false
  ) -> SoftmaxAlgorithm {
    guard self == .automatic else { return self }
    switch level {
    case .baseline:
      return logarithmic || columns > 1 << 18 ? .online : .threePassReload
    case .x86_64_v3:
      return logarithmic ? .threePassRecompute : .threePassReload
    case .x86_64_v4:
      if logarithmic { return .threePassRecompute }
      guard streaming else { return .threePassReload }
      return columns <= 1 << 18 ? .threePassRecompute : .twoPass
    }
  }
}

/// The algorithm and store kind of one forward call.
struct AlgorithmChoice {
  var algorithm: SoftmaxAlgorithm
  var streamingStores: Bool

  /// `outputBytes`: the bytes of the rows written, `rows x columns` elements (0 for log-sum-exp,
  /// which writes one value per row). The algorithm depends on that size alone, never on the
  /// stride or on `streamingStores`, so forcing the store kind never changes a result.
  init(_ options: SoftmaxOptions, _ operation: SoftmaxOperation, columns: Int, level: ISALevel, outputBytes: Int) {
    let large = outputBytes > streamingStoreThreshold
    algorithm = options.algorithm.resolved(
      columns: columns, logarithmic: operation != .softmax, level: level, streaming: large)
    // `threePassReload` writes its output in pass 2 and re-reads it in pass 3: streaming the
    // last pass was measured slower (8192 x 32768, v4, 2 threads: 12.0 against 16.7 GB/s).
    let reloads = algorithm == .threePassReload && operation == .softmax
    streamingStores = outputBytes > 0 && (options.execution.streamingStores ?? (large && !reloads))
  }
}
