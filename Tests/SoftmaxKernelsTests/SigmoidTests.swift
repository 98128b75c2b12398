import Foundation
import SoftmaxKernels
import SoftmaxKernelsCore
import XCTest

/// Sigmoid, log-sigmoid, softplus and their gradients against float64 (Float) and Float80
/// (Double) references on strided sweeps of every finite input, at every supported ISA level.
/// The enforced bounds are the ones documented on `Sigmoid` and in the README.
final class SigmoidTests: SoftmaxKernelsTestCase {
  static let names = ["sigmoid", "logSigmoid", "softplus", "sigmoid'", "logSigmoid'", "softplus'"]

  /// Documented bounds, units of 2^-24 (relative; normal results) for Float.
  static func floatBound(_ function: Int, _ level: ISALevel) -> Double {
    #if arch(x86_64)
    let baseline = level == .baseline
    #else
    let baseline = false
    #endif
    // Measured with every 131st bit pattern (SIGMOID_SWEEP_STRIDE=131): baseline 4.71, 3.92,
    // 3.92, 6.36, 4.71, 4.71; x86-64-v3 4.46, 3.74, 3.74, 6.12, 4.46, 4.46.
    return baseline ? [5.5, 4.5, 4.5, 7, 5.5, 5.5][function] : [5.5, 4.5, 4.5, 7, 5.5, 5.5][function]
  }
  /// Bound on subnormal results, in units of the smallest subnormal (absolute; the exponential
  /// rounds twice there). Measured 1.38.
  static let subnormalBound = 1.5
  /// Documented bounds, units of 2^-53 for Double (measured 3.12, 2.14, 2.14, 5.18, 3.18, 3.12).
  static let doubleBound = [3.5, 2.5, 2.5, 6, 3.5, 3.5]

  /// Every `stride`-th bit pattern is tested; `SIGMOID_SWEEP_STRIDE=1` in the environment
  /// sweeps every finite float (slow in a debug test build: about 2 us per input).
  static var sweepStride: UInt32 {
    ProcessInfo.processInfo.environment["SIGMOID_SWEEP_STRIDE"].flatMap { UInt32($0) } ?? 1901
  }

  /// The six functions (`names`), in a wider type `R`.
  static func references<R: BinaryFloatingPoint & ElementaryFunctionsShim>(_ xs: [R]) -> [[R]] {
    [
      xs.map { sigRefSigmoid($0) },
      xs.map { sigRefLogSigmoid($0) },
      xs.map { sigRefSoftplus($0) },
      xs.map { sigRefSigmoid($0) * sigRefSigmoid(-$0) },
      xs.map { sigRefSigmoid(-$0) },
      xs.map { $0 > 20 ? 1 : sigRefSigmoid($0) },
    ]
  }

  /// The six functions (`names`) at `level`; the gradients with an upstream gradient of 1.
  static func outputs<T: KernelScalar>(_ xs: [T], _ level: ISALevel) -> [[T]] {
    let options = ExecutionOptions(isa: level)
    let ones = [T](repeating: 1, count: xs.count)
    return try! [
      Sigmoid.forward(xs, options: options),
      LogSigmoid.forward(xs, options: options),
      Softplus.forward(xs, options: SoftplusOptions(execution: options)),
      Sigmoid.backward(input: xs, outputGradient: ones, options: options),
      LogSigmoid.backward(input: xs, outputGradient: ones, options: options),
      Softplus.backward(input: xs, outputGradient: ones, options: SoftplusOptions(execution: options)),
    ]
  }

  func testFloatSweep() {
    var worst: [ISALevel: [UlpWorst]] = [:]
    var checked = 0
    let stride = Self.sweepStride
    sigFloatSweep(stride: stride) { xs in
      checked += xs.count
      let refs = Self.references(xs.map { Double($0) })
      forEachLevel { level in
        let outputs = Self.outputs(xs, level)
        var w = worst[level] ?? [UlpWorst](repeating: UlpWorst(), count: 6)
        for f in 0..<6 {
          for i in 0..<xs.count {
            let ref = refs[f][i]
            w[f].add(
              ulpError(outputs[f][i], ref), at: Double(xs[i]),
              subnormal: abs(ref) < Double(Float.leastNormalMagnitude) && ref != 0)
          }
        }
        worst[level] = w
      }
    }
    print("sigmoid family, Float: \(checked) inputs (every \(stride)th bit pattern, both signs)")
    for f in 0..<6 {
      forEachLevel { level in
        let w = worst[level]![f]
        print("  \(Self.names[f]) \(level): \(w)")
        XCTAssertLessThanOrEqual(w.relative, Self.floatBound(f, level), "\(Self.names[f]) \(level)")
        XCTAssertLessThanOrEqual(w.subnormal, Self.subnormalBound, "\(Self.names[f]) \(level)")
      }
    }
  }

