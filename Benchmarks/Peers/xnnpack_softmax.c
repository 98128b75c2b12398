/* XNNPACK peer: xnn_create_softmax_nc_f32 / xnn_setup_softmax_nc_f32 / xnn_run_operator on
 * PERF.md's W1-W3 (XNNPACK has no log-softmax or cross-entropy operator). Threads through a
 * pthreadpool of --threads workers; XNNPACK splits the work by rows (batch), so a single
 * vector (W1) runs on one thread whatever the pool size. One JSON line on stdout. */
#include <pthreadpool.h>
#include <xnnpack.h>

#include "peer_common.h"

/* run.sh passes the Debian package version; the header has none. */
#ifndef XNNPACK_PACKAGE_VERSION
#define XNNPACK_PACKAGE_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  peer_args a;
  int rc = peer_parse(argc, argv, &a);
  if (rc) return rc;
  if (a.half) {
    fprintf(stderr, "xnnpack_softmax: this peer runs the float32 operator only (%s)\n", a.workload);
    return 3;
  }
  if (a.log_softmax) {
    fprintf(stderr, "xnnpack_softmax: XNNPACK has no log-softmax operator (%s)\n", a.workload);
    return 3;
  }
  if (xnn_initialize(NULL) != xnn_status_success) {
    fprintf(stderr, "xnnpack_softmax: xnn_initialize failed (unsupported CPU?)\n");
    return 1;
  }
  long long n = a.rows * a.columns;
  float* x = peer_alloc(n);
  float* y = peer_alloc(n);
  peer_fill_uniform(x, n, 42);

  pthreadpool_t pool = pthreadpool_create((size_t)a.threads);
  xnn_operator_t op = NULL;
  if (xnn_create_softmax_nc_f32((size_t)a.columns, (size_t)a.columns, (size_t)a.columns, 0, &op) !=
          xnn_status_success ||
      xnn_setup_softmax_nc_f32(op, (size_t)a.rows, x, y, pool) != xnn_status_success) {
    fprintf(stderr, "xnnpack_softmax: creating or setting up the softmax operator failed\n");
    return 1;
  }
  if (xnn_run_operator(op, pool) != xnn_status_success) {  /* warm-up */
    fprintf(stderr, "xnnpack_softmax: xnn_run_operator failed\n");
    return 1;
  }
  double* times = malloc(sizeof(double) * (size_t)a.repetitions);
  for (int r = 0; r < a.repetitions; r++) {
    double t0 = peer_now();
    xnn_run_operator(op, pool);
    times[r] = peer_now() - t0;
  }
  double check = peer_check(&a, y);
  peer_report("XNNPACK", XNNPACK_PACKAGE_VERSION, "xnn_softmax_nc_f32 (three-pass reload)", &a, times,
              a.repetitions, check);
  xnn_delete_operator(op);
  pthreadpool_destroy(pool);
  xnn_deinitialize();
  free(times); free(x); free(y);
  return 0;
}
