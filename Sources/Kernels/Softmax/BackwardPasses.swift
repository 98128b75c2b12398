// The passes of the softmax and log-softmax vector-Jacobian products.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Backward

/// `sum_i g_i y_i`.
func dotPass<T: KernelFloat>(_ g: UnsafePointer<T>, _ y: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 = T.fma(load(g + i), load(y + i), a0)
      a1 = T.fma(load(g + i + lanes), load(y + i + lanes), a1)
      i += 2 * lanes
    }
    if i < end {
      a0 = T.fma(load(g + i), load(y + i), a0)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    let v = loadPartial(g + i, count - i, pad: 0) * loadPartial(y + i, count - i, pad: 0)
    total += Double(v.sum())
  }
  return total
}

/// `(sum_i g_i, max_i z_i)`.
func sumAndMaxPass<T: KernelFloat>(
  _ g: UnsafePointer<T>, _ z: UnsafePointer<T>, _ count: Int
) -> (sum: Double, max: T) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var m = T.Vector(repeating: -.infinity)
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += load(g + i)
      a1 += load(g + i + lanes)
      m = T.vmax(T.vmax(m, load(z + i)), load(z + i + lanes))
      i += 2 * lanes
    }
    if i < end {
      a0 += load(g + i)
      m = T.vmax(m, load(z + i))
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    total += Double(loadPartial(g + i, count - i, pad: 0).sum())
    m = T.vmax(m, loadPartial(z + i, count - i, pad: -.infinity))
  }
  return (total, horizontalMax(m))
}

/// Softmax VJP: `dx_i = y_i (g_i - dot)`.
func softmaxBackwardPass<T: KernelFloat>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  dot: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vd = T.Vector(repeating: dot)
  var i = 0
  while i < fullEnd {
    store(load(y + i) * (load(g + i) - vd), dx + i)
    i += lanes
  }
  if i < count {
    let v = loadPartial(y + i, count - i, pad: 0) * (loadPartial(g + i, count - i, pad: 0) - vd)
    storePartial(v, dx + i, count - i)
  }
}

/// Log-softmax VJP: `dx_i = g_i - exp(z_i) sum`.
func logSoftmaxBackwardPass<T: KernelFloat>(
  _ z: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  sum: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: -sum)
  var i = 0
  while i < fullEnd {
    store(T.fma(T.expNonPositive(load(z + i)), vs, load(g + i)), dx + i)
    i += lanes
  }
  if i < count {
    let e = T.expNonPositive(loadPartial(z + i, count - i, pad: -.infinity))
    storePartial(T.fma(e, vs, loadPartial(g + i, count - i, pad: 0)), dx + i, count - i)
  }
}