  #if arch(x86_64)
  func testDoubleSweep() {
    let xs = sigDoubleInputs(samples: 1 << 18, seed: 5)
    let refs = Self.references(xs.map { Float80($0) })
    forEachLevel { level in
      let outputs = Self.outputs(xs, level)
      for f in 0..<6 {
        var worst = UlpWorst()
        for i in 0..<xs.count {
          let ref = refs[f][i]
          worst.add(
            ulpError(outputs[f][i], ref), at: xs[i],
            subnormal: abs(ref) < Float80(Double.leastNormalMagnitude) && ref != 0)
        }
        print("  \(Self.names[f]) Double \(level): \(worst)")
        XCTAssertLessThanOrEqual(worst.relative, Self.doubleBound[f], "\(Self.names[f]) \(level)")
        XCTAssertLessThanOrEqual(worst.subnormal, Self.subnormalBound, "\(Self.names[f]) \(level)")
      }
    }
  }
  #endif

  /// The vector log1p on [0, 1], log on every positive float and exp with gradual underflow.
  func testLogAndExpAccuracy() {
    var unit: [Float] = []
    var bits: UInt32 = 0
    while bits <= 0x3F80_0000 { unit.append(Float(bitPattern: bits)); bits += 331 }
    unit.append(1)
    var positive: [Float] = []
    bits = 0
    while bits < 0x7F80_0000 { positive.append(Float(bitPattern: bits)); bits += 1301 }
    var negative: [Float] = []
    bits = 0x8000_0000
    while bits <= 0xC2D0_0000 { negative.append(Float(bitPattern: bits)); bits += 557 }
    let cases: [(String, [Float], (Double) -> Double, KeyPath<VectorFunctionHooks<Float>, VectorFunction<Float>>, Double)] = [
      // Float log1p is a degree-10 polynomial (measured 2.36 baseline, 1.93 with FMA).
      ("log1p [0, 1]", unit, { Foundation.log1p($0) }, \.log1pUnit, 2.5),
      ("log", positive, { Foundation.log($0) }, \.log, 1.5),
      ("exp [-104, 0]", negative, { Foundation.exp($0) }, \.expNegative, 3.1),
    ]
    for (name, xs, ref, hook, bound) in cases {
      let refs = xs.map { ref(Double($0)) }
      forEachLevel { level in
        let ys = applyVectorFunction(hook, to: xs, level: level)
        var worst = UlpWorst()
        for i in 0..<xs.count {
          worst.add(ulpError(ys[i], refs[i]), at: Double(xs[i]),
                    subnormal: abs(refs[i]) < Double(Float.leastNormalMagnitude) && refs[i] != 0)
        }
        print("  \(name) Float \(level) (\(xs.count) inputs): \(worst)")
        XCTAssertLessThanOrEqual(worst.relative, bound, "\(name) \(level)")
        XCTAssertLessThanOrEqual(worst.subnormal, Self.subnormalBound, "\(name) \(level)")
      }
    }
    // log special values.
    forEachLevel { level in
      let xs: [Float] = [0, -0.0, .infinity, -1, .nan, -.infinity, 1, .leastNonzeroMagnitude]
      let ys = applyVectorFunction(\.log, to: xs, level: level, unwritten: 7)
      XCTAssertEqual(ys[0], -.infinity)
      XCTAssertEqual(ys[1], -.infinity)
      XCTAssertEqual(ys[2], .infinity)
      XCTAssertTrue(ys[3].isNaN && ys[4].isNaN && ys[5].isNaN, "\(ys)")
      XCTAssertEqual(ys[6], 0)
      XCTAssertEqual(ys[7], Float(Foundation.log(Double(Float.leastNonzeroMagnitude))), accuracy: 1e-5)
    }
    #if arch(x86_64)
    // Double: log1p on [0, 1] and log on a strided sweep, against Float80.
    var dUnit: [Double] = []
    var dbits: UInt64 = 0
    while dbits <= 0x3FF0_0000_0000_0000 { dUnit.append(Double(bitPattern: dbits)); dbits += 0x3FF0_0000_0000_0000 / 400_000 }
    dUnit += (0..<200_000).map { Double($0) / 200_000 }
    var dPositive: [Double] = []
    dbits = 1
    while dbits < 0x7FF0_0000_0000_0000 { dPositive.append(Double(bitPattern: dbits)); dbits += 0x7FF0_0000_0000_0000 / 400_000 }
    forEachLevel { level in
      for (name, xs, hook) in [("log1p [0, 1]", dUnit, \VectorFunctionHooks<Double>.log1pUnit),
                               ("log", dPositive, \VectorFunctionHooks<Double>.log)] {
        let ys = applyVectorFunction(hook, to: xs, level: level)
        var worst = UlpWorst()
        for i in 0..<xs.count {
          let ref = name == "log" ? Foundation.log(Float80(xs[i])) : Foundation.log1p(Float80(xs[i]))
          worst.add(ulpError(ys[i], ref), at: xs[i], subnormal: false)
        }
        print("  \(name) Double \(level): \(worst)")
        XCTAssertLessThanOrEqual(worst.relative, 1.5, "\(name) Double \(level)")
      }
    }
    #endif
  }

