// The FMA peak loops (see include/CSoftmaxBenchPeak.h). Compiled with -O2 in every
// configuration (Package.swift), so a debug build measures the same instructions.
//
// Each loop keeps its accumulators in registers: 16 x zmm (of 32), 12 x ymm / xmm (of 16), with
// `a` and `b` in two more. Independent chains hide the FMA latency: with latency L cycles and
// P FMA ports, L x P chains keep the ports busy (4 x 2 = 8 on recent Intel and AMD cores; the
// mul + add chain of SSE has latency 8 for two operations, so 8 chains for 2 ports). 12-16 is
// more than that, and Benchmarks/Peers/README.md shows the disassembly that was checked.

#include "CSoftmaxBenchPeak.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define REPEAT16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"), noinline))
float softmaxbench_peak_zmm(long iterations, float a, float b) {
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
#define INIT(i) __m512 c##i = _mm512_set1_ps(1.0f + (float)(i) * 0x1p-10f);
  REPEAT16(INIT)
#undef INIT
  for (long n = 0; n < iterations; n++) {
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, va, vb);
    REPEAT16(STEP)
#undef STEP
  }
  __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);
  REPEAT16(SUM)
#undef SUM
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"), noinline))
float softmaxbench_peak_ymm(long iterations, float a, float b) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
#define INIT(i) __m256 c##i = _mm256_set1_ps(1.0f + (float)(i) * 0x1p-10f);
  REPEAT12(INIT)
#undef INIT
  for (long n = 0; n < iterations; n++) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, va, vb);
    REPEAT12(STEP)
#undef STEP
  }
  __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, c##i);
  REPEAT12(SUM)
#undef SUM
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

__attribute__((noinline))
float softmaxbench_peak_xmm(long iterations, float a, float b) {
  const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b);
#define INIT(i) __m128 c##i = _mm_set1_ps(1.0f + (float)(i) * 0x1p-10f);
  REPEAT12(INIT)
#undef INIT
  for (long n = 0; n < iterations; n++) {
#define STEP(i) c##i = _mm_add_ps(_mm_mul_ps(c##i, va), vb);
    REPEAT12(STEP)
#undef STEP
  }
  __m128 s = _mm_setzero_ps();
#define SUM(i) s = _mm_add_ps(s, c##i);
  REPEAT12(SUM)
#undef SUM
  float out[4];
  _mm_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3];
}

float softmaxbench_peak_neon(long iterations, float a, float b) {
  (void)iterations; (void)a; (void)b;
  return 0;
}

int softmaxbench_peak_compiled(int variant) { return variant >= 0 && variant <= 2; }

#elif defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

#define REPEAT16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

__attribute__((noinline))
float softmaxbench_peak_neon(long iterations, float a, float b) {
  const float32x4_t va = vdupq_n_f32(a), vb = vdupq_n_f32(b);
#define INIT(i) float32x4_t c##i = vdupq_n_f32(1.0f + (float)(i) * 0x1p-10f);
  REPEAT16(INIT)
#undef INIT
  for (long n = 0; n < iterations; n++) {
#define STEP(i) c##i = vfmaq_f32(c##i, va, vb);  /* acc += a b: fmla in place */
    REPEAT16(STEP)
#undef STEP
  }
  float32x4_t s = vdupq_n_f32(0);
#define SUM(i) s = vaddq_f32(s, c##i);
  REPEAT16(SUM)
#undef SUM
  return vaddvq_f32(s);
}

float softmaxbench_peak_zmm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
float softmaxbench_peak_ymm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
float softmaxbench_peak_xmm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
int softmaxbench_peak_compiled(int variant) { return variant == 3; }

#else
float softmaxbench_peak_zmm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
float softmaxbench_peak_ymm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
float softmaxbench_peak_xmm(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
float softmaxbench_peak_neon(long iterations, float a, float b) { (void)iterations; (void)a; (void)b; return 0; }
int softmaxbench_peak_compiled(int variant) { (void)variant; return 0; }
#endif
