// The entry points this ISA module publishes: one `_KernelTable` per scalar type.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if SOFTMAXKERNELS_LEVEL_V4
let compiledLevel = ISALevel.x86_64_v4
#elseif SOFTMAXKERNELS_LEVEL_V3
let compiledLevel = ISALevel.x86_64_v3
#else
let compiledLevel = ISALevel.baseline
#endif

/// The kernels of this module (compiled for `compiledLevel`).
public enum Kernels {
  public static let float: _KernelTable<Float> = makeTable()
  public static let double: _KernelTable<Double> = makeTable()
  public static let floatLosses: _LossKernelTable<Float> = makeLossTable()
  public static let doubleLosses: _LossKernelTable<Double> = makeLossTable()
}

func makeLossTable<T: KernelFloatLoss>() -> _LossKernelTable<T> {
  _LossKernelTable(
    crossEntropyRows: { batch, rows in crossEntropyRows(batch, rows) },
    zLossRows: { batch, rows in zLossRows(batch, rows) },
    stableMaxRows: { batch, rows in stableMaxRows(batch, rows) }
  )
}

func makeTable<T: KernelFloat>() -> _KernelTable<T> {
  _KernelTable(
    level: compiledLevel,
    forwardRows: { batch, rows in
      for r in rows { forwardRow(batch, row: r, .single(batch.columns)) }
    },
    forwardSplitRow: { batch, row, chunks, parallel in
      forwardRow(batch, row: row, Chunker(count: batch.columns, threads: chunks, parallel: parallel))
    },
    backwardRows: { batch, rows in
      for r in rows { backwardRow(batch, row: r, .single(batch.columns)) }
    },
    backwardSplitRow: { batch, row, chunks, parallel in
      backwardRow(batch, row: row, Chunker(count: batch.columns, threads: chunks, parallel: parallel))
    },
    expNonPositive: { x, y, n in expScalePass(x, y, n, max: 0, scale: 1) }
  )
}
