// Softplus attention rows (LSSA / LSSAR), forward and backward.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Visible keys, `N` and the scale of row `r`.
@inline(always)
func softplusAttentionRowShape<T: KernelFloatLog>(
  _ batch: SoftplusAttentionBatch<T>, _ r: Int
) -> (visible: Int, n: T, scale: T, offset: T) {
  let query = r + batch.queryOffset
  let visible = batch.causal ? min(batch.columns, query + 1) : batch.columns
  let n = T(visible)
  let scale = batch.lengthDependentScale
    ? batch.logHeadDimension * T(log(Double(max(visible, 1)))) : batch.constantScale
  let offset: T = query < batch.offsetRows ? 0 : 1
  return (visible, n, scale, offset)
}

/// LSSA / LSSAR forward over rows `rows`.
func softplusAttentionRows<T: KernelFloatLog>(_ batch: SoftplusAttentionBatch<T>, _ rows: Range<Int>) {
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let y = batch.output + r * batch.outputStride
    fillPass(y + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, y, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    if batch.power == 0 {
      scalePass(y, visible, by: k)
      continue
    }
    let top = reweightMaxPass(y, visible, multiplier: k * n, offset: o)
    if !(top > 0) {
      // All u_j = 0 (or the row is NaN): out = 0, or NaN for a NaN row.
      fillPass(y, visible, top.isNaN || total.isNaN ? .nan : 0)
      continue
    }
    let powered = powerSumPass(y, visible, multiplier: 1 / top, power: batch.power)
    scalePass(y, visible, by: T(1 / powered))
  }
}

/// LSSA / LSSAR backward over rows `rows`; `inputGradient` must not overlap the other buffers
/// (it holds intermediate values).
func softplusAttentionBackwardRows<T: KernelFloatLog>(
  _ batch: SoftplusAttentionBatch<T>, _ rows: Range<Int>
) {
  guard let gBase = batch.outputGradient, let dxBase = batch.inputGradient else { return }
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let out = UnsafePointer(batch.output + r * batch.outputStride)
    let h = gBase + r * batch.outputGradientStride
    let dx = dxBase + r * batch.inputGradientStride
    fillPass(dx + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, dx, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    let d: Double
    if batch.power == 0 {
      // dA = h; D = sum h a = k sum h f.
      d = Double(k) * dotPass(h, UnsafePointer(dx), visible)
      softplusInputGradientPass(s, h, dx, visible, scale: c, normaliser: k, dot: T(d))
    } else {
      let dotH = dotPass(h, out, visible)
      d = reweightBackwardPass(
        dx, h, out, visible, normaliser: k, visible: n, offset: o, power: batch.power, dot: T(dotH))
      softplusInputGradientPass(s, UnsafePointer(dx), dx, visible, scale: c, normaliser: k, dot: T(d))
    }
  }
}
