// The SigLIP pairwise sigmoid loss (Zhai et al. 2023), row by row.

import SoftmaxKernelsCore

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
func sigLIPRowPass<X: KernelStorage, T: KernelFloatLog>(
  _ s: UnsafePointer<X>, _ count: Int, positive: Int, temperature t: T, bias b: T,
  gradient ds: UnsafeMutablePointer<X>, gradientStride dsStride: Int, scale: T
) -> SigLIPSums where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vt = T.Vector(repeating: t), vb = T.Vector(repeating: b), vscale = T.Vector(repeating: scale)
  var iota = T.Vector()
  for k in 0..<lanes { iota[k] = T(k) }
  var sums = SigLIPSums()
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

/// SigLIP over rows `rows` of the batch (similarities and gradient stored as `X`).
func sigLIPRows<X: KernelStorage, T: KernelFloatLog>(
  _ batch: SigLIPBatch<X, T>, _ rows: Range<Int>
) -> SigLIPSums where X.Arithmetic == T {
  var sums = SigLIPSums()
  for r in rows {
    var positive = Int.min / 2
    if batch.hasPositives {
      let (column, overflow) = r.addingReportingOverflow(batch.positiveOffset)
      if !overflow && column >= 0 && column < batch.columns { positive = column }
    }
    let rowSums = withUnsafeTemporaryAllocation(of: X.self, capacity: T.Vector.scalarCount) { sink in
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
