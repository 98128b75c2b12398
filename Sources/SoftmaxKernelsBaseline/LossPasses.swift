// Vector passes of the loss kernels (cross-entropy, spherical Z-loss, StableMax), in the loop
// style of RowPasses.swift: one explicit loop over full vectors and one padded partial vector.

/// The selects StableMax needs, implemented concretely (generic SIMD comparisons compile to
/// scalar loops; see `KernelFloat.vmax`).
protocol KernelFloatLoss: KernelFloat {
  /// `s(x) = x + 1` for `x >= 0`, `1 / (1 - x)` for `x < 0` (Prieto et al. 2025).
  static func stableMaxS(_ x: Vector) -> Vector
  /// `s'(x) = 1` for `x >= 0`, `1 / (1 - x)^2` for `x < 0`.
  static func stableMaxDerivative(_ x: Vector) -> Vector
  /// Soft-capping `c tanh(x / c)`, with `tanh(u) = sign(u) (-e) / (2 + e)`,
  /// `e = expm1(-2 |u|)`: no cancellation for small `u`; `x = +-inf` gives `+-c`.
  static func softcap(_ x: Vector, cap c: Self) -> Vector
}

extension Float: KernelFloatLoss {
  @inline(always)
  static func softcap(_ x: Vector, cap c: Float) -> Vector {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-87, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let v = (magnitude * Vector(repeating: -2)).replacing(
      with: Vector(repeating: -87), where: magnitude .> Vector(repeating: 43.5))
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD16<UInt32>.self) &<< 23, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(v, n)
    let e = fma(t * s, polynomial(t), s - Vector(repeating: 1))
    let tanhMagnitude = -e / (e + Vector(repeating: 2))
    let signed = tanhMagnitude.replacing(with: -tanhMagnitude, where: u .< Vector())
    return signed * Vector(repeating: c)
  }

  @inline(always)
  static func stableMaxS(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    return (one / (one - x)).replacing(with: x + one, where: x .>= Vector())
  }
  @inline(always)
  static func stableMaxDerivative(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    let r = one / (one - x)
    return (r * r).replacing(with: one, where: x .>= Vector())
  }
}

extension Double: KernelFloatLoss {
  @inline(always)
  static func softcap(_ x: Vector, cap c: Double) -> Vector {
    let u = x * Vector(repeating: 1 / c)
    let magnitude = u.replacing(with: -u, where: u .< Vector())
    // expm1(v) for v in [-700, 0]: e^v - 1 = (s - 1) + s t p(t) with the exp's reduction
    // (s = 2^n exact, s - 1 exact for n >= -24); n = 0 gives t p(t), accurate near 0.
    let v = (magnitude * Vector(repeating: -2)).replacing(
      with: Vector(repeating: -700), where: magnitude .> Vector(repeating: 350.0))
    let biased = fma(v, Vector(repeating: log2e), Vector(repeating: roundBiased))
    let s = unsafeBitCast(unsafeBitCast(biased, to: SIMD8<UInt64>.self) &<< 52, to: Vector.self)
    let n = biased - Vector(repeating: roundBiased)
    let t = reduce(v, n)
    let e = fma(t * s, polynomial(t), s - Vector(repeating: 1))
    let tanhMagnitude = -e / (e + Vector(repeating: 2))
    let signed = tanhMagnitude.replacing(with: -tanhMagnitude, where: u .< Vector())
    return signed * Vector(repeating: c)
  }

  @inline(always)
  static func stableMaxS(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    return (one / (one - x)).replacing(with: x + one, where: x .>= Vector())
  }
  @inline(always)
  static func stableMaxDerivative(_ x: Vector) -> Vector {
    let one = Vector(repeating: 1)
    let r = one / (one - x)
    return (r * r).replacing(with: one, where: x .>= Vector())
  }
}

/// `sum_i x_i`.
func sumPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += load(x + i)
      a1 += load(x + i + lanes)
      i += 2 * lanes
    }
    if i < end {
      a0 += load(x + i)
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count { total += Double(loadPartial(x + i, count - i, pad: 0).sum()) }
  return total
}

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

/// `sum_i (x_i - mean)^2` (the second pass of a two-pass variance).
func squaredDeviationPass<T: KernelFloat>(_ x: UnsafePointer<T>, _ count: Int, mean: T) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: mean)
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector()
    while i < end {
      let d = load(x + i) - vm
      a0 = T.fma(d, d, a0)
      i += lanes
    }
    total += Double(a0.sum())
  }
  if i < count {
    let d = loadPartial(x + i, count - i, pad: mean) - vm
    total += Double((d * d).sum())
  }
  return total
}

/// `dx_i = alpha + beta (x_i - center)` (the spherical-family gradient without its target
/// term). Centred on the row's mean so that `alpha` and `beta x_i` do not cancel for rows far
/// from 0; `x_i - center` is exact for close values (Sterbenz).
func affinePass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, center: T, alpha: T, beta: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vc = T.Vector(repeating: center), va = T.Vector(repeating: alpha), vb = T.Vector(repeating: beta)
  var i = 0
  while i < fullEnd {
    store(T.fma(load(x + i) - vc, vb, va), dx + i)
    i += lanes
  }
  if i < count {
    storePartial(T.fma(loadPartial(x + i, count - i, pad: center) - vc, vb, va), dx + i, count - i)
  }
}

