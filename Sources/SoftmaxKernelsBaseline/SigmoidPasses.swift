// Elementwise sigmoid, log-sigmoid, softplus and their vector-Jacobian products: one streaming
// loop of 64-byte vectors each, plus one padded partial vector (the loop style of
// RowPasses.swift; no closures, every select a `KernelFloatLog` requirement).
//
// Stable forms (../shared/SPEC.md §1.4, §6.1, §6.2), with e = e^-|u| (never overflows) and
// r = 1 / (1 + e):
//   sigmoid(u)     = r for u >= 0, e r for u < 0
//   1 - sigmoid(u) = sigmoid(-u) = e r for u >= 0, r for u < 0;  sigmoid'(u) = e r^2
//   softplus(u)    = max(u, 0) + log1p(e)
//   log sigmoid(u) = min(u, 0) - log1p(e)
// e has gradual underflow, so sigmoid(-100) is the subnormal e^-100 rather than 0.

/// `(e^-|u|, 1 / (1 + e^-|u|))`.
@inline(always)
func sigmoidParts<T: KernelFloatLog>(_: T.Type, _ u: T.Vector) -> (e: T.Vector, r: T.Vector) {
  let e = T.expNegativeGradual(T.negativeAbs(u))
  let one = T.Vector(repeating: 1)
  return (e, one / (one + e))
}

@inline(always)
func sigmoidVector<T: KernelFloatLog>(_: T.Type, _ u: T.Vector) -> T.Vector {
  let (e, r) = sigmoidParts(T.self, u)
  return T.whereNonNegative(u, r, e * r)
}

@inline(always)
func logSigmoidVector<T: KernelFloatLog>(_: T.Type, _ u: T.Vector) -> T.Vector {
  let e = T.expNegativeGradual(T.negativeAbs(u))
  return T.vmin(u, T.Vector()) - T.log1pUnit(e)
}

/// `softplus(beta x) / beta`, or `x` where `beta x > threshold` (PyTorch's `Softplus`).
@inline(always)
func softplusVector<T: KernelFloatLog>(
  _: T.Type, _ x: T.Vector, _ beta: T.Vector, _ inverseBeta: T.Vector, _ threshold: T.Vector
) -> T.Vector {
  let u = x * beta
  let e = T.expNegativeGradual(T.negativeAbs(u))
  let sp = (T.vmax(u, T.Vector()) + T.log1pUnit(e)) * inverseBeta
  return T.whereGreater(u, threshold, x, sp)
}

// MARK: - Forward

/// `y_i = sigmoid(a x_i + b)`.
func sigmoidPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale a: T, bias b: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), vb = T.Vector(repeating: b)
  var i = 0
  while i < fullEnd {
    store(sigmoidVector(T.self, T.fma(load(x + i), va, vb)), y + i)
    i += lanes
  }
  if i < count {
    let u = T.fma(loadPartial(x + i, count - i, pad: 0), va, vb)
    storePartial(sigmoidVector(T.self, u), y + i, count - i)
  }
}

/// `y_i = log sigmoid(x_i)`.
func logSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(logSigmoidVector(T.self, load(x + i)), y + i)
    i += lanes
  }
  if i < count {
    storePartial(logSigmoidVector(T.self, loadPartial(x + i, count - i, pad: 0)), y + i, count - i)
  }
}

/// `y_i = softplus(beta x_i) / beta`, or `x_i` where `beta x_i > threshold`.
func softplusPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, beta: T, threshold: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vb = T.Vector(repeating: beta), vi = T.Vector(repeating: 1 / beta)
  let vt = T.Vector(repeating: threshold)
  var i = 0
  while i < fullEnd {
    store(softplusVector(T.self, load(x + i), vb, vi, vt), y + i)
    i += lanes
  }
  if i < count {
    storePartial(softplusVector(T.self, loadPartial(x + i, count - i, pad: 0), vb, vi, vt), y + i, count - i)
  }
}

// MARK: - Gradients

/// `dx_i = g_i a s (1 - s)`, `s = sigmoid(a x_i + b)`, evaluated as `a e r^2` (accurate also
/// where `s` rounds to 1).
func sigmoidGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  scale a: T, bias b: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), vb = T.Vector(repeating: b)
  var i = 0
  while i < fullEnd {
    let (e, r) = sigmoidParts(T.self, T.fma(load(x + i), va, vb))
    store(load(g + i) * va * (e * r * r), dx + i)
    i += lanes
  }
  if i < count {
    let (e, r) = sigmoidParts(T.self, T.fma(loadPartial(x + i, count - i, pad: 0), va, vb))
    storePartial(loadPartial(g + i, count - i, pad: 0) * va * (e * r * r), dx + i, count - i)
  }
}

/// `dx_i = g_i a y_i (1 - y_i)` from the forward output (PyTorch's `sigmoid_backward`).
func sigmoidOutputGradientPass<T: KernelFloatLog>(
  _ y: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int, scale a: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let va = T.Vector(repeating: a), one = T.Vector(repeating: 1)
  var i = 0
  while i < fullEnd {
    let yv = load(y + i)
    store(load(g + i) * va * (yv * (one - yv)), dx + i)
    i += lanes
  }
  if i < count {
    let yv = loadPartial(y + i, count - i, pad: 0)
    storePartial(loadPartial(g + i, count - i, pad: 0) * va * (yv * (one - yv)), dx + i, count - i)
  }
}

/// `dx_i = g_i sigmoid(-x_i)`.
func logSigmoidGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    let xv = load(x + i)
    let (e, r) = sigmoidParts(T.self, xv)
    store(load(g + i) * T.whereNonNegative(xv, e * r, r), dx + i)
    i += lanes
  }
  if i < count {
    let xv = loadPartial(x + i, count - i, pad: 0)
    let (e, r) = sigmoidParts(T.self, xv)
    storePartial(loadPartial(g + i, count - i, pad: 0) * T.whereNonNegative(xv, e * r, r), dx + i, count - i)
  }
}

/// `dx_i = g_i sigmoid(beta x_i)`, or `g_i` where `beta x_i > threshold`.
func softplusGradientPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ count: Int,
  beta: T, threshold: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vb = T.Vector(repeating: beta), vt = T.Vector(repeating: threshold)
  var i = 0
  while i < fullEnd {
    let u = load(x + i) * vb
    let (e, r) = sigmoidParts(T.self, u)
    let gv = load(g + i)
    store(T.whereGreater(u, vt, gv, gv * T.whereNonNegative(u, r, e * r)), dx + i)
    i += lanes
  }
  if i < count {
    let u = loadPartial(x + i, count - i, pad: 0) * vb
    let (e, r) = sigmoidParts(T.self, u)
    let gv = loadPartial(g + i, count - i, pad: 0)
    storePartial(T.whereGreater(u, vt, gv, gv * T.whereNonNegative(u, r, e * r)), dx + i, count - i)
  }
}

// MARK: - Test hooks

func log1pUnitPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(T.log1pUnit(load(x + i)), y + i)
    i += lanes
  }
  if i < count { storePartial(T.log1pUnit(loadPartial(x + i, count - i, pad: 0)), y + i, count - i) }
}

func logPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(T.log(load(x + i)), y + i)
    i += lanes
  }
  if i < count { storePartial(T.log(loadPartial(x + i, count - i, pad: 1)), y + i, count - i) }
}

func expNegativePass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(T.expNegativeGradual(load(x + i)), y + i)
    i += lanes
  }
  if i < count { storePartial(T.expNegativeGradual(loadPartial(x + i, count - i, pad: 0)), y + i, count - i) }
}
