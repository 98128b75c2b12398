// The sigmoid family (sigmoid, log-sigmoid, softplus and their gradients) on 16-bit values
// (Float16, BFloat16): every 16-bit input against the Float kernel on the widened input and a
// float64 reference, at every ISA level; forms, in place, threads, special values, errors.

import Foundation
import SoftmaxKernels
import XCTest

final class HalfPrecisionSigmoidTests: SoftmaxKernelsTestCase {
  /// A function of the family with its options.
  enum Function: CustomStringConvertible {
    case sigmoid, logSigmoid
    case softplus(beta: Float, threshold: Float)

    static let all: [Function] = [
      .sigmoid, .logSigmoid, .softplus(beta: 1, threshold: 20), .softplus(beta: 0.5, threshold: 4),
      .softplus(beta: 3, threshold: 2),
    ]

    var description: String {
      switch self {
      case .sigmoid: "sigmoid"
      case .logSigmoid: "logSigmoid"
      case let .softplus(beta, threshold): "softplus(beta: \(beta), threshold: \(threshold))"
      }
    }

    /// The float64 reference (PyTorch's definitions).
    func reference(_ x: Double) -> Double {
      switch self {
      case .sigmoid: sigRefSigmoid(x)
      case .logSigmoid: sigRefLogSigmoid(x)
      case let .softplus(beta, threshold): sigRefSoftplus(x, beta: Double(beta), threshold: Double(threshold))
      }
    }

    /// `f'(x)` in float64.
    func derivative(_ x: Double) -> Double {
      switch self {
      case .sigmoid: sigRefSigmoid(x) * sigRefSigmoid(-x)
      case .logSigmoid: sigRefSigmoid(-x)
      case let .softplus(beta, threshold): Double(beta) * x > Double(threshold) ? 1 : sigRefSigmoid(Double(beta) * x)
      }
    }

    func forward<X, Y>(_ x: UnsafeBufferPointer<X>, _ y: UnsafeMutableBufferPointer<Y>, _ e: ExecutionOptions) throws {
      switch self {
      case .sigmoid: try Self.call(x, y, e, Sigmoid.self, e)
      case .logSigmoid: try Self.call(x, y, e, LogSigmoid.self, e)
      case let .softplus(beta, threshold):
        try Self.call(x, y, e, Softplus.self, SoftplusOptions(beta: Double(beta), threshold: Double(threshold), execution: e))
      }
    }

    func backward<X, Y>(
      _ x: UnsafeBufferPointer<X>, _ g: UnsafeBufferPointer<X>, _ dx: UnsafeMutableBufferPointer<Y>, _ e: ExecutionOptions
    ) throws {
      switch self {
      case .sigmoid: try Self.callBackward(x, g, dx, Sigmoid.self, e)
      case .logSigmoid: try Self.callBackward(x, g, dx, LogSigmoid.self, e)
      case let .softplus(beta, threshold):
        try Self.callBackward(
          x, g, dx, Softplus.self, SoftplusOptions(beta: Double(beta), threshold: Double(threshold), execution: e))
      }
    }

    /// Dispatches on the element types the test uses: Float -> Float, H -> H, H -> Float.
    private static func call<X, Y, F: HalfPrecisionElementwiseFunction>(
      _ x: UnsafeBufferPointer<X>, _ y: UnsafeMutableBufferPointer<Y>, _: ExecutionOptions, _: F.Type, _ options: F.Options
    ) throws {
      if let x = x as? UnsafeBufferPointer<Float>, let y = y as? UnsafeMutableBufferPointer<Float> {
        return try F.forward(x, into: y, options: options)
      }
      try callHalf(x, y, F.self, options, BFloat16.self)
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      try callHalf(x, y, F.self, options, Float16.self)
      #endif
    }

    private static func callHalf<X, Y, F: HalfPrecisionElementwiseFunction, H: HalfPrecisionStorage>(
      _ x: UnsafeBufferPointer<X>, _ y: UnsafeMutableBufferPointer<Y>, _: F.Type, _ options: F.Options, _: H.Type
    ) throws {
      guard let x = x as? UnsafeBufferPointer<H> else { return }
      if let y = y as? UnsafeMutableBufferPointer<H> { try F.forward(x, into: y, options: options) }
      if let y = y as? UnsafeMutableBufferPointer<Float> { try F.forward(x, into: y, options: options) }
    }

