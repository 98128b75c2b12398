// Passes the tests call to measure the vector functions alone. Not used by the kernels.

import SoftmaxKernelsCore

func makeHooks<T: KernelFloatLog>() -> VectorFunctionHooks<T> {
  VectorFunctionHooks(
    expNonPositive: { x, y, n in forEachVector(n, ExpNonPositiveHook(x: x, y: y)) },
    expOfNegated: { x, y, n in forEachVector(n, ExpOfNegatedHook(x: x, y: y)) },
    expNegative: { x, y, n in expNegativePass(x, y, n) },
    log: { x, y, n in logPass(x, y, n) },
    log1pUnit: { x, y, n in log1pUnitPass(x, y, n) }
  )
}

func log1pUnitPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  forEachVector(count, Log1pUnitHook(x: x, y: y))
}

func logPass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  forEachVector(count, LogHook(x: x, y: y))
}

func expNegativePass<T: KernelFloatLog>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
  forEachVector(count, ExpNegativeHook(x: x, y: y))
}

struct Log1pUnitHook<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.log1pUnit(s.read(x, pad: 0)), y) }
}

struct LogHook<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.log(s.read(x, pad: 1)), y) }
}

struct ExpNonPositiveHook<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.expNonPositive(s.read(x, pad: 0)), y) }
}

struct ExpOfNegatedHook<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.expOfNegated(s.read(x, pad: 0)), y) }
}

struct ExpNegativeHook<T: KernelFloatLog>: ElementwiseBody {
  let x: UnsafePointer<T>, y: UnsafeMutablePointer<T>

  @inline(always)
  func step(_ s: some VectorSlot<T>) { s.write(T.expNegativeGradual(s.read(x, pad: 0)), y) }
}