/// Cross-entropy gradient row: `dx_i = a exp((x_i - m) - logSum) - u_i` with
/// `u_i = (b1 t_i + b2) w_i` (`t`, `w` taken as 1 where `nil`). `m` is the row's maximum, so
/// `x_i - m` is exact for close values (Sterbenz) and the row's offset never meets the
/// rounding of `lse` (before: `x_i - T(lse)` lost 1e-3 at 1e4 in Float). `logSum` is `log S`
/// rounded to `T`; the caller folds its rounding into `a`.
func crossEntropyGradientPass<T: KernelFloat>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, max m: T, logSum: T, a: T,
  b1: T, t: UnsafePointer<T>?, b2: T, w: UnsafePointer<T>?
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vm = T.Vector(repeating: m), vl = T.Vector(repeating: logSum), va = T.Vector(repeating: a)
  let vb1 = T.Vector(repeating: b1), vb2 = T.Vector(repeating: b2)
  var i = 0
  switch (t, w) {
  case (nil, nil):
    while i < fullEnd {
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -vb2), dx + i)
      i += lanes
    }
  case (nil, let w?):
    while i < fullEnd {
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -vb2 * load(w + i)), dx + i)
      i += lanes
    }
  case (let t?, nil):
    while i < fullEnd {
      let u = T.fma(vb1, load(t + i), vb2)
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -u), dx + i)
      i += lanes
    }
  case (let t?, let w?):
    while i < fullEnd {
      let u = T.fma(vb1, load(t + i), vb2) * load(w + i)
      store(T.fma(va, T.expNonPositive((load(x + i) - vm) - vl), -u), dx + i)
      i += lanes
    }
  }
  if i < count {
    let valid = count - i
    let p = T.expNonPositive((loadPartial(x + i, valid, pad: -.infinity) - vm) - vl)
    var u = vb2
    if let t { u = T.fma(vb1, loadPartial(t + i, valid, pad: 0), vb2) }
    if let w { u = u * loadPartial(w + i, valid, pad: 0) }
    storePartial(T.fma(va, p, -u), dx + i, valid)
  }
}

/// `sum_i s(x_i)`.
func stableMaxSumPass<T: KernelFloatLoss>(_ x: UnsafePointer<T>, _ count: Int) -> Double {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, T.self)
    var a0 = T.Vector(), a1 = T.Vector()
    while i + 2 * lanes <= end {
      a0 += T.stableMaxS(load(x + i))
      a1 += T.stableMaxS(load(x + i + lanes))
      i += 2 * lanes
    }
    if i < end {
      a0 += T.stableMaxS(load(x + i))
      i += lanes
    }
    total += Double((a0 + a1).sum())
  }
  if i < count {
    total += Double(T.stableMaxS(loadPartial(x + i, count - i, pad: -.infinity)).sum())
  }
  return total
}

/// `y_i = s(x_i) * scale`.
func stableMaxScalePass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: scale)
  var i = 0
  while i < fullEnd {
    store(T.stableMaxS(load(x + i)) * vs, y + i)
    i += lanes
  }
  if i < count {
    storePartial(T.stableMaxS(loadPartial(x + i, count - i, pad: 0)) * vs, y + i, count - i)
  }
}

/// `dx_i = s'(x_i) * scale` (the StableMax cross-entropy gradient without its target term).
func stableMaxGradientPass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vs = T.Vector(repeating: scale)
  var i = 0
  while i < fullEnd {
    store(T.stableMaxDerivative(load(x + i)) * vs, dx + i)
    i += lanes
  }
  if i < count {
    let d = T.stableMaxDerivative(loadPartial(x + i, count - i, pad: 0))
    storePartial(d * vs, dx + i, count - i)
  }
}

/// `y_i = c tanh(x_i / c)` (a row of soft-capped logits).
func softcapPass<T: KernelFloatLoss>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(T.softcap(load(x + i), cap: c), y + i)
    i += lanes
  }
  if i < count {
    storePartial(T.softcap(loadPartial(x + i, count - i, pad: 0), cap: c), y + i, count - i)
  }
}

/// `dx_i *= 1 - (capped_i / c)^2`, the chain factor of soft-capping.
func softcapChainPass<T: KernelFloat>(
  _ capped: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, cap c: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let inverse = T.Vector(repeating: 1 / c), one = T.Vector(repeating: 1)
  var i = 0
  while i < fullEnd {
    let r = load(capped + i) * inverse
    store(load(UnsafePointer(dx + i)) * T.fma(-r, r, one), dx + i)
    i += lanes
  }
  if i < count {
    let r = loadPartial(capped + i, count - i, pad: 0) * inverse
    let d = loadPartial(UnsafePointer(dx + i), count - i, pad: 0)
    storePartial(d * T.fma(-r, r, one), dx + i, count - i)
  }
}