    private static func callBackward<X, Y, F: HalfPrecisionElementwiseGradient>(
      _ x: UnsafeBufferPointer<X>, _ g: UnsafeBufferPointer<X>, _ dx: UnsafeMutableBufferPointer<Y>, _: F.Type,
      _ options: F.Options
    ) throws {
      if let x = x as? UnsafeBufferPointer<Float>, let g = g as? UnsafeBufferPointer<Float>,
        let dx = dx as? UnsafeMutableBufferPointer<Float>
      {
        return try F.backward(input: x, outputGradient: g, into: dx, options: options)
      }
      try callHalfBackward(x, g, dx, F.self, options, BFloat16.self)
      #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      try callHalfBackward(x, g, dx, F.self, options, Float16.self)
      #endif
    }

    private static func callHalfBackward<X, Y, F: HalfPrecisionElementwiseGradient, H: HalfPrecisionStorage>(
      _ x: UnsafeBufferPointer<X>, _ g: UnsafeBufferPointer<X>, _ dx: UnsafeMutableBufferPointer<Y>, _: F.Type,
      _ options: F.Options, _: H.Type
    ) throws {
      guard let x = x as? UnsafeBufferPointer<H>, let g = g as? UnsafeBufferPointer<H> else { return }
      if let dx = dx as? UnsafeMutableBufferPointer<H> { try F.backward(input: x, outputGradient: g, into: dx, options: options) }
      if let dx = dx as? UnsafeMutableBufferPointer<Float> {
        try F.backward(input: x, outputGradient: g, into: dx, options: options)
      }
    }
  }

  /// Every bit pattern of `H` (NaNs, infinities, subnormals and both zeros included).
  private func everyValue<H: HalfType>(_: H.Type) -> [H] { (0...UInt16.max).map { H(bits: $0) } }

