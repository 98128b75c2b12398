// CPU feature detection for SoftmaxKernels' run-time ISA dispatch.
// Swift has no way to ask the CPU (and the OS) which vector extensions are usable, so this
// tiny C target does it with the compiler's `__builtin_cpu_supports`, which checks CPUID and
// XGETBV (that the OS saves the wider registers). Not API: used by the SoftmaxKernels module.
#ifndef CSOFTMAXKERNELS_CPU_H
#define CSOFTMAXKERNELS_CPU_H

/// 0 = baseline, 1 = x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE),
/// 2 = x86-64-v4 (v3 + AVX512F/BW/CD/DQ/VL). Always 0 on non-x86 targets.
int softmaxkernels_cpu_isa_level(void);

/// 1 on an AMD CPU (`__builtin_cpu_is("amd")`: the CPUID vendor), else 0. The algorithm
/// choice of `.automatic` depends on it at the same ISA level (Zen's 512-bit operations and
/// memory system favour other pass structures than Intel's).
int softmaxkernels_cpu_is_amd(void);

/// Writes the CPU brand string (NUL-terminated, at most `capacity` bytes) and returns its
/// length, or 0 where it is not available.
int softmaxkernels_cpu_brand(char *buffer, int capacity);

#endif
