// Gradients (../shared/SPEC.md §2.6): softmaxBackward and logSoftmaxBackward against the Double
// reference (atol 1e-7 + rtol 1e-5 for Float, §7.4), finite differences of the forward
// functions, the fully-masked-row policy, in place, strides, and a long row split over threads.

import Foundation
import SoftmaxKernels
import XCTest

final class BackwardTests: SoftmaxKernelsTestCase {
  static let sizes = Array(1...33) + [100, 1000, 4097, 10_000]

  /// `|dx - ref| <= atol + rtol |ref|` for every element, or a description of the worst one.
  static func gradientMismatch<T: KernelScalar>(_ dx: [T], _ ref: [Double]) -> String? {
    let (atol, rtol) = Bounds.gradient(T.self)
    var worst = Worst()
    for i in ref.indices {
      let v = Double(dx[i]), r = ref[i]
      worst.update(toleranceRatio(v, r, atol: atol, rtol: rtol), i, v, r)
    }
    return worst.error <= 1 ? nil : "worst element \(worst.index): got \(worst.value), reference \(worst.reference) (atol \(atol), rtol \(rtol))"
  }

  // MARK: - Either backward pass: softmax's, or log-softmax's when `log`

  static func name(log: Bool) -> String { log ? "logSoftmaxBackward" : "softmaxBackward" }

  /// The forward output the backward pass starts from: softmax, or log-softmax when `log`.
  static func forwardOutput<T: KernelScalar>(
    log: Bool, _ x: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    log ? try LogSoftmax.forward(x, columns: columns, options: options) : try Softmax.forward(x, columns: columns, options: options)
  }

  /// The array entry point of the backward pass.
  static func backward<T: KernelScalar>(
    log: Bool, output y: [T], gradient g: [T], columns: Int? = nil, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    log
      ? try LogSoftmax.backward(output: y, outputGradient: g, columns: columns, options: options)
      : try Softmax.backward(output: y, outputGradient: g, columns: columns, options: options)
  }

  /// The buffer entry point of the backward pass, with a stride for each buffer.
  static func backward<T: KernelScalar>(
    log: Bool, rows: Int, columns: Int, output y: UnsafeBufferPointer<T>, outputRowStride: Int,
    outputGradient g: UnsafeBufferPointer<T>, outputGradientRowStride: Int,
    inputGradient dx: UnsafeMutableBufferPointer<T>, inputGradientRowStride: Int
  ) throws(SoftmaxKernelsError) {
    if log {
      try LogSoftmax.backward(output: Rows(y, rows: rows, columns: columns, rowStride: outputRowStride), outputGradient: Rows(g, rows: rows, columns: columns, rowStride: outputGradientRowStride), into: MutableRows(dx, rows: rows, columns: columns, rowStride: inputGradientRowStride))
    } else {
      try Softmax.backward(output: Rows(y, rows: rows, columns: columns, rowStride: outputRowStride), outputGradient: Rows(g, rows: rows, columns: columns, rowStride: outputGradientRowStride), into: MutableRows(dx, rows: rows, columns: columns, rowStride: inputGradientRowStride))
    }
  }

  /// The float64 reference of the backward pass of one row.
  static func reference<T: KernelScalar>(log: Bool, output y: [T], gradient g: [T]) -> [Double] {
    log
      ? Reference.logSoftmaxBackward(output: y.doubles, gradient: g.doubles)
      : Reference.softmaxBackward(output: y.doubles, gradient: g.doubles)
  }

  /// The backward pass of `y` and `g` with `options` against `reference`.
  func checkBackward<T: KernelScalar>(
    log: Bool, output y: [T], gradient g: [T], reference: [Double], options: SoftmaxOptions,
    _ context: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    guard let dx = noThrow(context, file: file, line: line, { () throws(SoftmaxKernelsError) in
      try Self.backward(log: log, output: y, gradient: g, options: options)
    }) else { return }
    if let m = Self.gradientMismatch(dx, reference) { XCTFail("\(context): \(m)", file: file, line: line) }
  }

  // MARK: - Against the reference

  func testSoftmaxBackwardMatchesReference() {
    forEachScalarType { againstReference($0, log: false) }
  }

