/* Shared helpers of the C/C++ peer programs: arguments, workload shapes, inputs, timing,
 * output checks and the JSON line, by the conventions of shared/PERF.md. Our own code. */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PEER_F32 = 0, PEER_BF16 = 1, PEER_F16 = 2 };

typedef struct {
  char workload[16];    /* as given: W1 ... W4, or a 16-bit cell W1-bf16 ... W4-f16 */
  int threads;
  long long size;
  int repetitions;
  long long rows, columns;
  int log_softmax;      /* W4 */
  int half;             /* 0: float32; PEER_BF16 / PEER_F16: source and output stored in 16 bits */
  int bytes_per_element;
} peer_args;

static void peer_usage(const char* prog) {
  fprintf(stderr,
          "usage: %s --workload W1|W2|W3|W4[-bf16|-f16] [--threads T] [--size N] [--repetitions R]\n"
          "  size: elements in total (default 268435456 = 1 GiB of floats)\n", prog);
}

/* Parses the arguments and the workload's shape (same shapes as softmax-bench). Returns 0 on
 * success, 2 on a usage error. */
static int peer_parse(int argc, char** argv, peer_args* a) {
  memset(a, 0, sizeof *a);
  a->threads = 1;
  a->size = 1LL << 28;
  a->repetitions = 5;
  for (int i = 1; i < argc; i++) {
    const char* k = argv[i];
    if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) { peer_usage(argv[0]); exit(0); }
    if (i + 1 >= argc) { fprintf(stderr, "%s: %s needs a value\n", argv[0], k); return 2; }
    const char* v = argv[++i];
    if (strcmp(k, "--workload") == 0) snprintf(a->workload, sizeof a->workload, "%s", v);
    else if (strcmp(k, "--threads") == 0) a->threads = atoi(v);
    else if (strcmp(k, "--size") == 0) a->size = atoll(v);
    else if (strcmp(k, "--repetitions") == 0) a->repetitions = atoi(v);
    else { fprintf(stderr, "%s: unknown option %s\n", argv[0], k); return 2; }
  }
  if (a->threads < 1 || a->size < 1 || a->repetitions < 1) {
    fprintf(stderr, "%s: threads, size and repetitions must be positive\n", argv[0]);
    return 2;
  }
  long long n = a->size;
  /* A 16-bit cell (W2-bf16, W4-f16, ...): the same shape, half the bytes (PERF.md's
   * convention: source read + output written, 2 + 2 bytes per element). */
  char base[16];
  snprintf(base, sizeof base, "%s", a->workload);
  char* dash = strchr(base, '-');
  if (dash) {
    if (strcmp(dash, "-bf16") == 0) a->half = PEER_BF16;
    else if (strcmp(dash, "-f16") == 0) a->half = PEER_F16;
    else { fprintf(stderr, "%s: unknown workload '%s'\n", argv[0], a->workload); peer_usage(argv[0]); return 2; }
    *dash = 0;
  }
  a->bytes_per_element = a->half ? 4 : 8;
  if (strcmp(base, "W1") == 0) { a->rows = 1; a->columns = n; }
  else if (strcmp(base, "W2") == 0) { a->columns = 32768; }
  else if (strcmp(base, "W3") == 0) { a->columns = 262144; }
  else if (strcmp(base, "W4") == 0) { a->columns = 32768; a->log_softmax = 1; }
  else { fprintf(stderr, "%s: unknown workload '%s'\n", argv[0], a->workload); peer_usage(argv[0]); return 2; }
  if (a->rows == 0) { a->rows = n / a->columns; if (a->rows < 1) a->rows = 1; }
  return 0;
}

/* Page-aligned buffer, written once here so its pages exist before timing (first touch). */
static float* peer_alloc(long long count) {
  void* p = NULL;
  if (posix_memalign(&p, 4096, (size_t)count * sizeof(float)) != 0) {
    fprintf(stderr, "out of memory (%lld floats)\n", count);
    exit(1);
  }
  memset(p, 0, (size_t)count * sizeof(float));
  return (float*)p;
}

/* Uniform in [-8, 8) from a fixed seed (xorshift64, 24-bit mantissa steps). */
static void peer_fill_uniform(float* x, long long n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  const float scale = 16.0f / (float)(1 << 24);
  for (long long i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    x[i] = -8.0f + (float)(s >> 40) * scale;
  }
}

/* float32 <-> bfloat16 bits, round to nearest even (NaN stays a quiet NaN). */
static inline uint16_t peer_float_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline float peer_bf16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static double peer_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int peer_cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double peer_median(double* v, int n) {
  qsort(v, (size_t)n, sizeof *v, peer_cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Largest |row sum - 1| over sampled rows (every row when <= 64), in double; a log-softmax
 * row's exp is summed. */
static double peer_check(const peer_args* a, const float* y) {
  long long step = a->rows <= 64 ? 1 : a->rows / 64;
  double worst = 0;
  for (long long r = 0; r < a->rows; r += step) {
    const float* row = y + r * a->columns;
    double s = 0;
    if (a->log_softmax) for (long long i = 0; i < a->columns; i++) s += exp((double)row[i]);
    else for (long long i = 0; i < a->columns; i++) s += (double)row[i];
    double e = fabs(s - 1);
    if (!(e <= worst)) worst = e; /* NaN wins */
  }
  return worst;
}

/* One JSON line on stdout. times[] is sorted by peer_median. */
static void peer_report(const char* peer, const char* version, const char* impl, const peer_args* a,
                        double* times, int n, double check) {
  double med = peer_median(times, n), best = times[0];
  double bytes = (double)a->rows * (double)a->columns * a->bytes_per_element;
  printf("{\"peer\": \"%s\", \"version\": \"%s\", \"impl\": \"%s\", \"workload\": \"%s\", "
         "\"operation\": \"%s\", \"threads\": %d, \"rows\": %lld, \"columns\": %lld, "
         "\"repetitions\": %d, \"medianGBs\": %.4f, \"bestGBs\": %.4f, \"medianSeconds\": %.6f, "
         "\"check\": %.6e, \"checkKind\": \"%s\"}\n",
         peer, version, impl, a->workload, a->log_softmax ? "log_softmax" : "softmax", a->threads,
         a->rows, a->columns, n, bytes / med / 1e9, bytes / best / 1e9, med,
         check, a->log_softmax ? "max|sum(exp(row))-1|" : "max|row sum-1|");
  fflush(stdout);
}

#endif
