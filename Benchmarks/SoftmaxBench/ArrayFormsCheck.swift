// A release-build client check of the library's Array forms, run before every benchmark (and
// alone with --check-arrays; CI runs it through --quick).
//
// Why here and not in XCTest: the defect it guards against shows only in an optimised client.
// With Swift 6.3.1, a temporary array argument whose values are known only at run time,
// `Sigmoid.forward([x])`, was released right after the library took its `Array.span`, and the
// kernels read freed memory (zeros came back); the test suite is built without optimisation and
// never saw it (found by an outside review, 2026-11-30). The library now reaches an array's
// memory only inside `withUnsafeBufferPointer`. Each check below passes such temporaries
// straight to an Array form and compares the result, bit for bit, with the buffer form on the
// same values bound to a `let`.

import SoftmaxKernels

/// `v`, opaque to the optimiser: the literal arrays below are built at run time.
@inline(never)
func runtimeValue<T>(_ v: T) -> T { v }

private func rf(_ v: Float) -> Float { runtimeValue(v) }
private func ri(_ v: Int) -> Int { runtimeValue(v) }

/// The failures of the Array forms (empty: all passed).
func checkArrayForms() -> [String] {
  var failures: [String] = []
  func expect(_ name: String, _ got: [Float], _ want: [Float]) {
    if got.map(\.bitPattern) != want.map(\.bitPattern) { failures.append("\(name): \(got), expected \(want)") }
  }
  func expect(_ name: String, _ got: Float, _ want: Float) { expect(name, [got], [want]) }
  do {
    let x: [Float] = [-3, 1, 2.5, -0.5], g: [Float] = [0.5, -1, 2, 0.25]
    func buffer(_ f: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> [Float] {
      var y = [Float](repeating: .nan, count: x.count)
      try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try f(xp, $0) } }
      return y
    }
    // Elementwise and row-wise functions.
    expect("Sigmoid.forward([Float])", try Sigmoid.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try buffer { try Sigmoid.forward($0, into: $1) })
    expect("Softplus.forward([Float])", try Softplus.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try buffer { try Softplus.forward($0, into: $1) })
    expect("Softmax.forward([Float])", try Softmax.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try buffer { try Softmax.forward($0, into: $1) })
    expect("LogSoftmax.forward([Float])", try LogSoftmax.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try buffer { try LogSoftmax.forward($0, into: $1) })
    expect("LogSumExp.forward([Float])", try LogSumExp.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try LogSumExp.forward(x))
    expect("LogSumExp.forward([Float], columns:)", try LogSumExp.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)], columns: 2), try LogSumExp.forward(x, columns: 2))
    var inPlace: [Float] = [rf(-3), rf(1), rf(2.5), rf(-0.5)]
    try LogSigmoid.forward(&inPlace)
    expect("LogSigmoid.forward(&[Float])", inPlace, try buffer { try LogSigmoid.forward($0, into: $1) })
    expect("Sigmoid.backward(input: [Float])",
      try Sigmoid.backward(input: [rf(-3), rf(1), rf(2.5), rf(-0.5)], outputGradient: [rf(0.5), rf(-1), rf(2), rf(0.25)]),
      try Sigmoid.backward(input: x, outputGradient: g))
    expect("Softmax.backward(output: [Float])",
      try Softmax.backward(output: [rf(0.1), rf(0.2), rf(0.3), rf(0.4)], outputGradient: [rf(0.5), rf(-1), rf(2), rf(0.25)]),
      try Softmax.backward(output: [0.1, 0.2, 0.3, 0.4], outputGradient: g))
    expect("StableMax.forward([Float])", try StableMax.forward([rf(-3), rf(1), rf(2.5), rf(-0.5)]), try buffer { try StableMax.forward($0, into: $1) })
    // Losses.
    expect("CrossEntropy.loss([Float])",
      try CrossEntropy.loss(logits: [rf(-3), rf(1), rf(2.5), rf(-0.5)], targets: [ri(1), ri(0)], columns: 2).loss,
      try CrossEntropy.loss(logits: x, targets: [1, 0], columns: 2).loss)
    let ce = try CrossEntropy.lossAndGradient(logits: x, probabilities: [0.25, 0.75, 1, 0], columns: 2)
    let ceLiteral = try CrossEntropy.lossAndGradient(
      logits: [rf(-3), rf(1), rf(2.5), rf(-0.5)], probabilities: [rf(0.25), rf(0.75), rf(1), rf(0)], columns: 2)
    expect("CrossEntropy.lossAndGradient([Float], probabilities)", [ceLiteral.result.loss] + ceLiteral.gradient, [ce.result.loss] + ce.gradient)
    expect("SphericalZLoss.loss([Float])",
      try SphericalZLoss.loss(logits: [rf(-3), rf(1), rf(2.5), rf(-0.5)], targets: [ri(1), ri(0)], columns: 2).loss,
      try SphericalZLoss.loss(logits: x, targets: [1, 0], columns: 2).loss)
    let bce = try BinaryCrossEntropy.lossAndGradient(logits: x, targets: [1, 0, 0.5, 1], weight: g)
    let bceLiteral = try BinaryCrossEntropy.lossAndGradient(
      logits: [rf(-3), rf(1), rf(2.5), rf(-0.5)], targets: [rf(1), rf(0), rf(0.5), rf(1)], weight: [rf(0.5), rf(-1), rf(2), rf(0.25)])
    expect("BinaryCrossEntropy.lossAndGradient([Float])", [bceLiteral.result.loss] + bceLiteral.gradient, [bce.result.loss] + bce.gradient)
    expect("SigLIP.loss([Float])",
      try SigLIP.loss(similarities: [rf(0.3), rf(-0.2), rf(0.1), rf(0.6)], columns: 2).loss,
      try SigLIP.loss(similarities: [0.3, -0.2, 0.1, 0.6], columns: 2).loss)
    let attentionOptions = SoftplusAttentionOptions(scale: .constant(1), causal: false)
    let p = try SoftplusAttention.forward(x, columns: 2, options: attentionOptions)
    expect("SoftplusAttention.backward([Float])",
      try SoftplusAttention.backward(
        input: [rf(-3), rf(1), rf(2.5), rf(-0.5)], output: p.map { runtimeValue($0) }, outputGradient: [rf(0.5), rf(-1), rf(2), rf(0.25)],
        columns: 2, options: attentionOptions),
      try SoftplusAttention.backward(input: x, output: p, outputGradient: g, columns: 2, options: attentionOptions))
    // 16-bit forms.
    let b = x.map { BFloat16($0) }, bg = g.map { BFloat16($0) }
    let rb = { (v: Float) in runtimeValue(BFloat16(v)) }
    expect("Sigmoid.forward([BFloat16])", try Sigmoid.forward([rb(-3), rb(1), rb(2.5), rb(-0.5)]).map { Float($0) },
      try Sigmoid.forward(b).map { Float($0) })
    expect("Softmax.forward([BFloat16])", try Softmax.forward([rb(-3), rb(1), rb(2.5), rb(-0.5)]).map { Float($0) },
      try Softmax.forward(b).map { Float($0) })
    expect("LogSigmoid.backward(input: [BFloat16])",
      try LogSigmoid.backward(input: [rb(-3), rb(1), rb(2.5), rb(-0.5)], outputGradient: [rb(0.5), rb(-1), rb(2), rb(0.25)]).map { Float($0) },
      try LogSigmoid.backward(input: b, outputGradient: bg).map { Float($0) })
    expect("CrossEntropy.loss([BFloat16])",
      try CrossEntropy.loss(logits: [rb(-3), rb(1), rb(2.5), rb(-0.5)], targets: [ri(1), ri(0)], columns: 2).loss,
      try CrossEntropy.loss(logits: b, targets: [1, 0], columns: 2).loss)
    expect("StableMaxCrossEntropy.loss([BFloat16])",
      try StableMaxCrossEntropy.loss(logits: [rb(-3), rb(1), rb(2.5), rb(-0.5)], targets: [ri(1), ri(0)], columns: 2).loss,
      try StableMaxCrossEntropy.loss(logits: b, targets: [1, 0], columns: 2).loss)
    expect("BinaryCrossEntropy.loss([BFloat16])",
      try BinaryCrossEntropy.loss(logits: [rb(-3), rb(1), rb(2.5), rb(-0.5)], targets: [rf(1), rf(0), rf(0.5), rf(1)]).loss,
      try BinaryCrossEntropy.loss(logits: b, targets: [1, 0, 0.5, 1]).loss)
  } catch {
    failures.append("threw \(error)")
  }
  return failures
}