  /// Exact special values at every level, in the vector body and in the tail.
  func testSpecialValues() throws {
    let xs: [Float] = [
      .infinity, -.infinity, .nan, 0, -0.0, 3e38, -3e38, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 200, -200,
    ]
    try forEachLevel { level in
      let options = ExecutionOptions(isa: level)
      for pad in [0, 16, 23] {
        let input = [Float](repeating: 0.5, count: pad) + xs
        let s = Array(try Sigmoid.forward(input, options: options).dropFirst(pad))
        let l = Array(try LogSigmoid.forward(input, options: options).dropFirst(pad))
        let p = Array(try Softplus.forward(input, options: SoftplusOptions(execution: options)).dropFirst(pad))
        let ones = [Float](repeating: 1, count: input.count)
        let ds = Array(try Sigmoid.backward(input: input, outputGradient: ones, options: options).dropFirst(pad))
        let dl = Array(try LogSigmoid.backward(input: input, outputGradient: ones, options: options).dropFirst(pad))
        let dp = Array(try Softplus.backward(input: input, outputGradient: ones, options: SoftplusOptions(execution: options)).dropFirst(pad))
        let context = "\(level) pad \(pad)"
        XCTAssertEqual(s[0], 1, context); XCTAssertEqual(s[1], 0, context); XCTAssertTrue(s[2].isNaN, context)
        XCTAssertEqual(s[3], 0.5, context); XCTAssertEqual(s[4], 0.5, context)
        XCTAssertEqual(s[5], 1, context); XCTAssertEqual(s[6], 0, context)
        XCTAssertEqual(s[9], 1, context); XCTAssertEqual(s[10], 0, context)
        XCTAssertEqual(l[0], 0, context); XCTAssertEqual(l[1], -.infinity, context); XCTAssertTrue(l[2].isNaN, context)
        XCTAssertEqual(l[5], 0, context); XCTAssertEqual(l[6], -3e38, context); XCTAssertEqual(l[10], -200, context)
        XCTAssertEqual(p[0], .infinity, context); XCTAssertEqual(p[1], 0, context); XCTAssertTrue(p[2].isNaN, context)
        XCTAssertEqual(p[5], 3e38, context); XCTAssertEqual(p[6], 0, context); XCTAssertEqual(p[9], 200, context)
        XCTAssertEqual(p[3], Float(M_LN2), context)
        XCTAssertEqual(ds[0], 0, context); XCTAssertEqual(ds[1], 0, context); XCTAssertTrue(ds[2].isNaN, context)
        XCTAssertEqual(ds[3], 0.25, context)
        XCTAssertEqual(dl[0], 0, context); XCTAssertEqual(dl[1], 1, context); XCTAssertTrue(dl[2].isNaN, context)
        XCTAssertEqual(dp[0], 1, context); XCTAssertEqual(dp[1], 0, context); XCTAssertTrue(dp[2].isNaN, context)
        // Gradual underflow: sigmoid(-100) = e^-100 (subnormal), as PyTorch.
        let tiny = try Sigmoid.forward([Float](repeating: -100, count: pad + 1), options: options)[pad]
        XCTAssertEqual(Double(tiny), Foundation.exp(-100.0), accuracy: Double(Float.leastNonzeroMagnitude), context)
        XCTAssertGreaterThan(tiny, 0, context)
      }
    }
  }

