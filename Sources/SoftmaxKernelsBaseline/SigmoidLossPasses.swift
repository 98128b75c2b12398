// Binary cross-entropy with logits and the SigLIP pairwise sigmoid loss: streaming passes in the
// style of RowPasses.swift. Sums accumulate in the vector type within windows of
// `windowVectors` vectors and in Double across windows.

import SoftmaxKernelsCore

// MARK: - BCE with logits

/// BCE over `count` contiguous elements starting at element `start` of the batch, reading the
/// positive weights from `posWeight` (aligned with element `start`; `nil`: none). Returns the sum
/// of the losses.
///
/// The loop has no branch: an absent input (`weight`, `posWeight`, upstream gradient) is read
/// from the vector of ones `ones` with stride 0, an absent output written to the scratch vector
/// `sink` with stride 0 (loop-invariant branches in the body made LLVM split the vectors into
/// pieces).
func bceSegmentPass<T: KernelFloatLog>(
  _ batch: _BCEBatch<T>, start: Int, count: Int, posWeight: UnsafePointer<T>?,
  ones: UnsafePointer<T>, sink: UnsafeMutablePointer<T>
) -> Double {
  func input(_ p: UnsafePointer<T>?, _ offset: Int) -> (UnsafePointer<T>, Int) {
    p.map { ($0 + offset, 1) } ?? (ones, 0)
  }
  func output(_ p: UnsafeMutablePointer<T>?) -> (UnsafeMutablePointer<T>, Int) {
    p.map { ($0 + start, 1) } ?? (sink, 0)
  }
  let (w, ws) = input(batch.weight, start)
  let (p, ps) = input(posWeight, 0)
  let (g, gs) = input(batch.upstream, start)
  let (losses, ls) = output(batch.losses)
  let (dx, ds) = output(batch.inputGradient)
  return bceLoop(
    batch.logits + start, batch.targets + start, w, ws, p, ps, g, gs, losses, ls, dx, ds, count,
    scale: batch.gradientScale)
}

/// The loop of `bceSegmentPass`: `w`, `p`, `g` are read and `losses`, `dx` written at pointers
/// advancing by `stride * lanes` per vector (stride 0 or 1). (Addresses `w + i * ws` made LLVM
/// split the loop's vectors into xmm pieces in release builds.)
func bceLoop<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafePointer<T>, _ w: UnsafePointer<T>, _ ws: Int,
  _ p: UnsafePointer<T>, _ ps: Int, _ g: UnsafePointer<T>, _ gs: Int,
  _ losses: UnsafeMutablePointer<T>, _ ls: Int, _ dx: UnsafeMutablePointer<T>, _ ds: Int,
  _ count: Int, scale: T
) -> Double {
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
func bceRange<T: KernelFloatLog>(_ batch: _BCEBatch<T>, _ elements: Range<Int>) -> Double {
  let lanes = T.Vector.scalarCount
  let c = batch.columns
  let tiled = batch.posWeight != nil && c < bcePosWeightTileColumns
  let tileCount = tiled ? (lanes + 1) * c : 0
  return withUnsafeTemporaryAllocation(of: T.self, capacity: 2 * lanes + tileCount) { scratch in
    let ones = scratch.baseAddress!, sink = ones + lanes, tile = ones + 2 * lanes
    for k in 0..<lanes { ones[k] = 1 }
    var total = 0.0
    var i = elements.lowerBound
    guard let pw = batch.posWeight else {
      if i < elements.upperBound {
        total = bceSegmentPass(batch, start: i, count: elements.count, posWeight: nil, ones: ones, sink: sink)
      }
      return total
    }
    if tiled {
      for k in 0..<tileCount { tile[k] = pw[k % c] }
      while i < elements.upperBound {
        let n = min(elements.upperBound - i, lanes * c)
        total += bceSegmentPass(
          batch, start: i, count: n, posWeight: UnsafePointer(tile + i % c), ones: ones, sink: sink)
        i += n
      }
      return total
    }
    while i < elements.upperBound {
      let column = i % c
      let n = min(elements.upperBound - i, c - column)
      total += bceSegmentPass(batch, start: i, count: n, posWeight: pw + column, ones: ones, sink: sink)
      i += n
    }
    return total
  }
}

/// `(min, max, any NaN)` of `x[0..<count]`; `(+inf, -inf, false)` when empty.
func rangePass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ count: Int) -> (min: T, max: T, nan: Bool) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var hi = T.Vector(repeating: -.infinity), lo = T.Vector(repeating: .infinity), nan = T.Vector()
  var i = 0
  while i < fullEnd {
    T.rangeStep(load(x + i), &hi, &lo, &nan)
    i += lanes
  }
  var anyNaN = false
  for k in i..<count {
    if x[k].isNaN { anyNaN = true }
  }
  if i < count {
    let valid = count - i
    T.rangeStep(loadPartial(x + i, valid, pad: x[i]), &hi, &lo, &nan)
  }
  let low = -(horizontalMax(T.Vector() - lo) as T)
  return (low, horizontalMax(hi), anyNaN || (nan.sum() != 0))
}

