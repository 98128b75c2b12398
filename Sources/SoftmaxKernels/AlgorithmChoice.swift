// What `.automatic` runs, and whether the output is streamed: chosen per ISA level, operation,
// row length and output size, from measurements kept in the repository
// (Benchmarks/Results/2026-11-30-intel-xeon-algorithms.md; summary in <doc:Algorithms>).

import SoftmaxKernelsCore

extension SoftmaxAlgorithm {
  /// The algorithm `.automatic` runs for rows of `columns` entries at `level`; `logarithmic`
  /// is true for log-softmax and log-sum-exp, `streaming` when the output is written with
  /// streaming stores (outputs larger than three quarters of the last-level cache, see
  /// ``ExecutionOptions/streamingStores``). Other cases return themselves.
  ///
  /// Rule (softmax-bench, 1 GiB inputs, median GB/s at 1 / 2 threads; Intel Xeon Sapphire
  /// Rapids, 2 vCPUs, 2026-11-30; <doc:Algorithms> has the table):
  /// - x86-64-v4, softmax, streamed output, rows of up to 2^18: `threePassRecompute` (three
  ///   reads, the last pass streams its output; 8192 x 32768: 9.4 / 18.9 against 9.1 / 16.7
  ///   for `threePassReload`, the best without streaming);
  /// - other softmax rows at x86-64-v3 and v4: `threePassReload` (one 1 GiB row at v4: 6.4 /
  ///   11.9 against 5.8 / 11.3 for `twoPass` and 5.5 / 9.6 for `online`);
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
      return streaming && columns <= 1 << 18 ? .threePassRecompute : .threePassReload
    }
  }
}

/// The algorithm and store kind of one forward call.
struct AlgorithmChoice {
  var algorithm: SoftmaxAlgorithm
  var streamingStores: Bool

  /// `outputBytes`: the extent of the rows written (0 for log-sum-exp, which writes one value
  /// per row).
  init(_ options: SoftmaxOptions, _ operation: SoftmaxOperation, columns: Int, level: ISALevel, outputBytes: Int) {
    let large = outputBytes > streamingStoreThreshold
    algorithm = options.algorithm.resolved(
      columns: columns, logarithmic: operation != .softmax, level: level,
      streaming: options.execution.streamingStores ?? large)
    // `threePassReload` writes its output in pass 2 and re-reads it in pass 3: streaming the
    // last pass was measured slower (8192 x 32768, v4, 2 threads: 12.0 against 16.7 GB/s).
    let reloads = algorithm == .threePassReload && operation == .softmax
    streamingStores = outputBytes > 0 && (options.execution.streamingStores ?? (large && !reloads))
  }
}
