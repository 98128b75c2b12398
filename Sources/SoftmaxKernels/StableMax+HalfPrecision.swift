// StableMax and log-StableMax of 16-bit rows (Float16, BFloat16): the strided forms (the
// buffer, Span and Array forms: HalfPrecisionRowwiseFunction).

extension StableMax: HalfPrecisionRowwiseFunction {
  /// StableMax `s(x_i) / sum_j s(x_j)` of 16-bit rows (`Float16`, ``BFloat16``), each output
  /// rounded once, to nearest even, to the 16-bit type.
  ///
  /// The rows are read exactly as `Float` and computed as `Float` rows are (see ``StableMax``):
  /// the output is bitwise the `Float` output of the widened rows rounded, hence within 1 ulp of
  /// the 16-bit type of the exact value (measured against float64: see <doc:SixteenBitStorage>).
  /// Probabilities below half the 16-bit type's smallest subnormal become 0. Edge cases: those
  /// of ``StableMax``. `output` (same shape) may be the input's memory (in place); otherwise
  /// the two must not overlap. Errors name the argument; a call that throws has written nothing.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: false, options: options) { H.halfKernels($0).stableMaxRows }
  }

  /// StableMax of 16-bit rows written as `Float`: bitwise the `Float` output of the widened
  /// rows. `output` (same shape) must not overlap the input.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: false, options: options) {
      H.halfKernels($0).stableMaxToFloatRows
    }
  }
}

extension LogStableMax: HalfPrecisionRowwiseFunction {
  /// log-StableMax `log s(x_i) - log sum_j s(x_j)` of 16-bit rows (`Float16`, ``BFloat16``),
  /// each output computed as for the widened `Float` rows (a `Double` log per element, see
  /// ``StableMax``) and rounded once more, to nearest even, to the 16-bit type: bitwise the
  /// `Float` output rounded, within 1 ulp of the 16-bit type of the exact value (measured against
  /// float64: see <doc:SixteenBitStorage>). `output`
  /// may be the input's memory (in place); otherwise the two must not overlap.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<H>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: true, options: options) { H.halfKernels($0).stableMaxRows }
  }

  /// log-StableMax of 16-bit rows written as `Float`: bitwise the `Float` output of the widened
  /// rows. `output` (same shape) must not overlap the input.
  public static func forward<H: HalfPrecisionStorage>(
    _ input: Rows<H>, into output: MutableRows<Float>, options: ExecutionOptions = ExecutionOptions()
  ) throws(SoftmaxKernelsError) {
    try stableMaxForward(input, into: output, logarithm: true, options: options) {
      H.halfKernels($0).stableMaxToFloatRows
    }
  }
}
