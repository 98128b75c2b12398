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
    m0 = T.vmax(m0, load(x + i))
    m1 = T.vmax(m1, load(x + i + lanes))
    m2 = T.vmax(m2, load(x + i + 2 * lanes))
    m3 = T.vmax(m3, load(x + i + 3 * lanes))
    i += 4 * lanes
  }
  while i < fullEnd {
    m0 = T.vmax(m0, load(x + i))
    i += lanes
  }
  if i < count { m1 = T.vmax(m1, loadPartial(x + i, count - i, pad: -.infinity)) }
  return horizontalMax(T.vmax(T.vmax(m0, m1), T.vmax(m2, m3)))
}
