// The forward pass of linear + cross-entropy for one block of tokens: every class block's
// logit tile in turn, folded into an online log-sum-exp per token (Milakov & Gimelshein 2018),
// so the logits never leave the thread's scratch.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The running state of one token over the class blocks seen so far: the maximum logit `m`
/// (target included), `rest = sum exp(z_c - m)` over the classes other than the target (the
/// target's logit `zy` is kept apart, so that a dominant target's loss is `log1p(rest)` and
/// keeps its digits), and, for label smoothing, `gaps = sum_c (m - z_c) >= 0` over every class
/// (no cancellation for rows far from 0).
struct TokenState {
  var m: Float = -.infinity
  var rest: Double = 0
  var gaps: Double = 0
  var zy: Float = -.infinity
}

/// Forward pass of token block `index`: writes each token's `rowMax`, `rowLogSum` (and
/// `rowLoss`, `rowLogSumExp` when asked) and returns the block's sums (cross-entropy with label
/// smoothing; `lse^2` for the z-loss), in token order.
func linearForwardBlock<S: KernelStorage>(
  _ b: LinearCrossEntropyBatch<S>, _ index: Int, _ scratch: UnsafeMutablePointer<Float>
) -> LossPartial where S.Arithmetic == Float {
  let s = LinearScratch(base: scratch, dimension: b.dimension)
  let tokens = Block(index, size: linearTokenBlock, total: b.tokens)
  packEmbeddings(b, index, tokens, s)
  let lanes = Float.Vector.scalarCount
  let smoothing = b.labelSmoothing > 0
  return withUnsafeTemporaryAllocation(of: TokenState.self, capacity: linearTokenBlock) { states in
    states.initialize(repeating: TokenState())
    withUnsafeTemporaryAllocation(of: Float.self, capacity: linearTokenBlock) { work in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: linearTokenBlock) { sums in
        // Per token: the block's (and the running) maximum; the block's sums in Double.
        let tileMax = work.baseAddress!, blockSum = sums.baseAddress!
        var j = 0
        while j * linearClassBlock < b.classes {
          let classes = Block(j, size: linearClassBlock, total: b.classes)
          logitTile(b, j, classes, s)
          // The new maximum of each token, target included.
          var q = 0
          while q < linearTokenBlock {
            var m = Float.Vector(repeating: -.infinity)
            for v in 0..<classes.count { m = Float.vmax(m, load(s.tile + v * linearTokenBlock + q)) }
            store(m, tileMax + q)
            q += lanes
          }
          for n in 0..<tokens.count {
            tileMax[n] = max(tileMax[n], states[n].m)
          }
          if smoothing {
            // sum_v (m' - z_v) >= 0 per token, then folded into the running gaps.
            q = 0
            while q < linearTokenBlock {
              let m = load(tileMax + q)
              var low = SIMD8<Double>(), high = SIMD8<Double>()
              for v in 0..<classes.count {
                let g = m - load(s.tile + v * linearTokenBlock + q)
                low += SIMD8<Double>(g.lowHalf)
                high += SIMD8<Double>(g.highHalf)
              }
              UnsafeMutableRawPointer(blockSum + q).storeBytes(of: low, as: SIMD8<Double>.self)
              UnsafeMutableRawPointer(blockSum + q + 8).storeBytes(of: high, as: SIMD8<Double>.self)
              q += lanes
            }
            for n in 0..<tokens.count where tileMax[n] > -.infinity {
              let seen = Double(classes.start)
              let raise = seen == 0 ? 0 : seen * (Double(tileMax[n]) - Double(states[n].m))
              states[n].gaps += raise + blockSum[n]
            }
          }
          // The target's logit leaves the tile (set to -inf): it is carried as `zy`.
          for n in 0..<tokens.count {
            let y = b.targets[tokens.start + n]
            guard y >= classes.start && y < classes.start + classes.count else { continue }
            let p = s.tile + (y - classes.start) * linearTokenBlock + n
            states[n].zy = p.pointee
            p.pointee = -.infinity
          }
          // Each token's exponentials summed in Float over 8 classes at a time, those partial
          // sums in Double: in one Float per token, 255 terms just below half an ulp of the sum
          // were all rounded away (1.5e-5 relative, found by an outside review). (Converting
          // every vector to Double split the exponential into ymm halves.)
          q = 0
          while q < linearTokenBlock {
            let m = load(tileMax + q)
            var low = SIMD8<Double>(), high = SIMD8<Double>()
            var v = 0
            while v < classes.count {
              var e = Float.Vector()
              for u in v..<min(v + 8, classes.count) {
                e += Float.expShifted(load(s.tile + u * linearTokenBlock + q), minus: m)
              }
              low += SIMD8<Double>(e.lowHalf)
              high += SIMD8<Double>(e.highHalf)
              v += 8
            }
            UnsafeMutableRawPointer(blockSum + q).storeBytes(of: low, as: SIMD8<Double>.self)
            UnsafeMutableRawPointer(blockSum + q + 8).storeBytes(of: high, as: SIMD8<Double>.self)
            q += lanes
          }
          for n in 0..<tokens.count {
            let old = states[n].m, new = tileMax[n]
            guard new > -.infinity else {
              // No finite logit yet: a NaN among them must still reach the loss.
              for v in 0..<classes.count where s.tile[v * linearTokenBlock + n].isNaN { states[n].rest = .nan }
              continue
            }
            let rescale = old == new ? 1 : exp(Double(old) - Double(new))
            states[n].rest = states[n].rest * rescale + blockSum[n]
            states[n].m = new
          }
          j += 1
        }
      }
    }
    var partial = LossPartial()
    let eps = Double(b.labelSmoothing), c = Double(b.classes)
    for n in 0..<tokens.count {
      let t = tokens.start + n
      let state = states[n]
      let m = Double(state.m), zy = Double(state.zy)
      // log sum_c exp(z_c - m): log1p(rest) when the target holds the maximum.
      let logSum = zy == m ? log1p(state.rest) : log(state.rest + exp(zy - m))
      let lse = m + logSum
      b.rowMax[t] = state.m
      b.rowLogSum[t] = logSum
      b.rowLogSumExp?[t] = Float(lse)
      guard b.targets[t] != b.ignoreIndex else {
        b.rowLoss?[t] = 0
        continue
      }
      // -log p_y = (m - z_y) + logSum; NaN for a +inf or NaN logit (PyTorch).
      let nll = lse.isFinite ? (m - zy) + logSum : .nan
      var loss = (1 - eps) * nll
      if eps > 0 { loss += eps / c * (c * logSum + state.gaps) }
      partial.lossSum.add(loss)
      partial.zLossSum.add(lse * lse)
      b.rowLoss?[t] = Float(loss + Double(b.zLossScale) * lse * lse)
    }
    states.deinitialize()
    return partial
  }
}