  /// `f(y)` with `y` of type `Y`, run through `body` on buffers.
  private func run<X, Y>(
    _ x: [X], _ fill: Y, _ body: (UnsafeBufferPointer<X>, UnsafeMutableBufferPointer<Y>) throws -> Void
  ) rethrows -> [Y] {
    var y = [Y](repeating: fill, count: x.count)
    try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try body(xp, $0) } }
    return y
  }

  /// Forward, every 16-bit input, every function, every level: the `Float` output is bitwise the
  /// `Float` kernel's on the widened input, the 16-bit output is that value rounded once, and
  /// both are checked against float64 (16-bit: at most 1 ulp of the type).
  func testForwardOfEveryValueIsTheFloatKernelRounded() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x = everyValue(H.self)
      let widened = x.map(\.float)
      var worst = 0.0
      try forEachLevel { level in
        let e = ExecutionOptions(threads: 1, isa: level)
        for f in Function.all {
          try withFailureContext("\(f)") {
            let float = try run(widened, Float.nan) { try f.forward($0, $1, e) }
            let toFloat = try run(x, Float.nan) { try f.forward($0, $1, e) }
            let half = try run(x, H(Float.nan)) { try f.forward($0, $1, e) }
            var failures = 0
            for i in x.indices {
              let want = H(float[i])
              // NaN is NaN: its sign and payload are not part of the contract.
              let ok = (toFloat[i].bitPattern == float[i].bitPattern || (toFloat[i].isNaN && float[i].isNaN))
                && (half[i].bits == want.bits || (half[i].float.isNaN && want.float.isNaN))
              let ref = f.reference(Double(widened[i]))
              let err = H.ulpError(half[i], ref)
              if !err.isNaN { worst = max(worst, err) }
              if (!ok || !(err <= 1)) && failures < 5 {
                failures += 1
                XCTFail("x \(widened[i]): float \(float[i]) toFloat \(toFloat[i]) half \(half[i].float) ref \(ref) err \(err) ulp")
              }
            }
          }
        }
      }
      print("HalfPrecisionSigmoidTests: \(H.name) forward, worst error \(worst) ulp")
    }
  }

  /// Backward from the input, every 16-bit input with upstream gradients cycling through a set
  /// of 16-bit values: bitwise the `Float` kernel's gradient on the widened values, rounded
  /// once, and within 1 ulp of float64.
  func testBackwardOfEveryValueIsTheFloatKernelRounded() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x = everyValue(H.self)
      let upstream: [Float] = [1, -0.75, 3.5, 1e-3, -40, 0.3]
      let g = x.indices.map { H(upstream[$0 % upstream.count]) }
      let xf = x.map(\.float), gf = g.map(\.float)
      var worst = 0.0
      try forEachLevel { level in
        let e = ExecutionOptions(threads: 1, isa: level)
        for f in Function.all {
          try withFailureContext("\(f)") {
            let float = try xf.withUnsafeBufferPointer { gp in
              try run(gf, Float.nan) { try f.backward(gp, $0, $1, e) }
            }
            let toFloat = try x.withUnsafeBufferPointer { xp in try run(g, Float.nan) { try f.backward(xp, $0, $1, e) } }
            let half = try x.withUnsafeBufferPointer { xp in try run(g, H(Float.nan)) { try f.backward(xp, $0, $1, e) } }
            var failures = 0
            for i in x.indices {
              let want = H(float[i])
              // NaN is NaN: its sign and payload are not part of the contract.
              let ok = (toFloat[i].bitPattern == float[i].bitPattern || (toFloat[i].isNaN && float[i].isNaN))
                && (half[i].bits == want.bits || (half[i].float.isNaN && want.float.isNaN))
              let ref = Double(gf[i]) * f.derivative(Double(xf[i]))
              let err = H.ulpError(half[i], ref)
              if !err.isNaN { worst = max(worst, err) }
              if (!ok || !(err <= 1)) && failures < 5 {
                failures += 1
                XCTFail("x \(xf[i]) g \(gf[i]): float \(float[i]) toFloat \(toFloat[i]) half \(half[i].float) ref \(ref) err \(err) ulp")
              }
            }
          }
        }
      }
      print("HalfPrecisionSigmoidTests: \(H.name) backward, worst error \(worst) ulp")
    }
  }

  /// The sigmoid's gradient from its 16-bit output `y` (every `y` in [0, 1] of the type):
  /// `g y (1 - y)` computed in Float and rounded once.
  func testSigmoidBackwardFromOutput() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let y = everyValue(H.self).filter { $0.float >= 0 && $0.float <= 1 }
      let g = y.indices.map { H([1, -2.5, 0.125][$0 % 3]) }
      try forEachLevel { level in
        let e = ExecutionOptions(isa: level)
        let half = try Sigmoid.backward(output: y, outputGradient: g, options: e)
        var toFloat = [Float](repeating: .nan, count: y.count)
        try y.withUnsafeBufferPointer { yp in
          try g.withUnsafeBufferPointer { gp in
            try toFloat.withUnsafeMutableBufferPointer { try Sigmoid.backward(output: yp, outputGradient: gp, into: $0, options: e) }
          }
        }
        let float = try Sigmoid.backward(output: y.map(\.float), outputGradient: g.map(\.float), options: e)
        XCTAssertEqual(toFloat.map(\.bitPattern), float.map(\.bitPattern))
        XCTAssertEqual(half.map(\.bits), float.map { H($0).bits })
        for i in y.indices {
          let yd = Double(y[i].float), ref = Double(g[i].float) * yd * (1 - yd)
          XCTAssertLessThanOrEqual(H.ulpError(half[i], ref), 1, "y \(yd)")
        }
        // 1 - y is 0 once y rounds to 1: from the input the gradient stays positive.
        let x: [H] = [H(Float(10))]
        let fromOutput = try Sigmoid.backward(output: try Sigmoid.forward(x, options: e), outputGradient: [H(Float(1))], options: e)
        XCTAssertEqual(fromOutput[0].float, 0)
        XCTAssertGreaterThan(try Sigmoid.backward(input: x, outputGradient: [H(Float(1))], options: e)[0].float, 0)
      }
    }
  }

  /// The strided, `Span`, `Array` and in-place forms agree with the buffer form; threads give
  /// the bits of one thread; lengths around the vector width leave the neighbours untouched.
  func testFormsInPlaceThreadsAndLengths() throws {
    var rng = SeededRandom(seed: 2611)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        let e = ExecutionOptions(threads: 1, isa: level)
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 100, 1023, 1024, 1025, 3000] {
          let x = halfRow(H.self, n, range: 30, quantum: 64, &rng)
          let g = halfRow(H.self, n, range: 2, &rng)
          for f in Function.all {
            let want = try run(x, H(Float.nan)) { try f.forward($0, $1, e) }
            // Neighbours untouched.
            var padded = [H](repeating: H(Float(7)), count: n + 6)
            try x.withUnsafeBufferPointer { xp in
              try padded.withUnsafeMutableBufferPointer { p in
                try f.forward(xp, UnsafeMutableBufferPointer(rebasing: p[3..<(3 + n)]), e)
              }
            }
            XCTAssertEqual(padded[..<3].map(\.float) + padded[(3 + n)...].map(\.float), [Float](repeating: 7, count: 6), "\(f) n \(n)")
            XCTAssertEqual(padded[3..<(3 + n)].map(\.bits), want.map(\.bits), "\(f) n \(n)")
            // In place.
            var inPlace = x
            try inPlace.withUnsafeMutableBufferPointer { p in try f.forward(UnsafeBufferPointer(p), p, e) }
            XCTAssertEqual(inPlace.map(\.bits), want.map(\.bits), "\(f) n \(n) in place")
            // Gradient in place over either input.
            let dx = try x.withUnsafeBufferPointer { xp in try run(g, H(Float.nan)) { try f.backward(xp, $0, $1, e) } }
            var overG = g
            try x.withUnsafeBufferPointer { xp in
              try overG.withUnsafeMutableBufferPointer { p in try f.backward(xp, UnsafeBufferPointer(p), p, e) }
            }
            XCTAssertEqual(overG.map(\.bits), dx.map(\.bits), "\(f) n \(n) gradient over g")
            var overX = x
            try g.withUnsafeBufferPointer { gp in
              try overX.withUnsafeMutableBufferPointer { p in try f.backward(UnsafeBufferPointer(p), gp, p, e) }
            }
            XCTAssertEqual(overX.map(\.bits), dx.map(\.bits), "\(f) n \(n) gradient over x")
          }
          // The generic forms of one function (the others share the code).
          let s = try Sigmoid.forward(x, options: e)
          var array = x
          try Sigmoid.forward(&array, options: e)
          XCTAssertEqual(array.map(\.bits), s.map(\.bits))
          var spanOut = [H](repeating: H(Float.nan), count: n)
          var floatOut = [Float](repeating: .nan, count: n)
          var ms = spanOut.mutableSpan
          try Sigmoid.forward(x.span, into: &ms, options: e)
          var fs = floatOut.mutableSpan
          try Sigmoid.forward(x.span, into: &fs, options: e)
          _ = consume ms
          _ = consume fs
          XCTAssertEqual(spanOut.map(\.bits), s.map(\.bits))
          XCTAssertEqual(floatOut.map(\.bitPattern), try Sigmoid.forward(x.map(\.float), options: e).map(\.bitPattern))
          let dl = try LogSigmoid.backward(input: x, outputGradient: g, options: e)
          var dlSpan = [Float](repeating: .nan, count: n)
          var dls = dlSpan.mutableSpan
          try LogSigmoid.backward(input: x.span, outputGradient: g.span, into: &dls, options: e)
          _ = consume dls
          XCTAssertEqual(dl.map(\.bits), dlSpan.map { H($0).bits })
        }
        // Strided rows: 3 rows of 37 in rows of 40 (input) and 41 (output), both output types.
        let x = halfRow(H.self, 120, range: 20, &rng)
        let g = halfRow(H.self, 120, range: 2, &rng)
        var yh = [H](repeating: H(Float(9)), count: 123)
        var yf = [Float](repeating: 9, count: 123)
        var dh = [H](repeating: H(Float(9)), count: 123)
        try x.withUnsafeBufferPointer { xp in
          let rows = Rows(xp, rows: 3, columns: 37, rowStride: 40)
          try yh.withUnsafeMutableBufferPointer {
            try Softplus.forward(rows, into: MutableRows($0, rows: 3, columns: 37, rowStride: 41), options: SoftplusOptions(execution: e))
          }
          try yf.withUnsafeMutableBufferPointer {
            try LogSigmoid.forward(rows, into: MutableRows($0, rows: 3, columns: 37, rowStride: 41), options: e)
          }
          try g.withUnsafeBufferPointer { gp in
            try dh.withUnsafeMutableBufferPointer {
              try Sigmoid.backward(
                input: rows, outputGradient: Rows(gp, rows: 3, columns: 37, rowStride: 40),
                into: MutableRows($0, rows: 3, columns: 37, rowStride: 41), options: e)
            }
          }
        }
        for r in 0..<3 {
          let xr = Array(x[(40 * r)..<(40 * r + 37)]), gr = Array(g[(40 * r)..<(40 * r + 37)])
          XCTAssertEqual(yh[(41 * r)..<(41 * r + 37)].map(\.bits), try Softplus.forward(xr, options: SoftplusOptions(execution: e)).map(\.bits))
          XCTAssertEqual(Array(yf[(41 * r)..<(41 * r + 37)]), try LogSigmoid.forward(xr.map(\.float), options: e))
          XCTAssertEqual(dh[(41 * r)..<(41 * r + 37)].map(\.bits), try Sigmoid.backward(input: xr, outputGradient: gr, options: e).map(\.bits))
          if r < 2 {
            XCTAssertEqual(yh[(41 * r + 37)..<(41 * r + 41)].map(\.float), [9, 9, 9, 9])
            XCTAssertEqual(Array(yf[(41 * r + 37)..<(41 * r + 41)]), [9, 9, 9, 9])
          }
        }
        // Threads: the bits of one thread.
        let big = halfRow(H.self, (1 << 17) + 5, range: 20, &rng)
        let one = try LogSigmoid.forward(big, options: e)
        for t in [2, 3] {
          XCTAssertEqual(one.map(\.bits), try LogSigmoid.forward(big, options: ExecutionOptions(threads: t, isa: level)).map(\.bits))
        }
      }
    }
  }

  /// The documented edge cases, and NaN payloads of BFloat16 staying NaN.
  func testSpecialValues() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x: [H] = [.init(Float.infinity), .init(-Float.infinity), .init(Float.nan), .init(Float(0)), .init(Float(-0.0)),
                    .init(bits: 0x7FFF), .init(bits: 0xFF81)]
      try forEachLevel { level in
        let e = ExecutionOptions(isa: level)
        let s = try Sigmoid.forward(x, options: e).map(\.float)
        let l = try LogSigmoid.forward(x, options: e).map(\.float)
        let p = try Softplus.forward(x, options: SoftplusOptions(execution: e)).map(\.float)
        XCTAssertEqual(Array(s[0..<2]), [1, 0]); XCTAssertEqual(s[3], 0.5); XCTAssertEqual(s[4], 0.5)
        XCTAssertEqual(Array(l[0..<2]), [0, -.infinity])
        XCTAssertEqual(Array(p[0..<2]), [.infinity, 0]); XCTAssertEqual(p[3], H(Float(M_LN2)).float)
        for v in [s, l, p] { XCTAssertTrue(v[2].isNaN && v[5].isNaN && v[6].isNaN, "\(v)") }
      }
    }
  }

  /// Bad arguments throw an error naming the argument and write nothing.
  func testErrors() throws {
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      let x = [H](repeating: H(Float(1)), count: 40)
      var out = [H](repeating: H(Float(5)), count: 39)
      x.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { o in
          assertThrows(.countMismatch(argument: "output", expected: 40, actual: 39)) { try Sigmoid.forward(xp, into: o) }
          assertThrows(.countMismatch(argument: "outputGradient", expected: 40, actual: 39)) {
            try Softplus.backward(input: xp, outputGradient: UnsafeBufferPointer(o), into: o)
          }
        }
      }
      XCTAssertEqual(out.map(\.float), [Float](repeating: 5, count: 39))
      var y = [H](repeating: H(Float(5)), count: 40)
      x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { o in
          assertThrows(invalid("beta")) { try Softplus.forward(xp, into: o, options: SoftplusOptions(beta: 0)) }
          assertThrows(invalid("beta")) { try Softplus.forward(xp, into: o, options: SoftplusOptions(beta: 1e39)) }
          assertThrows(invalid("threshold")) {
            try Softplus.backward(input: xp, outputGradient: xp, into: o, options: SoftplusOptions(threshold: .nan))
          }
        }
      }
      XCTAssertEqual(y.map(\.float), [Float](repeating: 5, count: 40))
      // A Float output overlapping the 16-bit input (never in place: the types differ).
      var raw = [H](repeating: H(Float(1)), count: 64)
      raw.withUnsafeMutableBufferPointer { p in
        let input = UnsafeBufferPointer(p)
        let asFloat = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: Float.self, capacity: 32)
        defer { _ = UnsafeMutableRawPointer(p.baseAddress!).bindMemory(to: H.self, capacity: 64) }
        assertThrows(invalid("output", reasonContaining: "overlaps")) {
          try LogSigmoid.forward(UnsafeBufferPointer(rebasing: input[0..<32]), into: UnsafeMutableBufferPointer(start: asFloat, count: 32))
        }
        assertThrows(invalid("inputGradient", reasonContaining: "overlaps")) {
          try Sigmoid.backward(
            input: UnsafeBufferPointer(rebasing: input[0..<32]), outputGradient: UnsafeBufferPointer(rebasing: input[32..<64]),
            into: UnsafeMutableBufferPointer(start: asFloat + 16, count: 32))
        }
      }
      XCTAssertEqual(raw.map(\.float), [Float](repeating: 1, count: 64))
      XCTAssertThrowsError(try Sigmoid.forward(x, options: ExecutionOptions(threads: 0)))
    }
  }

  /// Sigmoid attention of 16-bit scores: the `Float` weights are bitwise those of the widened
  /// scores, the 16-bit weights those rounded once (also in place); the same for the gradient;
  /// masked scores give 0.
  func testSigmoidAttention() throws {
    var rng = SeededRandom(seed: 3011)
    for type in halfTypes { try withFailureContext(type.name) { try check(type) } }
    func check<H: HalfType>(_: H.Type) throws {
      try forEachLevel { level in
        for (rows, columns, stride) in [(1, 1, 1), (3, 17, 20), (5, 64, 64), (2, 300, 311)] {
          let options = SigmoidAttentionOptions(scale: 0.125, execution: ExecutionOptions(isa: level))
          var x = halfRow(H.self, rows * stride, range: 40, &rng)
          x[0] = H(-Float.infinity)
          let g = halfRow(H.self, rows * stride, range: 2, &rng)
          let xf = x.map(\.float), gf = g.map(\.float)
          var want = [Float](repeating: 0, count: rows * stride)
          var wantGradient = [Float](repeating: 0, count: rows * stride)
          var float = [Float](repeating: 0, count: rows * stride)
          var half = [H](repeating: H(Float(0)), count: rows * stride)
          var floatGradient = [Float](repeating: 0, count: rows * stride)
          var halfGradient = [H](repeating: H(Float(0)), count: rows * stride)
          var inPlace = x
          try xf.withUnsafeBufferPointer { xp in
            try want.withUnsafeMutableBufferPointer {
              try SigmoidAttention.forward(Rows(xp, rows: rows, columns: columns, rowStride: stride),
                into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
            }
          }
          let wantHalf = want.map { H($0) }
          try wantHalf.map(\.float).withUnsafeBufferPointer { pp in
            try gf.withUnsafeBufferPointer { gp in
              try wantGradient.withUnsafeMutableBufferPointer {
                try SigmoidAttention.backward(output: Rows(pp, rows: rows, columns: columns, rowStride: stride),
                  outputGradient: Rows(gp, rows: rows, columns: columns, rowStride: stride),
                  into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
              }
            }
          }
          try x.withUnsafeBufferPointer { xp in
            let input = Rows(xp, rows: rows, columns: columns, rowStride: stride)
            try float.withUnsafeMutableBufferPointer {
              try SigmoidAttention.forward(input, into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
            }
            try half.withUnsafeMutableBufferPointer {
              try SigmoidAttention.forward(input, into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
            }
          }
          try inPlace.withUnsafeMutableBufferPointer { p in
            let rowsOf = MutableRows(p, rows: rows, columns: columns, rowStride: stride)
            try SigmoidAttention.forward(rowsOf.readOnly, into: rowsOf, options: options)
          }
          try wantHalf.withUnsafeBufferPointer { pp in
            try g.withUnsafeBufferPointer { gp in
              let p = Rows(pp, rows: rows, columns: columns, rowStride: stride)
              let gr = Rows(gp, rows: rows, columns: columns, rowStride: stride)
              try floatGradient.withUnsafeMutableBufferPointer {
                try SigmoidAttention.backward(output: p, outputGradient: gr,
                  into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
              }
              try halfGradient.withUnsafeMutableBufferPointer {
                try SigmoidAttention.backward(output: p, outputGradient: gr,
                  into: MutableRows($0, rows: rows, columns: columns, rowStride: stride), options: options)
              }
            }
          }
          for r in 0..<rows {
            for c in 0..<columns {
              let i = r * stride + c
              XCTAssertEqual(float[i].bitPattern, want[i].bitPattern, "\(rows)x\(columns) [\(r), \(c)]")
              XCTAssertEqual(half[i].bits, wantHalf[i].bits, "\(rows)x\(columns) [\(r), \(c)]")
              XCTAssertEqual(inPlace[i].bits, wantHalf[i].bits, "in place \(rows)x\(columns) [\(r), \(c)]")
              XCTAssertEqual(floatGradient[i].bitPattern, wantGradient[i].bitPattern, "gradient [\(r), \(c)]")
              XCTAssertEqual(halfGradient[i].bits, H(wantGradient[i]).bits, "gradient [\(r), \(c)]")
            }
            for c in columns..<stride { XCTAssertEqual(half[r * stride + c].float, 0, "padding") }
          }
          XCTAssertEqual(half[0].float, 0, "a masked score")
        }
      }
    }
  }

  /// Where `e^-|x|` is subnormal (`|x| > 87.3`) the gradients carry its absolute error times the
  /// upstream gradient: within 8 units of 2^-24 relative plus `1.5 * 2^-149 * |g|` (Float), and
  /// within 1 ulp plus the same term (BFloat16, the 16-bit type that reaches it); softplus with a
  /// small `beta` adds `1.5 * 2^-149 / beta` forward. The bounds of the docs, enforced.
  func testResultsScaledUpFromSubnormalExponentials() throws {
    let smallest = Double(Float.leastNonzeroMagnitude)
    let xs: [Float] = stride(from: Float(80), through: 130, by: 0.25).flatMap { [$0, -$0] }
    let bf = xs.map { BFloat16($0) }
    let bfx = bf.map { Float($0) }
    var worstFloat = 0.0, worstHalf = 0.0
    try forEachLevel { level in
      let e = ExecutionOptions(threads: 1, isa: level)
      for g: Float in [4096, 1_048_576, 16_777_216, 3.3e38] {
        for f in Function.all {
          let gs = [Float](repeating: g, count: xs.count)
          let dx = try xs.withUnsafeBufferPointer { xp in try run(gs, Float.nan) { try f.backward(xp, $0, $1, e) } }
          let gh = [BFloat16](repeating: BFloat16(g), count: xs.count)
          let dh = try bf.withUnsafeBufferPointer { xp in try run(gh, BFloat16(Float.nan)) { try f.backward(xp, $0, $1, e) } }
          let absolute = 1.5 * smallest * Double(g)
          for i in xs.indices {
            let ref = Double(g) * f.derivative(Double(xs[i]))
            let err = Swift.abs(Double(dx[i]) - ref)
            worstFloat = max(worstFloat, err / (8 * 0x1p-24 * Swift.abs(ref) + absolute))
            XCTAssertLessThanOrEqual(err, 8 * 0x1p-24 * Swift.abs(ref) + absolute, "\(f) x \(xs[i]) g \(g): \(dx[i]) for \(ref)")
            let gb = Double(Float(BFloat16(g)))
            let refH = gb * f.derivative(Double(bfx[i]))
            let errH = Swift.abs(Double(Float(dh[i])) - refH)
            let boundH = BFloat16.ulp(at: refH) + 1.5 * smallest * gb
            worstHalf = max(worstHalf, errH / boundH)
            XCTAssertLessThanOrEqual(errH, boundH, "BFloat16 \(f) x \(bfx[i]) g \(gb): \(Float(dh[i])) for \(refH)")
          }
        }
      }
      // Softplus with a small beta: the forward result is e^-|beta x| / beta.
      for beta in [Float(1e-4), 1e-10] {
        let x = stride(from: Float(-130), through: -80, by: 0.5).map { $0 / beta }
        let y = try Softplus.forward(x, options: SoftplusOptions(beta: Double(beta), execution: e))
        for i in x.indices {
          let ref = sigRefSoftplus(Double(x[i]), beta: Double(beta))
          // The rounding of beta x to Float moves e^(beta x) by up to |beta x| units of 2^-24.
          let bound = (8 + Swift.abs(Double(beta * x[i]))) * 0x1p-24 * Swift.abs(ref) + 1.5 * smallest / Double(beta)
          XCTAssertLessThanOrEqual(Swift.abs(Double(y[i]) - ref), bound, "softplus beta \(beta) x \(x[i]): \(y[i]) for \(ref)")
        }
      }
    }
    print("HalfPrecisionSigmoidTests: subnormal exponentials, worst error / bound \(worstFloat) (Float), \(worstHalf) (BFloat16)")
  }
}
