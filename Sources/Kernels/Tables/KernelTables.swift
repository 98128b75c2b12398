// The entry points this ISA module publishes: one `KernelSet` per scalar type.

import SoftmaxKernelsCore

/// The kernels of this module, compiled for its level (`SOFTMAXKERNELS_LEVEL_*`). The public
/// module picks one level's `LevelKernels` once per call; nothing here has state.
package enum LevelKernels: KernelModule {
  package static let float: KernelSet<Float> = makeKernelSet()
  package static let double: KernelSet<Double> = makeKernelSet()
  package static let floatHooks: VectorFunctionHooks<Float> = makeHooks()
  package static let doubleHooks: VectorFunctionHooks<Double> = makeHooks()
  package static let bfloat16: HalfKernelSet<BFloat16> = makeHalfKernelSet()
  package static let linearCrossEntropy: LinearCrossEntropyKernels<Float> = makeLinearCrossEntropyKernels()
  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
  package static let float16: HalfKernelSet<Float16> = makeHalfKernelSet()
  #endif
}

/// The kernels of a 16-bit storage type: outputs in the same type, or in `Float`.
func makeHalfKernelSet<H: KernelStorage & SendableMetatype>() -> HalfKernelSet<H> where H.Arithmetic == Float {
  HalfKernelSet(
    softmax: makeTable(), softmaxToFloat: makeTable(),
    crossEntropyRows: { batch, rows in crossEntropyRows(batch, rows) },
    elementwise: makeElementwiseKernels(), elementwiseToFloat: makeElementwiseKernels(),
    binaryCrossEntropy: { batch, elements in bceRange(batch, elements) },
    sigLIPRows: { batch, rows in sigLIPRows(batch, rows) },
    zLossRows: { batch, rows in zLossRows(batch, rows) },
    stableMaxRows: { batch, rows in stableMaxRows(batch, rows) },
    stableMaxToFloatRows: { batch, rows in stableMaxRows(batch, rows) },
    softplusAttentionRows: { batch, rows in softplusAttentionRows(batch, rows) },
    softplusAttentionToFloatRows: { batch, rows in softplusAttentionRows(batch, rows) },
    softplusAttentionBackwardRows: { batch, rows in softplusAttentionBackwardRows(batch, rows) },
    softplusAttentionBackwardToFloatRows: { batch, rows in softplusAttentionBackwardRows(batch, rows) },
    linearCrossEntropy: makeLinearCrossEntropyKernels())
}

/// Linear + cross-entropy of embeddings and classifier stored as `S`.
func makeLinearCrossEntropyKernels<S: KernelStorage & SendableMetatype>() -> LinearCrossEntropyKernels<S>
where S.Arithmetic == Float {
  LinearCrossEntropyKernels(
    tokenBlock: linearTokenBlock, classBlock: linearClassBlock,
    scratchFloats: { LinearScratch.floats(dimension: $0, widening: !S.isArithmetic) },
    forwardBlock: { batch, block, scratch in linearForwardBlock(batch, block, scratch) },
    backwardTile: { batch, i, j, scratch in linearBackwardTile(batch, i, j, scratch) },
    narrow: { source, destination, count in narrowRow(source, destination, count) })
}

func makeKernelSet<T: KernelFloatLog>() -> KernelSet<T> {
  KernelSet(softmax: makeTable(), losses: makeLossTable(), sigmoid: makeSigmoidTable())
}

func makeLossTable<T: KernelFloatLog>() -> LossKernelTable<T> {
  LossKernelTable(
    crossEntropyRows: { batch, rows in crossEntropyRows(batch, rows) },
    zLossRows: { batch, rows in zLossRows(batch, rows) },
    stableMaxRows: { batch, rows in stableMaxRows(batch, rows) }
  )
}

func makeTable<X: KernelStorage, Y: KernelStorage>() -> SoftmaxKernelTable<X, Y>
where Y.Arithmetic == X.Arithmetic {
  SoftmaxKernelTable(
    arithmeticBytes: MemoryLayout<X.Arithmetic>.stride,
    forwardRows: { batch, rows in
      withReloadScratch(batch) { scratch in
        for r in rows {
          let next = (batch.prefetchNextRow || batch.prefetchNextBlock) && r + 1 < rows.upperBound
          forwardRow(
            batch, row: r, .single(batch.columns),
            prefetching: next ? batch.input + (r + 1) * batch.inputStride : nil, scratch: scratch)
        }
      }
    },
    forwardSplitRow: { batch, row, chunks, parallel in
      withReloadScratch(batch) { scratch in
        forwardRow(
          batch, row: row, Chunker(count: batch.columns, threads: chunks, parallel: parallel), scratch: scratch)
      }
    },
    backwardRows: { batch, rows in
      for r in rows { backwardRow(batch, row: r, .single(batch.columns)) }
    },
    backwardSplitRow: { batch, row, chunks, parallel in
      backwardRow(batch, row: row, Chunker(count: batch.columns, threads: chunks, parallel: parallel))
    }
  )
}

/// Runs `body` with a scratch row of `batch.columns` elements (`scratchRow`) when the batch asks
/// for one (`ForwardBatch.reloadsFromScratch`), else with `nil`; freed on return.
func withReloadScratch<X: KernelStorage, Y: KernelStorage>(
  _ batch: ForwardBatch<X, Y>, _ body: (UnsafeMutablePointer<X.Arithmetic>?) -> Void
) {
  let scratch: UnsafeMutablePointer<X.Arithmetic>? = scratchRow(batch.columns, if: batch.reloadsFromScratch)
  defer { scratch?.deallocate() }
  body(scratch)
}
