// Neumaier-compensated Double sums for the partial sums of windows and blocks.

import SoftmaxKernelsCore

/// A Double sum with Neumaier's compensation: the windows' and blocks' partial sums of a row
/// add with an error near one rounding in total rather than one per window (a Double row of
/// 3e5 equal terms summed 12.7 ulp low with plain additions).
struct CompensatedSum {
  private var s = 0.0
  private var c = 0.0

  init(_ v: Double = 0) { s = v }

  var value: Double { s + c }

  mutating func add(_ v: Double) {
    let t = s + v
    c += Swift.abs(s) >= Swift.abs(v) ? (s - t) + v : (v - t) + s
    s = t
  }

  mutating func add(_ o: CompensatedSum) {
    add(o.s)
    add(o.c)
  }

  /// Multiplies by `f` (a rescale by `exp(old max - new max)`).
  mutating func scale(_ f: Double) {
    s *= f
    c *= f
  }
}
