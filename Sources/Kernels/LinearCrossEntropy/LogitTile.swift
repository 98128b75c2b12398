// The logits of one tile, `Z^T[v][n] = C[v] . E[n] + bias[v]` (soft-capped when asked), for a
// block of tokens and a block of classes; the tile lives in a per-thread scratch, never in the
// caller's memory.

import SoftmaxKernelsCore

/// Tokens per block: the columns of a tile (a multiple of `GemmVector.scalarCount` and of the
/// 16 lanes of `Float.Vector`).
let linearTokenBlock = 128
/// Classes per block: the rows of a tile.
let linearClassBlock = 256

/// One thread's scratch: the block's embeddings transposed into panels (`tokenBlock x
/// dimension` floats), the logits tile (`classBlock x tokenBlock`), the gradient tile token by
/// token (`tokenBlock x classBlock`: the operand of `dE += G C`, whose broadcasts then read
/// six contiguous rows; read from the class-major tile they touched a new cache line per step
/// and ran at half the speed of the other products), and the padded operands of
/// `accumulateProduct`: the block's embeddings and the class block's classifier rows in column
/// panels (`packPanels`; `tokenBlock x paddedDimension` and `classBlock x paddedDimension`).
/// The first 64 bytes hold the index of the token block in the panels.
struct LinearScratch {
  let base: UnsafeMutablePointer<Float>
  let dimension: Int

  static func floats(dimension: Int) -> Int {
    let w = GemmVector.scalarCount
    return 16 + linearTokenBlock * dimension + 2 * linearClassBlock * linearTokenBlock
      + (linearTokenBlock + linearClassBlock) * padded(dimension) + tileRows * w
  }

  /// `dimension` rounded up to whole panels.
  static func padded(_ dimension: Int) -> Int {
    let w = GemmVector.scalarCount
    return (dimension + w - 1) / w * w
  }

  /// Token block whose embeddings the panels hold (-1: none). Set by `packEmbeddings`.
  var packedBlock: Int {
    get { UnsafeRawPointer(base).load(as: Int.self) }
    nonmutating set { UnsafeMutableRawPointer(base).storeBytes(of: newValue, as: Int.self) }
  }
  var panels: UnsafeMutablePointer<Float> { base + 16 }
  var tile: UnsafeMutablePointer<Float> { panels + linearTokenBlock * dimension }
  var tokenMajor: UnsafeMutablePointer<Float> { tile + linearClassBlock * linearTokenBlock }
  /// The token block's embeddings in column panels (operand of `dC += G^T E`).
  var embeddingPanels: UnsafeMutablePointer<Float> { tokenMajor + linearClassBlock * linearTokenBlock }
  /// The class block's classifier rows in column panels (operand of `dE += G C`).
  var classifierPanels: UnsafeMutablePointer<Float> { embeddingPanels + linearTokenBlock * Self.padded(dimension) }
  var tail: UnsafeMutablePointer<Float> { classifierPanels + linearClassBlock * Self.padded(dimension) }
}

/// A token block's place: first token `n0`, `count` tokens (the last block may be short).
struct Block {
  let start: Int
  let count: Int
  init(_ index: Int, size: Int, total: Int) {
    start = index * size
    count = min(size, total - start)
  }
}

/// Packs the embeddings of token block `tokens` into `GemmVector`-wide panels: panel `p`,
/// row `d` holds `E[start + p w + q][d]` for `q < w` (0 past the block's last token), so the
/// logits' register tile loads one vector of tokens per step. Done once per block and thread
/// (`packedBlock`): the panels are reused for every class block. With a classifier gradient to
/// compute, the block's rows are also packed into column panels (`embeddingPanels`).
func packEmbeddings(_ b: LinearCrossEntropyBatch, _ index: Int, _ tokens: Block, _ s: LinearScratch) {
  if s.packedBlock == index { return }
  let w = GemmVector.scalarCount, d = b.dimension
  for n in 0..<linearTokenBlock {
    let panel = s.panels + (n / w) * d * w + n % w
    if n < tokens.count {
      let row = b.embeddings + (tokens.start + n) * b.embeddingsStride
      for k in 0..<d { panel[k * w] = row[k] }
    } else {
      for k in 0..<d { panel[k * w] = 0 }
    }
  }
  if b.classifierGradient != nil {
    packPanels(
      b.embeddings + tokens.start * b.embeddingsStride, srcStride: b.embeddingsStride, depth: tokens.count,
      width: d, into: s.embeddingPanels)
  }
  s.packedBlock = index
}

/// The tile `Z^T[v][n]` (row `v` at `tile + v * tokenBlock`) of class block `classes` for the
/// packed token block: `sum_d C[v][d] E[n][d]` in `d` order (one FMA chain per entry, so every
/// logit is the same whatever block or thread computes it), plus the bias, soft-capped when
/// `b.softcap > 0`. Columns past the block's tokens hold the bias (never read as logits).
func logitTile(_ b: LinearCrossEntropyBatch, _ classes: Block, _ s: LinearScratch) {
  let w = GemmVector.scalarCount, d = b.dimension
  var g = 0
  while g < classes.count {
    let rows = min(tileRows, classes.count - g)
    for p in 0..<(linearTokenBlock / w) {
      broadcastTile(
        rows: rows, depth: d, a: b.classifier + (classes.start + g) * b.classifierStride,
        rowStride: b.classifierStride, depthStride: 1, b: s.panels + p * d * w, bStride: w,
        out: s.tile + g * linearTokenBlock + p * w, outStride: linearTokenBlock, accumulate: false)
    }
    g += tileRows
  }
  guard b.bias != nil || b.softcap > 0 else { return }
  let lanes = Float.Vector.scalarCount
  for v in 0..<classes.count {
    let row = s.tile + v * linearTokenBlock
    let bias = Float.Vector(repeating: b.bias?[classes.start + v] ?? 0)
    var q = 0
    while q < linearTokenBlock {
      var z = load(row + q) + bias
      if b.softcap > 0 { z = Float.softcap(z, cap: b.softcap) }
      store(z, row + q)
      q += lanes
    }
  }
}
