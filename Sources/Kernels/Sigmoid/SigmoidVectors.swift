// Elementwise sigmoid, log-sigmoid, softplus and their vector-Jacobian products: one streaming
// loop of 64-byte vectors each, plus one padded partial vector (the loop style of
// Math/VectorAccess.swift; no closures, every select a `KernelFloatLog` requirement).
//
// Stable forms, with e = e^-|u| (never overflows) and
// r = 1 / (1 + e):
//   sigmoid(u)     = r for u >= 0, e r for u < 0
//   1 - sigmoid(u) = sigmoid(-u) = e r for u >= 0, r for u < 0;  sigmoid'(u) = e r^2
//   softplus(u)    = max(u, 0) + log1p(e)
//   log sigmoid(u) = min(u, 0) - log1p(e)
// e has gradual underflow, so sigmoid(-100) is the subnormal e^-100 rather than 0.

import SoftmaxKernelsCore

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