  /// Every length around the vector width and chunk boundaries, offsets, canaries, in place,
  /// threads bit-identical to one thread.
  func testSizesInPlaceAndThreads() throws {
    var random = SeededRandom(seed: 11, stream: .xorshift64Star)
    try forEachLevel { level in
      for n in Array(0...40) + [63, 64, 65, 255, 256, 257, 1000] {
        let xs = random.row(Float.self, n, -30, 30)
        let expected = xs.map { Float(sigRefSoftplus(Double($0), beta: 0.5, threshold: 8)) }
        // Offset output with canaries on both sides.
        var out = [Float](repeating: 12345, count: n + 7)
        try xs.withUnsafeBufferPointer { x in
          try out.withUnsafeMutableBufferPointer { o in
            try Softplus.forward(x, into: UnsafeMutableBufferPointer(rebasing: o[3..<(3 + n)]), options: SoftplusOptions(beta: Double(0.5), threshold: Double(8), execution: ExecutionOptions(isa: level)))
          }
        }
        XCTAssertEqual(out[0..<3], [12345, 12345, 12345])
        XCTAssertEqual(out[(3 + n)...], [12345, 12345, 12345, 12345])
        for i in 0..<n {
          XCTAssertLessThanOrEqual(ulpError(out[3 + i], Double(expected[i])), 8, "n \(n) i \(i)")
        }
        var inPlace = xs
        try Sigmoid.forward(&inPlace, options: ExecutionOptions(isa: level))
        XCTAssertEqual(inPlace, try Sigmoid.forward(xs, options: ExecutionOptions(isa: level)))
      }
      // Threads: 2^18 + 5 elements split over 1, 2, 3 threads give identical bits.
      let big = random.row(Float.self, (1 << 18) + 5, -20, 20)
      let one = try LogSigmoid.forward(big, options: ExecutionOptions(threads: 1, isa: level))
      for t in [2, 3] {
        XCTAssertEqual(one, try LogSigmoid.forward(big, options: ExecutionOptions(threads: t, isa: level)))
      }
      // Gradient in place over the upstream gradient.
      let g = random.row(Float.self, 100, -2, 2)
      let x = random.row(Float.self, 100, -9, 9)
      var dx = g
      try x.withUnsafeBufferPointer { xp in
        try dx.withUnsafeMutableBufferPointer { d in
          try Sigmoid.backward(input: xp, outputGradient: UnsafeBufferPointer(d), into: d, options: ExecutionOptions(isa: level))
        }
      }
      XCTAssertEqual(dx, try Sigmoid.backward(input: x, outputGradient: g, options: ExecutionOptions(isa: level)))
      for i in 0..<100 {
        let ref = Double(g[i]) * sigRefSigmoid(Double(x[i])) * sigRefSigmoid(-Double(x[i]))
        XCTAssertEqual(Double(dx[i]), ref, accuracy: 1e-6 * abs(ref) + 1e-30)
      }
    }
  }