// MARK: - SigLIP

/// One row of the SigLIP loss: `l_j = t s_j + b`, `z_j = +1` at column `positive`, `-1`
/// elsewhere; `u_j = -z_j l_j`. Adds `softplus(u_j)` (= -log sigmoid(z_j l_j)),
/// `q_j = -z_j sigmoid(u_j)` and `q_j s_j` to the sums and writes `ds_j = scale q_j` at
/// `ds + j * dsStride` (`dsStride` 0: a scratch vector, so the loop has no branch).
/// The positive column is found per lane by comparing `lane + j - positive` with 0
/// (`positive` far outside the row: no positive pair).
func sigLIPRowPass<T: KernelFloatLog>(
  _ s: UnsafePointer<T>, _ count: Int, positive: Int, temperature t: T, bias b: T,
  gradient ds: UnsafeMutablePointer<T>, gradientStride dsStride: Int, scale: T
) -> _SigLIPSums {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vt = T.Vector(repeating: t), vb = T.Vector(repeating: b), vscale = T.Vector(repeating: scale)
  var iota = T.Vector()
  for k in 0..<lanes { iota[k] = T(k) }
  var sums = _SigLIPSums()
  // The output pointer advances by 0 or `lanes`: an address `ds + i * dsStride` made LLVM split
  // the loop's vectors into xmm pieces.
  var out = ds
  let outStep = lanes * dsStride
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var accL = T.Vector(), accQ = T.Vector(), accQS = T.Vector()
    while i < end {
      let sv = load(s + i)
      let (l, q) = T.sigLIPCore(sv, iota + T.Vector(repeating: T(i - positive)), vt, vb)
      accL += l
      accQ += q
      accQS = T.fma(q, sv, accQS)
      store(q * vscale, out)
      out += outStep
      i += lanes
    }
    sums.loss += Double(accL.sum())
    sums.q += Double(accQ.sum())
    sums.qs += Double(accQS.sum())
  }
  if i < count {
    let valid = count - i
    let sv = loadPartial(s + i, valid, pad: 0)
    let (l, q) = T.sigLIPCore(sv, iota + T.Vector(repeating: T(i - positive)), vt, vb)
    for k in 0..<valid {
      sums.loss += Double(l[k])
      sums.q += Double(q[k])
      sums.qs += Double(q[k]) * Double(sv[k])
    }
    storePartial(q * vscale, ds + i * dsStride, valid)
  }
  return sums
}

/// SigLIP over rows `rows` of the batch.
func sigLIPRows<T: KernelFloatLog>(_ batch: _SigLIPBatch<T>, _ rows: Range<Int>) -> _SigLIPSums {
  var sums = _SigLIPSums()
  for r in rows {
    var positive = Int.min / 2
    if batch.hasPositives {
      let (column, overflow) = r.addingReportingOverflow(batch.positiveOffset)
      if !overflow && column >= 0 && column < batch.columns { positive = column }
    }
    let rowSums = withUnsafeTemporaryAllocation(of: T.self, capacity: T.Vector.scalarCount) { sink in
      let (ds, stride) = batch.similarityGradient.map { ($0 + r * batch.gradientRowStride, 1) }
        ?? (sink.baseAddress!, 0)
      return sigLIPRowPass(
        batch.similarities + r * batch.rowStride, batch.columns, positive: positive,
        temperature: batch.temperature, bias: batch.bias, gradient: ds, gradientStride: stride,
        scale: batch.gradientScale)
    }
    sums.add(rowSums)
  }
  return sums
}
