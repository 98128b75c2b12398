// The matrix-multiply core of linear + cross-entropy: one register tile, `out += A B` for six
// rows of `A` (broadcast, one scalar at a time) and one `GemmVector` of columns of `B`.
//
// All three products of the loss are this tile with different strides (LinearCrossEntropyTiles
// .swift): the logits `Z^T = C E^T` (rows: classes; `B`: the embeddings transposed into a
// packed panel), `dC += G^T E` (rows: classes; `B`: embedding rows) and `dE += G C` (rows:
// tokens; `B`: classifier rows). The register tile is the classic broadcast-FMA kernel
// (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008; BLIS's
// microkernels): per step `k`, one vector load of `B`, six broadcasts of `A`, twelve
// independent accumulators' worth of FMAs.

#if SOFTMAXKERNELS_LEVEL_V4
/// Two zmm registers: 6 x 32 accumulators in 12 of the 32 zmm registers.
typealias GemmVector = SIMD32<Float>
#elseif SOFTMAXKERNELS_LEVEL_V3
/// Two ymm registers: 6 x 16 accumulators in 12 of the 16 ymm registers.
typealias GemmVector = SIMD16<Float>
#else
/// Two xmm (NEON) registers: 6 x 8 accumulators in 12 of 16 (32) registers.
typealias GemmVector = SIMD8<Float>
#endif

/// Rows of the register tile.
let tileRows = 6

/// `a * b + c`, fused where the level has FMA (at the x86-64 baseline `addingProduct` is one
/// `fmaf` library call per lane).
@inline(__always)
func gemmFMA(_ a: GemmVector, _ b: GemmVector, _ c: GemmVector) -> GemmVector {
  #if SOFTMAXKERNELS_FMA || arch(arm64)
  return c.addingProduct(a, b)
  #else
  return a * b + c
  #endif
}

@inline(__always)
func loadGemm(_ p: UnsafePointer<Float>) -> GemmVector {
  UnsafeRawPointer(p).loadUnaligned(as: GemmVector.self)
}

@inline(__always)
func storeGemm(_ v: GemmVector, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: GemmVector.self)
}

/// `out[i][j] (+)= sum_{k < depth} a[i * rowStride + k * depthStride] * b[k * bStride + j]` for
/// `i < rows` (1 ... 6) and `j < GemmVector.scalarCount`; `out` row `i` at `out + i * outStride`.
/// Rows `>= rows` are computed from row `rows - 1` (read, never written), so the loop has one
/// shape. Each output is one FMA chain in `k` order: the same value whatever tile it is in.
///
/// Complexity: `depth` vector loads, `6 depth` broadcasts, `6 depth` vector FMAs (12 zmm FMAs
/// per step at x86-64-v4: the loop is FMA-bound, 2 per cycle).
@inline(never)
func broadcastTile(
  rows: Int, depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
  b: UnsafePointer<Float>, bStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
  accumulate: Bool
) {
  let last = rows - 1
  let a0 = a, a1 = a + min(1, last) * rowStride, a2 = a + min(2, last) * rowStride
  let a3 = a + min(3, last) * rowStride, a4 = a + min(4, last) * rowStride
  let a5 = a + min(5, last) * rowStride
  var c0 = GemmVector(), c1 = GemmVector(), c2 = GemmVector()
  var c3 = GemmVector(), c4 = GemmVector(), c5 = GemmVector()
  var pb = b
  var ka = 0
  for _ in 0..<depth {
    let v = loadGemm(pb)
    c0 = gemmFMA(GemmVector(repeating: a0[ka]), v, c0)
    c1 = gemmFMA(GemmVector(repeating: a1[ka]), v, c1)
    c2 = gemmFMA(GemmVector(repeating: a2[ka]), v, c2)
    c3 = gemmFMA(GemmVector(repeating: a3[ka]), v, c3)
    c4 = gemmFMA(GemmVector(repeating: a4[ka]), v, c4)
    c5 = gemmFMA(GemmVector(repeating: a5[ka]), v, c5)
    pb += bStride
    ka += depthStride
  }
  @inline(__always)
  func put(_ c: GemmVector, _ i: Int) {
    let p = out + i * outStride
    storeGemm(accumulate ? loadGemm(p) + c : c, p)
  }
  put(c0, 0)
  if rows > 1 { put(c1, 1) }
  if rows > 2 { put(c2, 2) }
  if rows > 3 { put(c3, 3) }
  if rows > 4 { put(c4, 4) }
  if rows > 5 { put(c5, 5) }
}

/// `out[i][:width] += sum_{k < depth} a(i, k) b[k][:width]` for `i < rows` (any count) and any
/// `width`: `broadcastTile` over full column vectors and a zero-padded copy of `b`'s last
/// partial columns (in `padded`, `depth * GemmVector.scalarCount` floats, and `tail`,
/// `tileRows * GemmVector.scalarCount` floats). `a(i, k) = a[i * rowStride + k * depthStride]`.
func accumulateProduct(
  rows: Int, width: Int, depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
  b: UnsafePointer<Float>, bStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
  padded: UnsafeMutablePointer<Float>, tail: UnsafeMutablePointer<Float>
) {
  let w = GemmVector.scalarCount
  let full = width - width % w
  guard depth > 0 else { return }
  var j = 0
  while j < full {
    var i = 0
    while i < rows {
      broadcastTile(
        rows: min(tileRows, rows - i), depth: depth, a: a + i * rowStride, rowStride: rowStride,
        depthStride: depthStride, b: b + j, bStride: bStride, out: out + i * outStride + j,
        outStride: outStride, accumulate: true)
      i += tileRows
    }
    j += w
  }
  guard full < width else { return }
  let extra = width - full
  for k in 0..<depth {
    let row = padded + k * w
    for q in 0..<w { row[q] = q < extra ? b[k * bStride + full + q] : 0 }
  }
  var i = 0
  while i < rows {
    let r = min(tileRows, rows - i)
    broadcastTile(
      rows: r, depth: depth, a: a + i * rowStride, rowStride: rowStride, depthStride: depthStride,
      b: padded, bStride: w, out: tail, outStride: w, accumulate: false)
    for ii in 0..<r {
      let o = out + (i + ii) * outStride + full
      for q in 0..<extra { o[q] += tail[ii * w + q] }
    }
    i += tileRows
  }
}
