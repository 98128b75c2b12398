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
/// With 16-bit storage (`widening`) also the class block's classifier rows widened to `Float`
/// (`classBlock x dimension`, the logits' broadcast operand), and the class block's classifier
/// and bias gradients summed in `Float` (`classBlock x dimension` and `classBlock`). The first
/// 64 bytes hold the indices of the token block in the panels and of the class block widened.
struct LinearScratch {
  let base: UnsafeMutablePointer<Float>
  let dimension: Int

  static func floats(dimension: Int, widening: Bool) -> Int {
    let w = GemmVector.scalarCount
    let common = 16 + linearTokenBlock * dimension + 2 * linearClassBlock * linearTokenBlock
      + (linearTokenBlock + linearClassBlock) * padded(dimension) + tileRows * w
    return common + (widening ? linearClassBlock * (2 * dimension + 1) : 0)
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
  /// Class block whose classifier rows `classifierRows` holds (-1: none; 16-bit storage only).
  var widenedBlock: Int {
    get { UnsafeRawPointer(base).load(fromByteOffset: 8, as: Int.self) }
    nonmutating set { UnsafeMutableRawPointer(base).storeBytes(of: newValue, toByteOffset: 8, as: Int.self) }
  }
  var panels: UnsafeMutablePointer<Float> { base + 16 }
  var tile: UnsafeMutablePointer<Float> { panels + linearTokenBlock * dimension }
  var tokenMajor: UnsafeMutablePointer<Float> { tile + linearClassBlock * linearTokenBlock }
  /// The token block's embeddings in column panels (operand of `dC += G^T E`).
  var embeddingPanels: UnsafeMutablePointer<Float> { tokenMajor + linearClassBlock * linearTokenBlock }
  /// The class block's classifier rows in column panels (operand of `dE += G C`).
  var classifierPanels: UnsafeMutablePointer<Float> { embeddingPanels + linearTokenBlock * Self.padded(dimension) }
  var tail: UnsafeMutablePointer<Float> { classifierPanels + linearClassBlock * Self.padded(dimension) }
  /// 16-bit storage: the class block's classifier rows as `Float`, `dimension` apart.
  var classifierRows: UnsafeMutablePointer<Float> { tail + tileRows * GemmVector.scalarCount }
  /// 16-bit storage: the class block's classifier gradient summed over its token blocks.
  var classifierAccumulator: UnsafeMutablePointer<Float> { classifierRows + linearClassBlock * dimension }
  /// 16-bit storage: the class block's bias gradient summed over its token blocks.
  var biasAccumulator: UnsafeMutablePointer<Float> { classifierAccumulator + linearClassBlock * dimension }
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
/// 16-bit embeddings are widened to `Float` (exactly) as they are packed.
func packEmbeddings<S: KernelStorage>(
  _ b: LinearCrossEntropyBatch<S>, _ index: Int, _ tokens: Block, _ s: LinearScratch
) where S.Arithmetic == Float {
  if s.packedBlock == index { return }
  let w = GemmVector.scalarCount, d = b.dimension
  for n in 0..<linearTokenBlock {
    let panel = s.panels + (n / w) * d * w + n % w
    if n < tokens.count {
      let row = b.embeddings + (tokens.start + n) * b.embeddingsStride
      for k in 0..<d { panel[k * w] = S.widened(row[k]) }
    } else {
      for k in 0..<d { panel[k * w] = 0 }
    }
  }
  if b.classifierGradient != nil {
    packWidenedPanels(
      b.embeddings + tokens.start * b.embeddingsStride, srcStride: b.embeddingsStride, depth: tokens.count,
      width: d, into: s.embeddingPanels)
    // An ignored token's row is 0 in the operand of `dC += G^T E`: its gradient entries are 0,
    // and 0 x (a NaN or infinite embedding) would be NaN.
    for n in 0..<tokens.count where b.targets[tokens.start + n] == b.ignoreIndex {
      var p = 0
      while p * w < d {
        (s.embeddingPanels + (p * tokens.count + n) * w).update(repeating: 0, count: w)
        p += 1
      }
    }
  }
  s.packedBlock = index
}

/// The classifier rows of class block `index` (`classes`) as `Float`, `stride` apart: the
/// caller's rows when `S` is `Float`, else widened into `s.classifierRows` (once per class
/// block and thread: `widenedBlock`).
func classifierRows<S: KernelStorage>(
  _ b: LinearCrossEntropyBatch<S>, _ index: Int, _ classes: Block, _ s: LinearScratch
) -> (rows: UnsafePointer<Float>, stride: Int) where S.Arithmetic == Float {
  let first = b.classifier + classes.start * b.classifierStride
  if S.isArithmetic {
    return (UnsafeRawPointer(first).assumingMemoryBound(to: Float.self), b.classifierStride)
  }
  let d = b.dimension
  if s.widenedBlock != index {
    for v in 0..<classes.count {
      let row = first + v * b.classifierStride, out = s.classifierRows + v * d
      for k in 0..<d { out[k] = S.widened(row[k]) }
    }
    s.widenedBlock = index
  }
  return (UnsafePointer(s.classifierRows), d)
}

/// The tile `Z^T[v][n]` (row `v` at `tile + v * tokenBlock`) of class block `index` for the
/// packed token block: `sum_d C[v][d] E[n][d]` in `d` order (one FMA chain per entry, so every
/// logit is the same whatever block or thread computes it), plus the bias, soft-capped when
/// `b.softcap > 0`. Columns past the block's tokens hold the bias (never read as logits). Not
/// inlined, so that its loops have a name for hot-loops.py (one call per tile).
@inline(never)
func logitTile<S: KernelStorage>(
  _ b: LinearCrossEntropyBatch<S>, _ index: Int, _ classes: Block, _ s: LinearScratch
) where S.Arithmetic == Float {
  let w = GemmVector.scalarCount, d = b.dimension
  let (c, stride) = classifierRows(b, index, classes, s)
  var g = 0
  while g < classes.count {
    let rows = min(tileRows, classes.count - g)
    for p in 0..<(linearTokenBlock / w) {
      broadcastTile(
        rows: rows, depth: d, a: c + g * stride,
        rowStride: stride, depthStride: 1, b: s.panels + p * d * w, bStride: w,
        out: s.tile + g * linearTokenBlock + p * w, outStride: linearTokenBlock, accumulate: false)
    }
    g += tileRows
  }
  guard b.bias != nil || b.softcap > 0 else { return }
  let lanes = Float.Vector.scalarCount
  for v in 0..<classes.count {
    let row = s.tile + v * linearTokenBlock
    let bias = Float.Vector(repeating: b.bias.map { S.widened($0[classes.start + v]) } ?? 0)
    var q = 0
    while q < linearTokenBlock {
      var z = load(row + q) + bias
      if b.softcap > 0 { z = Float.softcap(z, cap: b.softcap) }
      store(z, row + q)
      q += lanes
    }
  }
}
