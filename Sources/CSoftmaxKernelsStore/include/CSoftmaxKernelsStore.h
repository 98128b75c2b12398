// Non-temporal ("streaming") vector stores and a prefetch hint for SoftmaxKernels' passes.
//
// Swift has no way to emit a non-temporal store, so this tiny header-only C target provides
// one: `__builtin_nontemporal_store` on a 64-byte vector, which clang compiles, inlined into the
// Swift kernel with the kernel module's own `-march`, to one `vmovntps zmm` (x86-64-v4), two
// `vmovntps ymm` (x86-64-v3) or four `movntps xmm` (baseline). A streaming store writes around
// the caches: the line is not read first (no read-for-ownership), which is what a large output
// that is not read again wants. The destination must be 64-byte aligned. A store fence orders
// the streaming stores before any later store (call it once after a pass). Swift has no prefetch
// either: `softmaxkernels_prefetch_l2` is `__builtin_prefetch`. Not API.
#ifndef CSOFTMAXKERNELS_STORE_H
#define CSOFTMAXKERNELS_STORE_H

typedef float softmaxkernels_f32x16 __attribute__((vector_size(64)));
typedef double softmaxkernels_f64x8 __attribute__((vector_size(64)));
typedef unsigned short softmaxkernels_u16x16 __attribute__((vector_size(32)));

/// Stores 16 floats to the 64-byte-aligned `p` without reading or allocating its cache line.
static inline __attribute__((always_inline)) void softmaxkernels_stream_f32x16(float *p, softmaxkernels_f32x16 v) {
  __builtin_nontemporal_store(v, (softmaxkernels_f32x16 *)p);
}

/// Stores 8 doubles to the 64-byte-aligned `p` without reading or allocating its cache line.
static inline __attribute__((always_inline)) void softmaxkernels_stream_f64x8(double *p, softmaxkernels_f64x8 v) {
  __builtin_nontemporal_store(v, (softmaxkernels_f64x8 *)p);
}

/// Asks for the cache line holding `p` to be brought into the level-2 cache (`prefetcht1` on
/// x86) without waiting for it. A hint: it never faults and never changes a value. The
/// three-pass softmax passes use it to read the next row while the exponentials of this one
/// keep the arithmetic units busy (`ForwardBatch.prefetchNextRow`).
// 16 values of a 16-bit storage type (Float16, BFloat16) as their bits; `p` 32-byte aligned.
static inline __attribute__((always_inline)) void softmaxkernels_stream_u16x16(void *p, softmaxkernels_u16x16 v) {
  __builtin_nontemporal_store(v, (softmaxkernels_u16x16 *)p);
}

static inline __attribute__((always_inline)) void softmaxkernels_prefetch_l2(const void *p) {
  __builtin_prefetch(p, 0, 2);
}

/// Asks for the cache line holding `p` in the level-1 cache, for writing (`prefetchw` /
/// `prefetcht0` on x86), without waiting. A hint, as above. The matrix products' register tile
/// uses it on the rows it adds to, so that their loads after its loop do not wait.
static inline __attribute__((always_inline)) void softmaxkernels_prefetch_write(const void *p) {
  __builtin_prefetch(p, 1, 3);
}

/// Orders the streaming stores before the stores that follow (`sfence`; nothing elsewhere).
static inline __attribute__((always_inline)) void softmaxkernels_store_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_sfence();
#endif
}

#endif
