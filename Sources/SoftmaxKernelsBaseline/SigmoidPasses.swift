// Elementwise sigmoid, log-sigmoid, softplus and their vector-Jacobian products: one streaming
// loop of 64-byte vectors each, plus one padded partial vector (the loop style of
// RowPasses.swift; no closures, every select a `KernelFloatLog` requirement).
//
// Stable forms, with e = e^-|u| (never overflows) and
// r = 1 / (1 + e):
//   sigmoid(u)     = r for u >= 0, e r for u < 0
//   1 - sigmoid(u) = sigmoid(-u) = e r for u >= 0, r for u < 0;  sigmoid'(u) = e r^2
//   softplus(u)    = max(u, 0) + log1p(e)
//   log sigmoid(u) = min(u, 0) - log1p(e)
// e has gradual underflow, so sigmoid(-100) is the subnormal e^-100 rather than 0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

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

// MARK: - Forward

/// `y_i = sigmoid(a x_i + b)`.
func sigmoidPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, scale a: T, bias b: T
) {
  if a == 1 && b == 0 { return plainSigmoidPass(x, y, count) }
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

/// `y_i = sigmoid(x_i)` (the plain sigmoid: no multiply-add per vector).
func plainSigmoidPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    store(sigmoidVector(T.self, load(x + i)), y + i)
    i += lanes
  }
  if i < count {
    storePartial(sigmoidVector(T.self, loadPartial(x + i, count - i, pad: 0)), y + i, count - i)
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
///
/// In blocks of `softplusBlock` elements: one loop writes the smooth part, a second applies the
/// threshold while the block is in L1. (With the select in the first loop, LLVM split its
/// vectors into xmm pieces in release builds, at half the speed.) In place (`y == x`) the
/// block's input is first copied to the stack.
func softplusPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, beta: T, threshold: T
) {
  if UnsafeRawPointer(x) != UnsafeRawPointer(y) {
    return softplusBlocks(x, y, count, beta: beta, threshold: threshold, copy: nil)
  }
  withUnsafeTemporaryAllocation(of: T.self, capacity: softplusBlock) { block in
    softplusBlocks(x, y, count, beta: beta, threshold: threshold, copy: block.baseAddress!)
  }
}

/// Elements per block of `softplusPass` (4 KiB of Float).
let softplusBlock = 1024

func softplusBlocks<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, beta: T, threshold: T,
  copy: UnsafeMutablePointer<T>?
) {
  // With beta = 1 and e^-threshold below a quarter ulp of 1, the smooth part already rounds to
  // x wherever x > threshold (x + log1p(e^-x) with log1p(e^-x) <= e^-x < half an ulp of x):
  // the threshold loop is skipped (Float's default threshold 20; not Double's).
  let thresholdMatters = !(beta == 1 && T(exp(-Double(threshold))) < T.ulpOfOne / 4)
  var start = 0
  while start < count {
    let n = min(softplusBlock, count - start)
    var input = x + start
    if let copy {
      copy.update(from: input, count: n)
      input = UnsafePointer(copy)
    }
    softplusSmoothPass(input, y + start, n, beta: beta)
    if thresholdMatters {
      softplusThresholdPass(input, y + start, n, beta: beta, threshold: threshold)
    }
    start += n
  }
}

/// `y_i = softplus(beta x_i) / beta` (no threshold).
func softplusSmoothPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, beta: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vb = T.Vector(repeating: beta), vi = T.Vector(repeating: 1 / beta)
  var i = 0
  while i < fullEnd {
    store(softplusSmooth(T.self, load(x + i), vb, vi), y + i)
    i += lanes
  }
  if i < count {
    storePartial(softplusSmooth(T.self, loadPartial(x + i, count - i, pad: 0), vb, vi), y + i, count - i)
  }
}

/// `y_i = x_i` where `beta x_i > threshold`.
func softplusThresholdPass<T: KernelFloatLog>(
  _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int, beta: T, threshold: T
) {
  let lanes = T.Vector.scalarCount
  let fullEnd = count - count % lanes
  let vb = T.Vector(repeating: beta), vt = T.Vector(repeating: threshold)
  var i = 0
  while i < fullEnd {
    let xv = load(x + i)
    store(T.whereGreater(xv * vb, vt, xv, load(UnsafePointer(y + i))), y + i)
    i += lanes
  }
  if i < count {
    let xv = loadPartial(x + i, count - i, pad: 0)
    let v = T.whereGreater(xv * vb, vt, xv, loadPartial(UnsafePointer(y + i), count - i, pad: 0))
    storePartial(v, y + i, count - i)
  }
}

/// `softplus(beta x) / beta` without the threshold.
@inline(always)
func softplusSmooth<T: KernelFloatLog>(
  _: T.Type, _ x: T.Vector, _ beta: T.Vector, _ inverseBeta: T.Vector
) -> T.Vector {
  let u = x * beta
  let e = T.expNegativeGradual(T.negativeAbs(u))
  return (T.vmax(u, T.Vector()) + T.log1pUnit(e)) * inverseBeta
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
