// `e^(x - m)`, the exponential of the softmax family, in the form each level compiles best.

extension KernelFloat {
  /// `e^(x - m)` for `x <= m` (`x = -inf` gives 0; NaN propagates; results below the smallest
  /// normal number are flushed to `+0`), bitwise the same at a level whichever form it uses.
  ///
  /// With VEX encoding (x86-64-v3 and v4, the levels with FMA) it is `expOfNegated(m - x)`:
  /// the subtraction `m - x` takes `x` straight from memory (`vsubps (mem), m`), where `x - m`
  /// needs the load as an instruction of its own, one of 18 per vector of `sumExpPass` at v4.
  /// At the baseline, SSE's two-operand `subps` would copy `m` before `m - x` (and cannot take
  /// an unaligned memory operand), so there it is `expNonPositive(x - m)`.
  @inline(always)
  static func expShifted(_ x: Vector, minus m: Vector) -> Vector {
    #if SOFTMAXKERNELS_FMA
    return expOfNegated(m - x)
    #else
    return expNonPositive(x - m)
    #endif
  }

  /// `e^((x - m) - l)` for `x <= m`, `l >= 0` (cross-entropy's probabilities `e^(x - m - lse)`),
  /// the two subtractions in this order; as `expOfNegated((m - x) + l)` with VEX encoding.
  @inline(always)
  static func expShifted(_ x: Vector, minus m: Vector, minus l: Vector) -> Vector {
    #if SOFTMAXKERNELS_FMA
    return expOfNegated((m - x) + l)
    #else
    return expNonPositive((x - m) - l)
    #endif
  }
}
