// The machine's single-precision FMA peak, measured by softmax-bench (a measurement loop of
// the benchmark, not a kernel: the kernels live in Sources/). Each function runs `iterations`
// rounds of independent FMA chains (`acc = acc * a + b`; on arm64 `acc += a * b`, which `fmla`
// does in place) in vector registers and returns the accumulators' sum (so nothing is
// optimised away); pass a close to 1 and b small, e.g. 0.999999f and 1e-6f, so the values stay
// near 1 (no overflow, no subnormals).
//
// Each variant is compiled for its instruction set with a function `target` attribute, so the
// benchmark target needs no -march flag; the caller must check that the CPU (and the OS)
// supports the variant before calling it (softmax-bench uses ISALevel.supported).

#ifndef CSOFTMAXBENCHPEAK_H
#define CSOFTMAXBENCHPEAK_H

#ifdef __cplusplus
extern "C" {
#endif

/// Vector width of each variant in floats (16, 8, 4), and the floating-point operations one
/// iteration performs (accumulators x lanes x 2): the GFLOP/s are `iterations * flops / s`.
enum {
  SOFTMAXBENCH_PEAK_ZMM_LANES = 16, SOFTMAXBENCH_PEAK_ZMM_ACCUMULATORS = 16,
  SOFTMAXBENCH_PEAK_YMM_LANES = 8, SOFTMAXBENCH_PEAK_YMM_ACCUMULATORS = 12,
  SOFTMAXBENCH_PEAK_XMM_LANES = 4, SOFTMAXBENCH_PEAK_XMM_ACCUMULATORS = 12,
  SOFTMAXBENCH_PEAK_NEON_LANES = 4, SOFTMAXBENCH_PEAK_NEON_ACCUMULATORS = 16,
};

/// 1 when this build has the variant's loop for the target architecture, else 0 (the function
/// then returns 0 at once). Variants: 0 zmm, 1 ymm, 2 xmm (x86-64), 3 neon (arm64).
int softmaxbench_peak_compiled(int variant);

/// AVX-512F: 16 accumulators of 16 floats, `vfmadd213ps zmm` (x86-64-v4).
float softmaxbench_peak_zmm(long iterations, float a, float b);
/// AVX2 + FMA: 12 accumulators of 8 floats, `vfmadd213ps ymm` (x86-64-v3; 12 + 2 constants of
/// the 16 ymm registers).
float softmaxbench_peak_ymm(long iterations, float a, float b);
/// SSE2 (x86-64 baseline, no FMA): 12 accumulators of 4 floats, `mulps` + `addps` (2 flops
/// per lane as for an FMA: the peak the baseline level can reach).
float softmaxbench_peak_xmm(long iterations, float a, float b);
/// arm64 NEON: 16 accumulators of 4 floats, `fmla v.4s` (`acc += a * b`).
float softmaxbench_peak_neon(long iterations, float a, float b);

#ifdef __cplusplus
}
#endif

#endif
