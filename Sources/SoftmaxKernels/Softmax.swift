// Softmax of the rows of a matrix and its vector-Jacobian product; the family's documentation.

import SoftmaxKernelsCore

/// Softmax of a vector or of the rows of a row-major matrix, and its vector-Jacobian product;
/// this page documents the whole family (``Softmax``, ``LogSoftmax``, ``LogSumExp``).
///
/// For a row `x` of `C` entries, with `m = max_j x_j` and `S = sum_j exp(x_j - m)`:
/// - `softmax(x)_i = exp(x_i - m) / S`
/// - `logSoftmax(x)_i = (x_i - m) - log S`
/// - `logSumExp(x) = m + log S`
///
/// **Special values** (PyTorch's CPU results unless an option says otherwise): an empty row gives an empty output and `logSumExp = -inf`; a NaN anywhere makes the
/// whole row (and its log-sum-exp) NaN; `-inf` entries among finite ones give exact zeros
/// (log-softmax `-inf`); a row of only `-inf` gives NaN (0/0) and `logSumExp = -inf`, or zeros /
/// `-inf` with ``SoftmaxOptions/fullyMaskedRowIsZero``; a `+inf` entry gives NaN in the whole row
/// and `logSumExp = +inf`, or a one-hot row with ``SoftmaxOptions/positiveInfinityIsLimit`` when it
/// is the only one. Huge finite magnitudes (1e30) are exact thanks to the max shift. Results
/// below the smallest normal number may be flushed to zero.
///
/// **Accuracy** (measured by the tests against a float64 / Float80 reference that does not
/// cancel; see <doc:Accuracy>): Float softmax relative error at most 2e-6 beyond
/// the rounding of `x_i - max` for rows up to 10^4 entries (entries above 1e-30), the row sum
/// within 2e-6 of 1 even for 2^28 entries (1e-6 on random rows); log-softmax absolute error at
/// most 1e-5 max(1, |z|);
/// log-sum-exp at most 2e-6 max(1, |lse|).
///
/// **Log-probabilities near 0 keep relative accuracy.** `logSoftmax` and `logSumExp` sum the
/// terms below the row's maximum apart from the maximal ones and take `log1p` of that sum when
/// the whole sum is below 2, in every algorithm and on every path (vector body, tail, threaded
/// split rows). So the dominant entry of `[30, 0, ..., 0]` (4097 entries) gets
/// `-log1p(4096 e^-30)`, not 0 (PyTorch's float32 `log_softmax` returns 0 there). Bounds the
/// tests enforce, on top of the largest rounding of `x_j - max` in the row's type over the row
/// (every entry's shift enters the sum, so a log-probability near 0 carries the other entries'
/// roundings: Double `[0.3, (0.3 - 700) x 999]` gives the first entry's log-probability,
/// -9.85e-302, 4.6e-14 off relative, all of it that rounding): log-softmax relative
/// error 2e-6 (Float) / 5e-15 (Double); log-sum-exp error 2e-6 / 5e-15 in units of
/// `max(|lse|, |max x|)`, i.e. relative when the maximum is 0; softmax relative error 2e-6 /
/// 5e-15 and `|sum - 1|` the same. Measured maxima over all-equal rows, dominant entries
/// (margins 10 to 80 Float, to 700 Double, threaded rows of 300 001) and rows built so that a
/// lane absorbs (`SoftmaxFamilyPropertyTests`, 2026-11-29, Intel Xeon, every level): log-softmax
/// 8.5e-7 / 3.1e-15, log-sum-exp 8.5e-7 / 2.4e-15, softmax 1.3e-6 / 1.7e-15. The worst case is
/// a lane of the vector sum that holds a term near the maximum and absorbs up to 15 later terms
/// of just under half its ulp (lanes add at most 16 terms before their window is added in
/// Double). The rest is summed by one more read pass, taken only when the sum relative to the
/// maximum is below 2 (one dominant entry); other rows cost what they did before. Limit: terms
/// with `x_i - max` below -87.34 (Float) / -708.4 (Double) are flushed to 0, so when all the
/// terms below the maximum are, the dominant entry's log-probability is exactly 0 (absolute
/// error at most `(n - 1) 2^-126` / `(n - 1) 2^-1022`; see <doc:Accuracy>).
///
/// **Reproducibility**: results are bitwise the same for every thread count. A row longer than
/// 65 536 entries is processed in fixed blocks of 65 536 whose partial states are merged in block
/// order, whether the blocks run on one thread or many (`ReproducibilityTests`: threads 1, 2,
/// 3, 7).
///
/// **Forms**: every function takes strided rows (``Rows`` / ``MutableRows``), `Span` /
/// `MutableSpan` or arrays, with `columns` (one row without it); see ``RowwiseFunction``.
///
/// **Layout**: row `r` starts at element `r * rowStride` (`rowStride` defaults to `columns`).
/// Output may be the input itself (same start and stride: in place); any other overlap is an
/// error. Arguments are checked before anything is written; a call that throws has written
/// nothing. The buffer entry points allocate nothing.
///
/// **Complexity**: O(rows x columns) time; reads each input two or three times depending on the
/// algorithm (see `SoftmaxAlgorithm`). Rows are spread over ``ExecutionOptions/threads`` threads;
/// one long row is split into its fixed blocks, spread over the threads.
///
/// Thread safety: every function may be called concurrently from any thread; there is no
/// mutable global state (the CPU level and `SOFTMAXKERNELS_ISA` are read once).
public enum Softmax: HalfPrecisionRowwiseGradient {
  /// Softmax takes ``SoftmaxOptions``.
  public typealias Options = SoftmaxOptions

  /// Softmax `exp(x_i - m) / S` of each row of `input` into `output` (same shape; may be the
  /// input's memory: in place).
  public static func forward<T: KernelScalar>(
    _ input: Rows<T>, into output: MutableRows<T>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.softmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options)
  }

  /// The vector-Jacobian product of softmax, row by row:
  /// `dx_i = y_i (g_i - sum_j g_j y_j)` from the forward output `y` and the upstream gradient
  /// `g`. `inputGradient` may be `output` or `outputGradient` (in place).
  public static func backward<T: KernelScalar>(
    output: Rows<T>, outputGradient: Rows<T>, into inputGradient: MutableRows<T>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(.softmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options)
  }

  /// ``forward(_:into:options:)`` of 16-bit rows (`Float16`, ``BFloat16``) with `Float`
  /// arithmetic, each output rounded once to the 16-bit type (see ``HalfPrecisionStorage``).
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.softmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options) {
      H.halfKernels($0).softmax
    }
  }

  /// ``forward(_:into:options:)`` of 16-bit rows with the outputs written as `Float`.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxForward(.softmax, input, output: output, logSumExp: .init(start: nil, count: 0), options: options) {
      H.halfKernels($0).softmaxToFloat
    }
  }

  /// The vector-Jacobian product of 16-bit rows, written in their type.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<H>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(.softmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options) {
      H.halfKernels($0).softmax
    }
  }

  /// The vector-Jacobian product of 16-bit rows, written as `Float`.
  public static func backward<H: HalfPrecisionStorage>(
    output: Rows<H>, outputGradient: Rows<H>, into inputGradient: MutableRows<Float>,
    options: SoftmaxOptions = SoftmaxOptions()
  ) throws(SoftmaxKernelsError) {
    try softmaxBackward(.softmax, output: output, outputGradient: outputGradient, into: inputGradient, options: options) {
      H.halfKernels($0).softmaxToFloat
    }
  }
}