  func testLogSoftmaxBackwardMatchesReference() {
    forEachScalarType { againstReference($0, log: true) }
  }

  func againstReference<T: KernelScalar>(_: T.Type, log: Bool) {
    var rng = SeededRandom(seed: log ? 31 : 32)
    for n in Self.sizes {
      let x: [T] = rng.row(T.self, n, -8, 8)
      let g: [T] = rng.row(T.self, n, -1, 1)
      // The forward output the gradient is computed from (its own accuracy is tested elsewhere).
      guard let y = noThrow("forward", { () throws(SoftmaxKernelsError) in try Self.forwardOutput(log: log, x) })
      else { continue }
      let ref = Self.reference(log: log, output: y, gradient: g)
      forEachLevel { level in
        let options = SoftmaxOptions(execution: ExecutionOptions(isa: level))
        checkBackward(
          log: log, output: y, gradient: g, reference: ref, options: options,
          "\(Self.name(log: log)) \(typeName(T.self)) \(describe(options)) C=\(n)")
      }
    }
  }

  // MARK: - Finite differences

  /// The gradients of `f(x) = sum g_i softmax(x)_i` and `sum g_i logSoftmax(x)_i` by central
  /// differences, against the backward functions applied to the forward output; and the
  /// gradient of log-sum-exp, which is softmax. Double, n = 5 and 17, every algorithm and level.
  func testFiniteDifferences() {
    var rng = SeededRandom(seed: 33)
    let h = 1e-5
    for n in [5, 17] {
      let x: [Double] = rng.row(Double.self, n, -3, 3)
      let g: [Double] = rng.row(Double.self, n, -1, 1)
      forEachAlgorithmAndLevel { options in
        let context = "\(describe(options)) n=\(n)"
        func f(_ v: [Double], _ op: Operation) -> Double {
          switch op {
          case .softmax: return zip(g, noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.forward(v, options: options) } ?? []).reduce(0) { $0 + $1.0 * $1.1 }
          case .logSoftmax: return zip(g, noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(v, options: options) } ?? []).reduce(0) { $0 + $1.0 * $1.1 }
          case .logSumExp: return noThrow(context) { () throws(SoftmaxKernelsError) in try LogSumExp.forward(v, options: options) } ?? .nan
          }
        }
        guard let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: options) }),
          let z = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, options: options) }),
          let dSoftmax = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.backward(output: y, outputGradient: g, options: options) }),
          let dLog = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: z, outputGradient: g, options: options) })
        else { return }
        let analytic: [Operation: [Double]] = [.softmax: dSoftmax, .logSoftmax: dLog, .logSumExp: y]
        for op in [Operation.softmax, .logSoftmax, .logSumExp] {
          for j in 0..<n {
            var plus = x, minus = x
            plus[j] += h
            minus[j] -= h
            let numeric = (f(plus, op) - f(minus, op)) / (2 * h)
            // Central differences: O(h^2) truncation, about 1e-16 / h rounding.
            XCTAssertEqual(
              analytic[op]![j], numeric, accuracy: 1e-8 + 1e-6 * abs(numeric),
              "d\(op)/dx[\(j)], \(context): analytic \(analytic[op]![j]), finite difference \(numeric)")
          }
        }
      }
    }
  }

  // MARK: - Fully masked rows

  func testFullyMaskedRowGradients() {
    for n in [1, 5, 17, 37] {
      var rng = SeededRandom(seed: 34 + UInt64(n))
      let g: [Float] = rng.row(Float.self, n, -1, 1)
      let masked = [Float](repeating: -.infinity, count: n)
      forEachLevel { level in
        let zero = SoftmaxOptions(fullyMaskedRowIsZero: true, execution: ExecutionOptions(isa: level))
        let plain = SoftmaxOptions(execution: ExecutionOptions(isa: level))
        let context = "n=\(n) isa=\(level)"
        // logSoftmaxBackward with z all -inf: 0 with the policy, g - exp(-inf) sum g = g without.
        XCTAssertEqual(
          noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: masked, outputGradient: g, options: zero) },
          [Float](repeating: 0, count: n), "fullyMaskedRowIsZero, \(context)")
        XCTAssertEqual(
          noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: masked, outputGradient: g, options: plain) },
          g, "default policy, \(context)")
        // Forward then backward: zeros with the policy, NaN without (PyTorch).
        let x = [Float](repeating: -.infinity, count: n)
        if let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: zero) }),
          let z = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, options: zero) })
        {
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.backward(output: y, outputGradient: g, options: zero) }, [Float](repeating: 0, count: n), context)
          XCTAssertEqual(noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: z, outputGradient: g, options: zero) }, [Float](repeating: 0, count: n), context)
        }
        if let y = noThrow(context, { () throws(SoftmaxKernelsError) in try Softmax.forward(x, options: plain) }),
          let z = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(x, options: plain) })
        {
          XCTAssertTrue(noThrow(context) { () throws(SoftmaxKernelsError) in try Softmax.backward(output: y, outputGradient: g, options: plain) }?.allSatisfy(\.isNaN) ?? false, context)
          XCTAssertTrue(noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: z, outputGradient: g, options: plain) }?.allSatisfy(\.isNaN) ?? false, context)
        }
        // A batch: the masked row gets 0, the other rows the formula.
        var rows = [Float](repeating: -.infinity, count: n)
        let other: [Float] = rng.row(Float.self, n, -1, 1)
        let otherZ = noThrow(context) { () throws(SoftmaxKernelsError) in try LogSoftmax.forward(other) } ?? []
        rows += otherZ
        let gg = g + g
        if let dx = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: rows, outputGradient: gg, columns: n, options: zero) }) {
          XCTAssertEqual(Array(dx[0..<n]), [Float](repeating: 0, count: n), "masked row of a batch, \(context)")
          XCTAssertNil(Self.gradientMismatch(Array(dx[n...]), Reference.logSoftmaxBackward(output: otherZ.doubles, gradient: g.doubles)), "unmasked row of a batch, \(context)")
        }
        // A NaN in z is not a fully masked row: the formula applies (NaN there, g elsewhere).
        if n > 1 {
          var withNaN = masked
          withNaN[0] = .nan
          if let dx = noThrow(context, { () throws(SoftmaxKernelsError) in try LogSoftmax.backward(output: withNaN, outputGradient: g, options: zero) }) {
            XCTAssertTrue(dx[0].isNaN, "NaN in z, \(context): \(dx)")
            XCTAssertEqual(Array(dx[1...]), Array(g[1...]), "NaN in z, \(context)")
          }
        }
      }
    }
  }

  // MARK: - In place and strides

  func testInPlaceBackward() {
    forEachScalarType { inPlace($0) }
  }

  func inPlace<T: KernelScalar>(_: T.Type) {
    var rng = SeededRandom(seed: 35)
    let (rows, columns, stride) = (3, 37, 41)
    let x: [T] = rng.row(T.self, rows * columns, -8, 8)
    let g: [T] = rng.row(T.self, rows * columns, -1, 1)
    for log in [false, true] {
      guard let y = noThrow("", { () throws(SoftmaxKernelsError) in try Self.forwardOutput(log: log, x, columns: columns) }),
        let expected = noThrow("", { () throws(SoftmaxKernelsError) in
          try Self.backward(log: log, output: y, gradient: g, columns: columns)
        })
      else { continue }
      let name = "\(Self.name(log: log)) \(typeName(T.self))"
      XCTAssertNil(
        Self.gradientMismatch(expected, (0..<rows).flatMap { r -> [Double] in
          Self.reference(
            log: log, output: Array(y[r * columns..<(r + 1) * columns]), gradient: Array(g[r * columns..<(r + 1) * columns]))
        }), name)

      // Strided buffers with padding; dx aliasing g, then dx aliasing y.
      func strided(_ a: [T]) -> [T] {
        var b = [T](repeating: T(sentinel), count: (rows - 1) * stride + columns + 3)
        for r in 0..<rows { for c in 0..<columns { b[r * stride + c] = a[r * columns + c] } }
        return b
      }
      func dense(_ b: [T]) -> [T] { (0..<rows).flatMap { r in Array(b[r * stride..<r * stride + columns]) } }
      func padding(_ b: [T]) -> [T] {
        b.indices.filter { $0 % stride >= columns || $0 >= (rows - 1) * stride + columns }.map { b[$0] }
      }
      for aliasing in ["outputGradient", "output"] {
        var ys = strided(y), gs = strided(g)
        let call = { (yp: UnsafeBufferPointer<T>, gp: UnsafeBufferPointer<T>, dx: UnsafeMutableBufferPointer<T>) in
          _ = noThrow("\(name) dx = \(aliasing)") { () throws(SoftmaxKernelsError) in
            try Self.backward(
              log: log, rows: rows, columns: columns, output: yp, outputRowStride: stride, outputGradient: gp,
              outputGradientRowStride: stride, inputGradient: dx, inputGradientRowStride: stride)
          }
        }
        if aliasing == "outputGradient" {
          ys.withUnsafeBufferPointer { yp in gs.withUnsafeMutableBufferPointer { gp in call(yp, UnsafeBufferPointer(gp), gp) } }
          XCTAssertNil(firstDifference(dense(gs), expected), "\(name) in place over the gradient")
          XCTAssertTrue(padding(gs).allSatisfy { $0 == T(sentinel) }, "\(name) in place over the gradient wrote padding")
        } else {
          gs.withUnsafeBufferPointer { gp in ys.withUnsafeMutableBufferPointer { yp in call(UnsafeBufferPointer(yp), gp, yp) } }
          XCTAssertNil(firstDifference(dense(ys), expected), "\(name) in place over the output")
          XCTAssertTrue(padding(ys).allSatisfy { $0 == T(sentinel) }, "\(name) in place over the output wrote padding")
        }
      }
      // Three different strides, separate buffers.
      let (ysStride, gsStride, dxStride) = (columns + 1, columns + 7, columns + 4)
      func layout(_ a: [T], _ s: Int) -> [T] {
        var b = [T](repeating: T(sentinel), count: (rows - 1) * s + columns)
        for r in 0..<rows { for c in 0..<columns { b[r * s + c] = a[r * columns + c] } }
        return b
      }
      let yb = layout(y, ysStride), gb = layout(g, gsStride)
      var dxb = [T](repeating: T(sentinel), count: (rows - 1) * dxStride + columns + 2)
      yb.withUnsafeBufferPointer { yp in
        gb.withUnsafeBufferPointer { gp in
          dxb.withUnsafeMutableBufferPointer { dp in
            _ = noThrow(name) { () throws(SoftmaxKernelsError) in
              try Self.backward(
                log: log, rows: rows, columns: columns, output: yp, outputRowStride: ysStride, outputGradient: gp,
                outputGradientRowStride: gsStride, inputGradient: dp, inputGradientRowStride: dxStride)
            }
          }
        }
      }
      let got = (0..<rows).flatMap { r in Array(dxb[r * dxStride..<r * dxStride + columns]) }
      XCTAssertNil(firstDifference(got, expected), "\(name) with strides \(ysStride)/\(gsStride)/\(dxStride)")
      let pad = dxb.indices.filter { $0 % dxStride >= columns || $0 >= (rows - 1) * dxStride + columns }
      XCTAssertTrue(pad.allSatisfy { dxb[$0] == T(sentinel) }, "\(name) with strides wrote padding")
    }
  }

  // MARK: - A long row over two threads

  func testLongRowBackwardSplitOverTwoThreads() {
    let n = 1 << 20
    var rng = SeededRandom(seed: 36)
    let x: [Float] = rng.row(Float.self, n, -10, 10)
    let g: [Float] = rng.row(Float.self, n, -1, 1)
    for log in [false, true] {
      guard let y = noThrow("", { () throws(SoftmaxKernelsError) in try Self.forwardOutput(log: log, x) }) else { continue }
      let ref = Self.reference(log: log, output: y, gradient: g)
      for threads in [2, 1] {
        checkBackward(
          log: log, output: y, gradient: g, reference: ref, options: SoftmaxOptions(execution: ExecutionOptions(threads: threads)),
          "\(Self.name(log: log)) Float C=2^20 threads=\(threads)")
      }
    }
  }
}
