// Softplus attention rows (LSSA / LSSAR), forward and backward, for scores, outputs and
// gradients of any storage type (intermediates in the arithmetic type `T`).

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Visible keys, `N` and the scale of row `r`.
@inline(always)
func softplusAttentionRowShape<S, O, G, T: KernelFloatLog>(
  _ batch: SoftplusAttentionBatch<S, O, G, T>, _ r: Int
) -> (visible: Int, n: T, scale: T, offset: T) {
  let query = r + batch.queryOffset
  let visible = batch.causal ? min(batch.columns, query + 1) : batch.columns
  let n = T(visible)
  let scale = batch.lengthDependentScale
    ? batch.logHeadDimension * T(log(Double(max(visible, 1)))) : batch.constantScale
  let offset: T = query < batch.offsetRows ? 0 : 1
  return (visible, n, scale, offset)
}

/// The row the intermediates of row `r` live in: the row `p` itself when its type is the
/// arithmetic type (bitwise the same type), else `scratch` (then one rounding per output at the
/// end).
@inline(always)
private func intermediates<Y: KernelStorage>(
  _ p: UnsafeMutablePointer<Y>, _ scratch: UnsafeMutablePointer<Y.Arithmetic>?
) -> UnsafeMutablePointer<Y.Arithmetic> {
  scratch ?? UnsafeMutableRawPointer(p).assumingMemoryBound(to: Y.Arithmetic.self)
}

/// LSSA / LSSAR forward over rows `rows`.
func softplusAttentionRows<X: KernelStorage, Y: KernelStorage, G, T: KernelFloatLog>(
  _ batch: SoftplusAttentionBatch<X, Y, G, T>, _ rows: Range<Int>
) where X.Arithmetic == T, Y.Arithmetic == T {
  let scratch: UnsafeMutablePointer<T>? = scratchRow(batch.columns, if: !Y.isArithmetic)
  defer { scratch?.deallocate() }
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let y = batch.output + r * batch.outputStride
    let f = intermediates(y, scratch)
    fillPass(y + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, f, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    if batch.power == 0 {
      if scratch != nil { scaleCopyPass(f, y, visible, by: k) } else { scalePass(f, visible, by: k) }
      continue
    }
    let top = reweightMaxPass(f, visible, multiplier: k * n, offset: o)
    if !(top > 0) {
      // All u_j = 0 (or the row is NaN): out = 0, or NaN for a NaN row.
      fillPass(y, visible, top.isNaN || total.isNaN ? .nan : 0)
      continue
    }
    let powered = powerSumPass(f, visible, multiplier: 1 / top, power: batch.power)
    if scratch != nil { scaleCopyPass(f, y, visible, by: T(1 / powered)) } else { scalePass(f, visible, by: T(1 / powered)) }
  }
}

/// LSSA / LSSAR backward over rows `rows`; `inputGradient` must not overlap the other buffers
/// (it holds intermediate values when its type is the arithmetic type).
func softplusAttentionBackwardRows<X: KernelStorage, O: KernelStorage, G: KernelStorage, T: KernelFloatLog>(
  _ batch: SoftplusAttentionBatch<X, O, G, T>, _ rows: Range<Int>
) where X.Arithmetic == T, O.Arithmetic == T, G.Arithmetic == T {
  guard let gBase = batch.outputGradient, let dxBase = batch.inputGradient else { return }
  let scratch: UnsafeMutablePointer<T>? = scratchRow(batch.columns, if: !G.isArithmetic)
  defer { scratch?.deallocate() }
  for r in rows {
    let (visible, n, c, o) = softplusAttentionRowShape(batch, r)
    let s = batch.scores + r * batch.scoresStride
    let out = UnsafePointer(batch.output + r * batch.outputStride)
    let h = gBase + r * batch.outputGradientStride
    let dx = dxBase + r * batch.inputGradientStride
    let f = intermediates(dx, scratch)
    fillPass(dx + visible, batch.columns - visible, 0)
    let total = softplusSumPass(s, f, visible, scale: c)
    let k = T(1 / (total + Double(batch.epsilon)))
    let d: Double
    if batch.power == 0 {
      // dA = h; D = sum h a = k sum h f.
      d = Double(k) * dotPass(h, UnsafePointer(f), visible)
      softplusInputGradientPass(s, h, dx, visible, scale: c, normaliser: k, dot: T(d))
    } else {
      let dotH = dotPass(h, out, visible)
      d = reweightBackwardPass(
        f, h, out, visible, normaliser: k, visible: n, offset: o, power: batch.power, dot: T(dotH))
      softplusInputGradientPass(s, UnsafePointer(f), dx, visible, scale: c, normaliser: k, dot: T(d))
    }
  }
}
