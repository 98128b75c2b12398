// Neumaier-compensated Double sums: the partial sums of windows and blocks in the kernels, and
// the reduced losses of a batch (`LossPartial`).

/// A Double sum with Neumaier's compensation: the windows' and blocks' partial sums of a row
/// add with an error near one rounding in total rather than one per window (a Double row of
/// 3e5 equal terms summed 12.7 ulp low with plain additions). Inlinable: the kernel modules add
/// to it once per window.
package struct CompensatedSum: Sendable {
  @usableFromInline var s = 0.0
  @usableFromInline var c = 0.0

  @inlinable package init(_ v: Double = 0) { s = v }

  /// The sum; an infinite or NaN running sum as it is (its compensation is then NaN: an
  /// infinite loss row made the reduced loss NaN instead of +inf).
  @inlinable package var value: Double { s.isFinite ? s + c : s }

  @inlinable package mutating func add(_ v: Double) {
    let t = s + v
    c += Swift.abs(s) >= Swift.abs(v) ? (s - t) + v : (v - t) + s
    s = t
  }

  @inlinable package mutating func add(_ o: CompensatedSum) {
    add(o.s)
    add(o.c)
  }

  /// Multiplies by `f` (a rescale by `exp(old max - new max)`).
  @inlinable package mutating func scale(_ f: Double) {
    s *= f
    c *= f
  }
}
