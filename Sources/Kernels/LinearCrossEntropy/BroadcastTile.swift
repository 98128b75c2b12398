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

import CSoftmaxKernelsStore

#if SOFTMAXKERNELS_LEVEL_V4
/// Two zmm registers: 6 x 32 accumulators in 12 of the 32 zmm registers. A pair of
/// `SIMD16<Float>`, not `SIMD32<Float>`: `SIMD32`'s `addingProduct` compiled to one scalar FMA
/// per lane through the stack (read in the disassembly), `SIMD16`'s to one `vfmadd231ps zmm`.
struct GemmVector {
  var low: SIMD16<Float>, high: SIMD16<Float>
  static var scalarCount: Int { 32 }

  @inline(__always)
  init() { (low, high) = (SIMD16(), SIMD16()) }

  @inline(__always)
  init(repeating x: Float) {
    low = SIMD16(repeating: x)
    high = low
  }

  @inline(__always)
  init(_ low: SIMD16<Float>, _ high: SIMD16<Float>) { (self.low, self.high) = (low, high) }

  @inline(__always)
  static func + (a: GemmVector, b: GemmVector) -> GemmVector { GemmVector(a.low + b.low, a.high + b.high) }
}

@inline(__always)
func gemmFMA(_ a: GemmVector, _ b: GemmVector, _ c: GemmVector) -> GemmVector {
  GemmVector(c.low.addingProduct(a.low, b.low), c.high.addingProduct(a.high, b.high))
}

@inline(__always)
func loadGemm(_ p: UnsafePointer<Float>) -> GemmVector {
  let raw = UnsafeRawPointer(p)
  return GemmVector(raw.loadUnaligned(as: SIMD16<Float>.self), raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
}

@inline(__always)
func storeGemm(_ v: GemmVector, _ p: UnsafeMutablePointer<Float>) {
  let raw = UnsafeMutableRawPointer(p)
  raw.storeBytes(of: v.low, as: SIMD16<Float>.self)
  raw.storeBytes(of: v.high, toByteOffset: 64, as: SIMD16<Float>.self)
}
#else
#if SOFTMAXKERNELS_LEVEL_V3
/// Two ymm registers: 6 x 16 accumulators in 12 of the 16 ymm registers.
typealias GemmVector = SIMD16<Float>
#else
/// Two xmm (NEON) registers: 6 x 8 accumulators in 12 of 16 (32) registers.
typealias GemmVector = SIMD8<Float>
#endif

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
#endif

/// Rows of the register tile.
let tileRows = 6

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
  if accumulate {
    // The rows this tile adds to are loaded after the loop: ask for them now.
    for i in 0..<rows {
      softmaxkernels_prefetch_write(out + i * outStride)
      softmaxkernels_prefetch_write(out + i * outStride + GemmVector.scalarCount - 1)
    }
  }
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

/// Packs `depth` rows of `width` floats (`src`, rows `srcStride` apart) into column panels:
/// panel `p` holds rows `0 ..< depth` of columns `p w ..< (p + 1) w` contiguously, `w` =
/// `GemmVector.scalarCount`, zero past `width`. `broadcastTile` then reads one panel row per
/// step from consecutive memory: read from the strided rows directly (4 KiB apart at D = 1024,
/// one cache set), the backward products ran at 55% of the logits' speed. Not inlined, so that
/// its loop has a name for hot-loops.py.
@inline(never)
func packPanels(_ src: UnsafePointer<Float>, srcStride: Int, depth: Int, width: Int, into panels: UnsafeMutablePointer<Float>) {
  let w = GemmVector.scalarCount
  let full = width / w
  for k in 0..<depth {
    let row = src + k * srcStride
    for p in 0..<full { storeGemm(loadGemm(row + p * w), panels + (p * depth + k) * w) }
    if full * w < width {
      let out = panels + (full * depth + k) * w
      for q in 0..<w { out[q] = full * w + q < width ? row[full * w + q] : 0 }
    }
  }
}

/// `packPanels` of rows stored as `S`: `Float` rows go to `packPanels`; 16-bit rows are widened
/// (exactly) element by element, a cost of one conversion per element packed against the
/// `2 x 128` or `2 x 256` flops each packed element takes part in.
func packWidenedPanels<S: KernelStorage>(
  _ src: UnsafePointer<S>, srcStride: Int, depth: Int, width: Int, into panels: UnsafeMutablePointer<Float>
) where S.Arithmetic == Float {
  if S.isArithmetic {
    packPanels(
      UnsafeRawPointer(src).assumingMemoryBound(to: Float.self), srcStride: srcStride, depth: depth,
      width: width, into: panels)
    return
  }
  let w = GemmVector.scalarCount
  for k in 0..<depth {
    let row = src + k * srcStride
    var p = 0
    while p * w < width {
      let out = panels + (p * depth + k) * w
      for q in 0..<w { out[q] = p * w + q < width ? S.widened(row[p * w + q]) : 0 }
      p += 1
    }
  }
}

/// `out[i][:width] += sum_{k < depth} a(i, k) b[k][:width]` for `i < rows` (any count) and any
/// `width`, with `b` packed by `packPanels`; `a(i, k) = a[i * rowStride + k * depthStride]`.
/// The last partial panel goes through `tail` (`tileRows * GemmVector.scalarCount` floats).
func accumulateProduct(
  rows: Int, width: Int, depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
  panels: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, outStride: Int,
  tail: UnsafeMutablePointer<Float>
) {
  let w = GemmVector.scalarCount
  guard depth > 0 else { return }
  // Row groups outer, panels inner: the six output rows are walked left to right (the
  // hardware prefetcher follows them) and the six rows of `a` stay in the level-1 cache.
  var i = 0
  while i < rows {
    let r = min(tileRows, rows - i)
    var p = 0
    while p * w < width {
      let columns = min(w, width - p * w)
      let o = out + i * outStride + p * w
      if columns == w {
        broadcastTile(
          rows: r, depth: depth, a: a + i * rowStride, rowStride: rowStride, depthStride: depthStride,
          b: panels + p * depth * w, bStride: w, out: o, outStride: outStride, accumulate: true)
      } else {
        broadcastTile(
          rows: r, depth: depth, a: a + i * rowStride, rowStride: rowStride, depthStride: depthStride,
          b: panels + p * depth * w, bStride: w, out: tail, outStride: w, accumulate: false)
        for ii in 0..<r {
          for q in 0..<columns { o[ii * outStride + q] += tail[ii * w + q] }
        }
      }
      p += 1
    }
    i += tileRows
  }
}

/// `destination[i] = source[i]` rounded to nearest even into `S`, `i < count`.
func narrowRow<S: KernelStorage>(
  _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<S>, _ count: Int
) where S.Arithmetic == Float {
  let lanes = Float.Vector.scalarCount
  var i = 0
  while i + lanes <= count {
    S.storeNarrowed(load(source + i), destination + i)
    i += lanes
  }
  for k in i..<count { destination[k] = S.narrowed(source[k]) }
}
