// The options that shape every cross-entropy's terms, checked in one place (CrossEntropy and
// LinearCrossEntropy).

/// Label smoothing, z-loss scale and soft-cap, converted to the kernels' type `T` first (the
/// converted values are the ones used) and checked there.
struct CrossEntropyTerms<T: BinaryFloatingPoint> {
  /// In [0, 1].
  let labelSmoothing: T
  /// Finite, `>= 0`.
  let zLossScale: T
  /// 0: no capping; else positive, finite, with a finite reciprocal (the kernels divide by it:
  /// a subnormal cap whose reciprocal overflows would give NaN).
  let softcap: T

  init(labelSmoothing: Double, zLossScale: Double, softcap: Double?) throws(SoftmaxKernelsError) {
    self.labelSmoothing = T(labelSmoothing)
    self.zLossScale = T(zLossScale)
    guard self.labelSmoothing >= 0 && self.labelSmoothing <= 1 else {
      throw .invalidArgument(argument: "labelSmoothing", reason: "\(labelSmoothing) is outside [0, 1] in \(T.self)")
    }
    guard self.zLossScale.isFinite && self.zLossScale >= 0 else {
      throw .invalidArgument(argument: "zLossScale", reason: "\(zLossScale) is not a finite value >= 0 in \(T.self)")
    }
    var cap: T = 0
    if let softcap {
      cap = T(softcap)
      guard cap > 0 && cap.isFinite && (1 / cap).isFinite else {
        throw .invalidArgument(
          argument: "softcap", reason: "\(softcap) is not a positive finite value with a finite reciprocal in \(T.self)")
      }
    }
    self.softcap = cap
  }
}
