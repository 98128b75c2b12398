// Sums over `m - x_i` (the gaps below the row maximum) for label smoothing and probability targets.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sum_i (m - x_i)`: the row's gaps below `m` (its maximum, or any entry), each formed in `T`
/// before it is summed, so that rows far from 0 (`1e4 + U[-8, 8)`) lose nothing to cancellation
/// (`m - x_i` is exact for `x_i` in `[m/2, 2m]`, Sterbenz).
func gapSumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, from m: T) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += vm - load(x + i)
      a1 += vm - load(x + i + lanes)
      i += 2 * lanes
    }
    if i < end {
      a0 += vm - load(x + i)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count { total += Double((vm - loadPartial(x + i, count - i, pad: m)).sum()) }
  return total
}

/// `sum_i w_i (m - x_i)` (gaps as in `gapSumPass`).
func gapDotPass<T: KernelFloat>(
  _ w: UnsafePointer<T>, _ x: UnsafePointer<T>, _ count: Int, from m: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 = T.fma(load(w + i), vm - load(x + i), a0)
      a1 = T.fma(load(w + i + lanes), vm - load(x + i + lanes), a1)
      i += 2 * lanes
    }
    if i < end {
      a0 = T.fma(load(w + i), vm - load(x + i), a0)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    let v = loadPartial(w + i, count - i, pad: 0) * (vm - loadPartial(x + i, count - i, pad: m))
    total += Double(v.sum())
  }
  return total
}

/// `sum_i w_i t_i (m - x_i)` (gaps as in `gapSumPass`).
func gapTripleDotPass<T: KernelFloat>(
  _ w: UnsafePointer<T>, _ t: UnsafePointer<T>, _ x: UnsafePointer<T>, _ count: Int, from m: T
) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector()
    while i < end {
      a0 = T.fma(load(w + i) * load(t + i), vm - load(x + i), a0)
      i += lanes
    }
    total += Double(a0.sum())
  }
  if i < count {
    let v = loadPartial(w + i, count - i, pad: 0) * loadPartial(t + i, count - i, pad: 0)
      * (vm - loadPartial(x + i, count - i, pad: m))
    total += Double(v.sum())
  }
  return total
}
