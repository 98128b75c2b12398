// Elementwise softplus with PyTorch's beta / threshold.

import SoftmaxKernelsCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `y_i = softplus(beta x_i) / beta`, or `x_i` where `beta x_i > threshold`.
///
/// In blocks of `softplusBlock` elements: one loop writes the smooth part, a second applies the
/// threshold while the block is in L1. (With the select in the first loop, LLVM split its
/// vectors into xmm pieces in release builds, at half the speed.) In place (`y == x`) the
/// block's input is first copied to the stack.
func softplusPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, beta: T, threshold: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  if UnsafeRawPointer(x) != UnsafeRawPointer(y) {
    return softplusBlocks(x, y, count, beta: beta, threshold: threshold, copy: nil)
  }
  withUnsafeTemporaryAllocation(of: X.self, capacity: softplusBlock) { block in
    softplusBlocks(x, y, count, beta: beta, threshold: threshold, copy: block.baseAddress!)
  }
}

/// Elements per block of `softplusPass` (4 KiB of Float, 2 KiB of a 16-bit type).
let softplusBlock = 1024

func softplusBlocks<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, beta: T, threshold: T,
  copy: UnsafeMutablePointer<X>?
) where X.Arithmetic == T, Y.Arithmetic == T {
  // With beta = 1 and e^-threshold below a quarter ulp of 1, the smooth part already rounds to
  // x wherever x > threshold (x + log1p(e^-x) with log1p(e^-x) <= e^-x < half an ulp of x):
  // the threshold loop is skipped (Float's default threshold 20; not Double's). Rounded to a
  // 16-bit output, the smooth part's Float value x rounds to the 16-bit x itself.
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
func softplusSmoothPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, beta: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SigmoidFamilyMap(
    function: .softplusSmooth, x: x, y: y, va: T.Vector(repeating: beta), vb: T.Vector(repeating: 1 / beta)))
}

/// `y_i = x_i` where `beta x_i > threshold` (the other `y_i` are read back and rewritten
/// unchanged: a value already rounded to `Y` rounds to itself).
func softplusThresholdPass<T: KernelFloatLog, X: KernelStorage, Y: KernelStorage>(
  _ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ count: Int, beta: T, threshold: T
) where X.Arithmetic == T, Y.Arithmetic == T {
  forEachVector(count, SoftplusThreshold(
    x: x, y: y, vb: T.Vector(repeating: beta), vt: T.Vector(repeating: threshold)))
}

struct SoftplusThreshold<X: KernelStorage, Y: KernelStorage>: ElementwiseBody
where X.Arithmetic: KernelFloatLog, Y.Arithmetic == X.Arithmetic {
  typealias T = X.Arithmetic
  let x: UnsafePointer<X>, y: UnsafeMutablePointer<Y>, vb: T.Vector, vt: T.Vector

  @inline(always)
  func step(_ s: some VectorSlot<T>) {
    let xv = s.read(x, pad: 0)
    s.write(T.whereGreater(xv * vb, vt, xv, s.read(UnsafePointer(y), pad: 0)), y)
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
