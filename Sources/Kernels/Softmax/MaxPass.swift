// The maximum of a row segment.

import SoftmaxKernelsCore

// MARK: - Max

/// `max_i x_i`, ignoring NaN; `-inf` for an empty or all `-inf`/NaN segment.
func maxPass<T: KernelFloat, X: KernelStorage>(_ x: UnsafePointer<X>, _ count: Int) -> T where X.Arithmetic == T {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var m0 = T.Vector(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
  var i = 0
  while i + 4 * lanes <= fullEnd {
    // Pairs: the maximum does not depend on the order (`KernelStorage.loadWidenedPair`).
    let (v0, v1) = X.loadWidenedPair(x + i), (v2, v3) = X.loadWidenedPair(x + i + 2 * lanes)
    m0 = T.vmax(m0, v0)
    m1 = T.vmax(m1, v1)
    m2 = T.vmax(m2, v2)
    m3 = T.vmax(m3, v3)
    i += 4 * lanes
  }
  while i < fullEnd {
    m0 = T.vmax(m0, load(x + i))
    i += lanes
  }
  if i < count { m1 = T.vmax(m1, loadPartial(x + i, count - i, pad: -.infinity)) }
  return horizontalMax(T.vmax(T.vmax(m0, m1), T.vmax(m2, m3)))
}