  /// Gradients by central finite differences of the forward functions (Double), with a random
  /// upstream gradient; also the output-based sigmoid gradient and softplus with beta.
  func testGradientsByFiniteDifferences() throws {
    var random = SeededRandom(seed: 3, stream: .xorshift64Star)
    let xs = (0..<50).map { _ in random.uniform(-12, 12) } + [0, 1e-3, -1e-3, 7.9, 8.1]
    let g = xs.map { _ in random.uniform(-1, 1) }
    let h = 1e-6
    let plus = xs.map { $0 + h }, minus = xs.map { $0 - h }
    try forEachLevel { level in
      let o = ExecutionOptions(isa: level)
      func check(_ name: String, _ f: ([Double]) throws -> [Double], _ grad: [Double]) rethrows {
        let fp = try f(plus), fm = try f(minus)
        for i in 0..<xs.count {
          let fd = g[i] * (fp[i] - fm[i]) / (2 * h)
          XCTAssertEqual(grad[i], fd, accuracy: 1e-7 * max(1, abs(fd)), "\(name) \(level) x = \(xs[i])")
        }
      }
      try check("sigmoid", { try Sigmoid.forward($0, options: o) },
                try Sigmoid.backward(input: xs, outputGradient: g, options: o))
      let y = try Sigmoid.forward(xs, options: o)
      let fromOutput = try y.withUnsafeBufferPointer { yp in
        try g.withUnsafeBufferPointer { gp in
          var dx = [Double](repeating: 0, count: xs.count)
          try dx.withUnsafeMutableBufferPointer { try Sigmoid.backward(output: yp, outputGradient: gp, into: $0, options: o) }
          return dx
        }
      }
      try check("sigmoid (from output)", { try Sigmoid.forward($0, options: o) }, fromOutput)
      try check("logSigmoid", { try LogSigmoid.forward($0, options: o) },
                try LogSigmoid.backward(input: xs, outputGradient: g, options: o))
      try check("softplus beta 2 threshold 16", { try Softplus.forward($0, options: SoftplusOptions(beta: Double(2), threshold: Double(16), execution: o)) },
                try Softplus.backward(input: xs, outputGradient: g, options: SoftplusOptions(beta: Double(2), threshold: Double(16), execution: o)))
    }
  }

  /// The README's sigmoid-family example, verbatim, with its commented values checked.
  func testReadmeExample() throws {
    let y = try Softplus.forward([Float](arrayLiteral: -3, 0, 25))    // [0.0486, 0.693, 25.0]
    let (bce, dx) = try BinaryCrossEntropy.lossAndGradient(
      logits: [Float](arrayLiteral: 2, -1), targets: [1, 0], posWeight: [3, 1])  // 0.347, [-0.179, 0.134]
    let cosines: [Float] = [0.9, 0.1, -0.2, 0.8]                        // 2 images x 2 texts
    let (r, ds) = try SigLIP.lossAndGradient(similarities: cosines, columns: 2)  // r.loss = 1.720
    print(y, bce.loss, dx, r.loss, r.logTemperatureGradient!, r.biasGradient!, ds)
    XCTAssertEqual(y[0], 0.048587352, accuracy: 1e-7)
    XCTAssertEqual(y[1], 0.6931472, accuracy: 1e-7)
    XCTAssertEqual(y[2], 25)
    XCTAssertEqual(bce.loss, 0.34702286, accuracy: 1e-6)
    XCTAssertEqual(dx[0], -0.17880438, accuracy: 1e-6)
    XCTAssertEqual(dx[1], 0.13447071, accuracy: 1e-6)
    XCTAssertEqual(r.loss, 1.7201596, accuracy: 1e-6)
  }

  func testErrors() throws {
    let x: [Float] = [1, 2, 3]
    assertThrows(invalid("beta")) { _ = try Softplus.forward(x, options: SoftplusOptions(beta: Double(0))) }
    assertThrows(invalid("beta")) { _ = try Softplus.forward(x, options: SoftplusOptions(beta: -.infinity)) }
    assertThrows(invalid("threshold")) { _ = try Softplus.forward(x, options: SoftplusOptions(threshold: .nan)) }
    assertThrows(invalid("threads")) { _ = try Sigmoid.forward(x, options: ExecutionOptions(threads: 0)) }
    assertThrows(.countMismatch(argument: "outputGradient", expected: 3, actual: 2)) {
      _ = try Sigmoid.backward(input: x, outputGradient: [1, 2])
    }
    // Overlap other than exact aliasing is rejected, and nothing is written.
    var buffer: [Float] = [1, 2, 3, 4, 5]
    assertUntouched(&buffer, "overlapping output") { buffer in
      buffer.withUnsafeMutableBufferPointer { b in
        assertThrows(invalid("output")) {
          try Sigmoid.forward(UnsafeBufferPointer(rebasing: b[0..<4]), into: UnsafeMutableBufferPointer(rebasing: b[1..<5]))
        }
        assertThrows(.countMismatch(argument: "output", expected: 4, actual: 3)) {
          try Sigmoid.forward(UnsafeBufferPointer(rebasing: b[0..<4]), into: UnsafeMutableBufferPointer(rebasing: b[1..<4]))
        }
      }
    }
    XCTAssertEqual(try Sigmoid.forward([Float]()), [])
  }
}
