// Passes the tests call to measure the vector functions alone. Not used by the kernels.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func makeHooks<T: KernelFloatLog>() -> VectorFunctionHooks<T> {
  VectorFunctionHooks(
    expNonPositive: { x, y, n in expScalePass(x, y, n, max: 0, scale: 1) },
    expNegative: { x, y, n in expNegativePass(x, y, n) },
    log: { x, y, n in logPass(x, y, n) },
    log1pUnit: { x, y, n in log1pUnitPass(x, y, n) }
  )
}

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
