// Binary cross-entropy with logits: streaming passes. Sums accumulate in the vector type within
// windows of `windowVectors` vectors and in Double across windows. The logits and their
// gradient are read and written in their storage type `X` (widened to / rounded from `T`).

import SoftmaxKernelsCore

/// BCE over `count` contiguous elements starting at element `start` of the batch, reading the
/// positive weights from `posWeight` (aligned with element `start`; `nil`: none). Returns the sum
/// of the losses.
///
/// The loop has no branch: an absent input (`weight`, `posWeight`, upstream gradient) is read
/// from the vector of ones `ones` with stride 0, an absent output written to the scratch vector
/// `sink` with stride 0 (loop-invariant branches in the body made LLVM split the vectors into
/// pieces).
func bceSegmentPass<X: KernelStorage, T: KernelFloatLog>(
  _ batch: BCEBatch<X, T>, start: Int, count: Int, posWeight: UnsafePointer<T>?,
  ones: UnsafePointer<T>, sink: UnsafeMutablePointer<T>, gradientSink: UnsafeMutablePointer<X>
) -> Double where X.Arithmetic == T {
  func input(_ p: UnsafePointer<T>?, _ offset: Int) -> (UnsafePointer<T>, Int) {
    p.map { ($0 + offset, 1) } ?? (ones, 0)
  }
  let (w, ws) = input(batch.weight, start)
  let (p, ps) = input(posWeight, 0)
  let (g, gs) = input(batch.upstream, start)
  let (losses, ls) = batch.losses.map { ($0 + start, 1) } ?? (sink, 0)
  let (dx, ds) = batch.inputGradient.map { ($0 + start, 1) } ?? (gradientSink, 0)
  return bceLoop(
    batch.logits + start, batch.targets + start, w, ws, p, ps, g, gs, losses, ls, dx, ds, count,
    scale: batch.gradientScale)
}

/// The loop of `bceSegmentPass`: `w`, `p`, `g` are read and `losses`, `dx` written at pointers
/// advancing by `stride * lanes` per vector (stride 0 or 1). (Addresses `w + i * ws` made LLVM
/// split the loop's vectors into xmm pieces in release builds.)
func bceLoop<X: KernelStorage, T: KernelFloatLog>(
  _ x: UnsafePointer<X>, _ y: UnsafePointer<T>, _ w: UnsafePointer<T>, _ ws: Int,
  _ p: UnsafePointer<T>, _ ps: Int, _ g: UnsafePointer<T>, _ gs: Int,
  _ losses: UnsafeMutablePointer<T>, _ ls: Int, _ dx: UnsafeMutablePointer<X>, _ ds: Int,
  _ count: Int, scale: T
) -> Double where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vscale = T.Vector(repeating: scale)
  var (wp, pp, gp, lp, dp) = (w, p, g, losses, dx)
  let (wStep, pStep, gStep, lStep, dStep) = (ws * lanes, ps * lanes, gs * lanes, ls * lanes, ds * lanes)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var acc = T.Vector()
    while i < end {
      let (l, d) = T.bceCore(load(x + i), load(y + i), load(wp), load(pp))
      acc += l
      store(l, lp)
      store(d * vscale * load(gp), dp)
      wp += wStep
      pp += pStep
      gp += gStep
      lp += lStep
      dp += dStep
      i += lanes
    }
    total += Double(acc.sum())
  }
  if i < count {
    let valid = count - i
    let (l, d) = T.bceCore(
      loadPartial(x + i, valid, pad: 0), loadPartial(y + i, valid, pad: 0),
      loadPartial(wp, valid, pad: 0), loadPartial(pp, valid, pad: 1))
    var tail = 0.0
    for k in 0..<valid { tail += Double(l[k]) }
    total += tail
    storePartial(l, lp, valid)
    storePartial(d * vscale * loadPartial(gp, valid, pad: 0), dp, valid)
  }
  return total
}

/// Rows shorter than this many classes read `posWeight` from a tile of it repeated on the stack,
/// so the loop runs over many rows at once instead of one short row at a time.
let bcePosWeightTileColumns = 256

/// BCE over a flat range of elements. With `posWeight`, the range is split at row ends (long
/// rows), or, for rows of fewer than `bcePosWeightTileColumns` classes, into segments of
/// `lanes * columns` elements that read a tile of `posWeight` repeated `lanes + 1` times.
func bceRange<X: KernelStorage, T: KernelFloatLog>(
  _ batch: BCEBatch<X, T>, _ elements: Range<Int>
) -> Double where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let c = batch.columns
  let tiled = batch.posWeight != nil && c < bcePosWeightTileColumns
  let tileCount = tiled ? (lanes + 1) * c : 0
  // The stride-0 sink of an absent gradient has the logits' type.
  return withUnsafeTemporaryAllocation(of: X.self, capacity: lanes) { gradientSink in
    withUnsafeTemporaryAllocation(of: T.self, capacity: 2 * lanes + tileCount) { scratch in
      let ones = scratch.baseAddress!, sink = ones + lanes, tile = ones + 2 * lanes
      for k in 0..<lanes { ones[k] = 1 }
      func segment(_ start: Int, _ count: Int, _ posWeight: UnsafePointer<T>?) -> Double {
        bceSegmentPass(
          batch, start: start, count: count, posWeight: posWeight, ones: ones, sink: sink,
          gradientSink: gradientSink.baseAddress!)
      }
      var total = 0.0
      var i = elements.lowerBound
      guard let pw = batch.posWeight else {
        return i < elements.upperBound ? segment(i, elements.count, nil) : 0
      }
      if tiled {
        for k in 0..<tileCount { tile[k] = pw[k % c] }
        while i < elements.upperBound {
          let n = min(elements.upperBound - i, lanes * c)
          total += segment(i, n, UnsafePointer(tile + i % c))
          i += n
        }
        return total
      }
      while i < elements.upperBound {
        let column = i % c
        let n = min(elements.upperBound - i, c - column)
        total += segment(i, n, pw + column)
        i += n
      }
      return total
    }
  }
}
