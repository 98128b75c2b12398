#include "CSoftmaxKernelsCPU.h"
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

int softmaxkernels_cpu_isa_level(void) {
  __builtin_cpu_init();
  int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe");
  if (!v3) return 0;
  int v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
  return v4 ? 2 : 1;
}

int softmaxkernels_cpu_is_amd(void) {
  __builtin_cpu_init();
  return __builtin_cpu_is("amd") ? 1 : 0;
}

int softmaxkernels_cpu_brand(char *buffer, int capacity) {
  unsigned int regs[12];
  unsigned int max_ext = __get_cpuid_max(0x80000000u, 0);
  if (capacity <= 0 || max_ext < 0x80000004u) return 0;
  for (unsigned int i = 0; i < 3; i++) {
    __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  }
  char brand[49];
  memcpy(brand, regs, 48);
  brand[48] = 0;
  char *start = brand;
  while (*start == ' ') start++;
  int length = (int)strlen(start);
  if (length >= capacity) length = capacity - 1;
  memcpy(buffer, start, (size_t)length);
  buffer[length] = 0;
  return length;
}
#else
int softmaxkernels_cpu_isa_level(void) { return 0; }
int softmaxkernels_cpu_is_amd(void) { return 0; }
int softmaxkernels_cpu_brand(char *buffer, int capacity) {
  (void)buffer; (void)capacity;
  return 0;
}
#endif
