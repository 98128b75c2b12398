// The logistic sigmoid and its gradients; the sigmoid family's documentation.

import SoftmaxKernelsCore

/// The logistic sigmoid, elementwise, and its vector-Jacobian product; this page documents the
/// whole family (``Sigmoid``, ``LogSigmoid``, ``Softplus``), in `Float` and `Double`, and on
/// 16-bit values (`Float16`, ``BFloat16``: computed in `Float`, each output rounded once, within
/// 1 ulp of the 16-bit type; see ``HalfPrecisionElementwiseFunction``).
///
/// - `sigmoid(x) = 1 / (1 + e^-x)`, evaluated as `r = 1 / (1 + e)` for `x >= 0` and `e r` for
///   `x < 0` with `e = e^-|x|`, which never overflows.
/// - `logSigmoid(x) = min(x, 0) - log1p(e^-|x|)`.
/// - `softplus(x; beta, threshold) = log(1 + e^(beta x)) / beta`, or `x` where
///   `beta x > threshold` (PyTorch's `torch.nn.Softplus`; defaults `beta = 1`, `threshold = 20`),
///   evaluated as `(max(beta x, 0) + log1p(e^-|beta x|)) * (1 / beta)`.
/// - Gradients: `sigmoid'(x) = sigmoid(x) sigmoid(-x)`, `logSigmoid'(x) = sigmoid(-x)`,
///   `softplus'(x) = sigmoid(beta x)` (1 in the linear region).
///
/// (PyTorch `aten/src/ATen/native/cpu/Activation.cpp`.)
///
/// **Accuracy** (enforced by `SigmoidTests` against float64 references for Float and Float80
/// references for Double, on a strided sweep of every finite input of both signs, at every ISA
/// level; relative error in units of 2^-24 for Float and 2^-53 for Double, normal results):
///
/// | function | Float bound (measured baseline / x86-64-v3) | Double bound (measured) |
/// |---|---|---|
/// | `sigmoid` | 5.5 (4.71 / 4.46) | 3.5 (3.12) |
/// | `logSigmoid` | 4.5 (3.92 / 3.74) | 2.5 (2.14) |
/// | `softplus` (beta = 1) | 4.5 (3.92 / 3.74) | 2.5 (2.14) |
/// | `Sigmoid.backward(input:...)` | 7 (6.36 / 6.12) | 6 (5.18) |
/// | `LogSigmoid.backward` | 5.5 (4.71 / 4.46) | 3.5 (3.18) |
/// | `Softplus.backward` | 5.5 (4.71 / 4.46) | 3.5 (3.12) |
///
/// Subnormal results are within 1.5 units of the smallest subnormal (absolute; measured 1.38).
/// Where `e^-|x|` is subnormal (`|x| > 87.3` in Float) and a result multiplies it back up, that
/// absolute error is multiplied too: the gradients add up to `1.5 * 2^-149 * |outputGradient|`
/// (Float) and softplus with `beta < 1` adds `1.5 * 2^-149 / beta` to the relative bounds (see
/// <doc:Accuracy>).
/// Measured on every 131st bit pattern; the tests' default sweep is every 1901st
/// (`SIGMOID_SWEEP_STRIDE` sets it).
/// `softplus` with `beta != 1` adds the roundings of `1 / beta` and of `beta x` to Float: up to
/// `1 + |beta x|` units (none for powers of two). The
/// building blocks (`Benchmarks/Coefficients/log-coefficients.py`): `log1p` on [0, 1] 2.4
/// (baseline) / 1.9 (FMA levels) units in Float (a division-free polynomial), 1.3 in Double;
/// the exponential 2.9 (baseline) / 2.6 (FMA levels) units.
///
/// **Edge cases**: `sigmoid(+inf) = 1`, `sigmoid(-inf) = 0`, `logSigmoid(+inf) = 0`,
/// `logSigmoid(-inf) = -inf`, `softplus(+inf) = +inf`, `softplus(-inf) = 0`; NaN gives NaN;
/// `sigmoid(-100)` is the subnormal `e^-100` (gradual underflow, as PyTorch), and only inputs
/// whose result is below half the smallest subnormal give 0.
///
/// **Forms**: vectors, strided rows, `Span` and `Array`; see ``ElementwiseFunction``.
///
/// **Layout**: `output` may be the input itself (in place); any other overlap throws.
/// Arguments are checked before anything is written. Buffer entry points allocate nothing.
///
/// - Complexity: O(n): one read of each input, one write; per element one exponential and
///   either one division (`sigmoid`, the gradients) or one logarithm (`logSigmoid`, `softplus`;
///   Float's is a division-free polynomial). Spread over ``ExecutionOptions/threads`` threads in
///   contiguous chunks.
public enum Sigmoid: ElementwiseGradient {
  /// The sigmoid has nothing to choose but where it runs.
  public typealias Options = ExecutionOptions

  /// `output[i] = sigmoid(input[i])`.
  public static func forward<T: KernelScalar>(
    _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try unary(.sigmoid, input, output, 1, 0, options)
  }

  /// `inputGradient[i] = outputGradient[i] sigmoid'(input[i])`, from the forward *input*:
  /// accurate everywhere (also where `sigmoid(x)` rounds to 1). `inputGradient` may be either
  /// input buffer.
  public static func backward<T: KernelScalar>(
    input: UnsafeBufferPointer<T>, outputGradient: UnsafeBufferPointer<T>,
    into inputGradient: UnsafeMutableBufferPointer<T>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromInput, input, outputGradient, inputGradient, 1, 0, options)
  }

  /// `inputGradient[i] = outputGradient[i] y (1 - y)` from the forward *output* `y` (PyTorch's
  /// `sigmoid_backward`; cheaper, but `1 - y` is 0 once `y` rounds to 1, i.e. `x > 17` in Float).
  public static func backward<T: KernelScalar>(
    output: UnsafeBufferPointer<T>, outputGradient: UnsafeBufferPointer<T>,
    into inputGradient: UnsafeMutableBufferPointer<T>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try gradient(.sigmoidFromOutput, output, outputGradient, inputGradient, 1, 0, options)
  }

  /// The gradient from the forward *output* `y` of each element of the rows of `output`.
  public static func backward<T: KernelScalar>(
    output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try forEachRow(output, "output", outputGradient: outputGradient, into: inputGradient) { (y, g, dx) throws(SoftmaxKernelsError) in
      try backward(output: y, outputGradient: g, into: dx, options: options)
    }
  }

  /// The gradient from the forward *output* `y`, `outputGradient[i] y (1 - y)` (all the same
  /// count).
  public static func backward<T: KernelScalar>(
    output: Span<T>, outputGradient: Span<T>, into inputGradient: inout MutableSpan<T>,
    options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try withMutableBuffer(&inputGradient) { (dx) throws(SoftmaxKernelsError) in
          try backward(output: y, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }

  /// The gradient from the forward *output* `y`, `outputGradient[i] y (1 - y)`, of every
  /// element.
  public static func backward<T: KernelScalar>(
    output: [T], outputGradient: [T], options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) -> [T] {
    try withBuffer(output) { (y) throws(SoftmaxKernelsError) in
      try withBuffer(outputGradient) { (g) throws(SoftmaxKernelsError) in
        try makeArray(count: y.count) { (dx) throws(SoftmaxKernelsError) in
          try checkCount(g.count, equals: y.count, "outputGradient")
          try backward(output: y, outputGradient: g, into: dx, options: options)
        }
      }
    }
  }
}
