// The backward pass of linear + cross-entropy for one tile (a token block by a class block):
// the tile's logits recomputed, turned into the gradient with respect to the logits `G`, then
// `dC += G^T E`, `dE += G C` and `dbias += column sums of G^T`, without storing any logits.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Backward pass of tile (`tokenIndex`, `classIndex`). For token `n` with upstream scale `s`,
/// `p_v = exp(z_v - lse)`, target `y`, label smoothing `eps` and `V` classes:
/// `g_v = s (p_v - (1 - eps)[v = y] - eps / V) + 2 zLossScale lse s_z p_v`, times the
/// soft-capping chain factor `1 - (z_v / c)^2`; ignored tokens have `g = 0`. The target entry
/// is computed as `expm1(-nll)` (no cancellation as `p_y -> 1`).
///
/// With 16-bit storage the class block's classifier and bias gradients are summed in the
/// scratch (zeroed at token block 0) and rounded into `S` after the last token block, so the
/// caller runs a class block's tiles on one thread in token block order.
func linearBackwardTile<S: KernelStorage>(
  _ b: LinearCrossEntropyBatch<S>, _ tokenIndex: Int, _ classIndex: Int, _ scratch: UnsafeMutablePointer<Float>
) where S.Arithmetic == Float {
  let s = LinearScratch(base: scratch, dimension: b.dimension)
  let tokens = Block(tokenIndex, size: linearTokenBlock, total: b.tokens)
  let classes = Block(classIndex, size: linearClassBlock, total: b.classes)
  let d = b.dimension
  // Where this tile's classifier and bias gradients go (rows `dC + v * dCStride`).
  var dC: UnsafeMutablePointer<Float>?, dCStride = 0, dBias: UnsafeMutablePointer<Float>?
  if S.isArithmetic {
    dC = b.classifierGradient.map {
      UnsafeMutableRawPointer($0 + classes.start * b.classifierGradientStride).assumingMemoryBound(to: Float.self)
    }
    dCStride = b.classifierGradientStride
    dBias = b.biasGradient.map { UnsafeMutableRawPointer($0 + classes.start).assumingMemoryBound(to: Float.self) }
  } else {
    if b.classifierGradient != nil { (dC, dCStride) = (s.classifierAccumulator, d) }
    if b.biasGradient != nil { dBias = s.biasAccumulator }
    if tokenIndex == 0 {
      dC?.update(repeating: 0, count: classes.count * d)
      dBias?.update(repeating: 0, count: classes.count)
    }
  }
  defer {
    if !S.isArithmetic && (tokenIndex + 1) * linearTokenBlock >= b.tokens {
      // The class block's last token block: its sums rounded once into the caller's rows.
      if let out = b.classifierGradient, let acc = dC {
        for v in 0..<classes.count {
          narrowRow(acc + v * d, out + (classes.start + v) * b.classifierGradientStride, d)
        }
      }
      if let out = b.biasGradient, let acc = dBias { narrowRow(acc, out + classes.start, classes.count) }
    }
  }
  packEmbeddings(b, tokenIndex, tokens, s)
  logitTile(b, classIndex, classes, s)
  let lanes = Float.Vector.scalarCount
  let eps = Double(b.labelSmoothing), c = Double(b.classes)
  let scale = Double(b.gradientScale)
  withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * linearTokenBlock) { work in
    // Per token: the maximum, log-sum rounded to Float, the scale of p (its rounding of the
    // log-sum folded in) and the constant term; for ignored tokens and the padding a maximum of
    // +inf (so exp(z - m) = 0, never an overflow) and 0 scales.
    let maxima = work.baseAddress!, logSums = maxima + linearTokenBlock
    let scales = logSums + linearTokenBlock, offsets = scales + linearTokenBlock
    var largestScale: Float = 0
    for n in 0..<linearTokenBlock {
      let t = tokens.start + n
      guard n < tokens.count, b.targets[t] != b.ignoreIndex else {
        (maxima[n], logSums[n], scales[n], offsets[n]) = (.infinity, 0, 0, 0)
        continue
      }
      let logSum = b.rowLogSum[t], lse = Double(b.rowMax[t]) + logSum
      let zTerm = 2 * Double(b.zLossScale) * lse * Double(b.zLossGradientScale)
      let (rounded, factor) = roundedLogSum(logSum, Float.self)
      (maxima[n], logSums[n]) = (b.rowMax[t], rounded)
      scales[n] = Float((scale + zTerm) * factor)
      offsets[n] = Float(-scale * eps / c)
      if !lse.isFinite { (maxima[n], logSums[n], scales[n]) = (0, 0, .nan) }
      largestScale = largestScale.isNaN || scales[n].isNaN ? .nan : max(largestScale, abs(scales[n]))
    }
    // The targets' logits, before the pass below overwrites them.
    // Token n's target row in this class block, or nil.
    @inline(__always)
    func targetRow(_ n: Int) -> Int? {
      let y = b.targets[tokens.start + n]
      return y != b.ignoreIndex && y >= classes.start && y < classes.start + classes.count ? y - classes.start : nil
    }
    let targetLogits = offsets + linearTokenBlock
    for n in 0..<tokens.count {
      if let row = targetRow(n) { targetLogits[n] = s.tile[row * linearTokenBlock + n] }
    }
    let cap = b.softcap
    let inverseCap = Float.Vector(repeating: cap > 0 ? 1 / cap : 0), one = Float.Vector(repeating: 1)
    var largest = Float.Vector()
    var q = 0
    while q < linearTokenBlock {
      let m = load(maxima + q), l = load(logSums + q), a = load(scales + q), o = load(offsets + q)
      // Ignored tokens and the padding (maximum +inf) get 0, whatever their logits: a NaN or
      // +inf logit of an ignored token would otherwise give 0 x NaN.
      let ignored = m .== Float.Vector(repeating: .infinity)
      for v in 0..<classes.count {
        let p = s.tile + v * linearTokenBlock + q
        let z = load(p)
        var g = Float.fma(a, Float.expShifted(z, minus: m, minus: l), o)
        if cap > 0 {
          let r = z * inverseCap
          g *= Float.fma(-r, r, one)
        }
        g.replace(with: 0, where: ignored)
        store(g, p)
        largest = Float.vmax(largest, Float.vmax(g, -g))
      }
      q += lanes
    }
    for n in 0..<tokens.count {
      guard let row = targetRow(n) else { continue }
      let z = targetLogits[n]
      let t = tokens.start + n
      let logSum = b.rowLogSum[t], lse = Double(b.rowMax[t]) + logSum
      let zTerm = 2 * Double(b.zLossScale) * lse * Double(b.zLossGradientScale)
      let nll = lse.isFinite ? (Double(b.rowMax[t]) - Double(z)) + logSum : .nan
      var g = scale * (1 - eps) * expm1(-nll) + (scale * eps + zTerm) * exp(-nll) - scale * eps / c
      if cap > 0 {
        let r = Double(z) / Double(cap)
        g *= 1 - r * r
      }
      s.tile[row * linearTokenBlock + n] = Float(g)
      largest = Float.vmax(largest, Float.Vector(repeating: abs(Float(g))))
    }
    // Gradient filtering: a tile whose entries are all negligible adds nothing.
    // (Never a tile with a NaN token: `largestScale` is then NaN and the comparison false.)
    if b.gradientFilter > 0, horizontalMax(largest) < b.gradientFilter * largestScale { return }
    if let dC {
      accumulateProduct(
        rows: classes.count, width: d, depth: tokens.count, a: s.tile,
        rowStride: linearTokenBlock, depthStride: 1, panels: s.embeddingPanels,
        out: dC, outStride: dCStride, tail: s.tail)
    }
    if let dE = b.embeddingsGradient {
      for v in 0..<classes.count {
        let row = s.tile + v * linearTokenBlock
        for n in 0..<tokens.count { s.tokenMajor[n * linearClassBlock + v] = row[n] }
      }
      let (c, stride) = classifierRows(b, classIndex, classes, s)
      packPanels(c, srcStride: stride, depth: classes.count, width: d, into: s.classifierPanels)
      accumulateProduct(
        rows: tokens.count, width: d, depth: classes.count, a: s.tokenMajor,
        rowStride: linearClassBlock, depthStride: 1, panels: s.classifierPanels,
        out: dE + tokens.start * b.embeddingsGradientStride, outStride: b.embeddingsGradientStride,
        tail: s.tail)
    }
    if let dBias {
      for v in 0..<classes.count {
        let row = s.tile + v * linearTokenBlock
        var sum = Float.Vector()
        q = 0
        while q < linearTokenBlock {
          sum += load(row + q)
          q += lanes
        }
        dBias[v] += Float.horizontalSum(sum)
      }
    }
  }
}
