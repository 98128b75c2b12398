// oneDNN peer: softmax_v2 forward (inference) with algorithm::softmax_accurate (W1-W3) and
// algorithm::softmax_log (W4) over the last axis of a rows x columns f32 tensor (W1: 1 x N).
// Threads: the Debian build uses the OpenMP runtime, so the thread count is set with
// omp_set_num_threads (run.sh also exports OMP_NUM_THREADS). One JSON line on stdout.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

extern "C" {
#include "peer_common.h"
}

int main(int argc, char** argv) {
  peer_args a;
  int rc = peer_parse(argc, argv, &a);
  if (rc) return rc;
  omp_set_num_threads(a.threads);
  long long n = a.rows * a.columns;
  float* x = peer_alloc(n);
  float* y = peer_alloc(n);
  peer_fill_uniform(x, n, 42);

  try {
    using namespace dnnl;
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    memory::desc md({a.rows, a.columns}, memory::data_type::f32, memory::format_tag::ab);
    memory src(md, eng, x), dst(md, eng, y);
    auto alg = a.log_softmax ? algorithm::softmax_log : algorithm::softmax_accurate;
    softmax_v2_forward::desc d(prop_kind::forward_inference, alg, md, md, 1);
    softmax_v2_forward::primitive_desc pd(d, eng);
    softmax_v2_forward prim(pd);
    std::string impl = std::string("softmax_v2 ") +
                       (a.log_softmax ? "softmax_log " : "softmax_accurate ") + pd.impl_info_str();
    auto run = [&] {
      prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
      strm.wait();
    };
    run();  // warm-up
    std::vector<double> times(a.repetitions);
    for (int r = 0; r < a.repetitions; r++) {
      double t0 = peer_now();
      run();
      times[r] = peer_now() - t0;
    }
    const dnnl_version_t* v = dnnl_version();
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    double check = peer_check(&a, y);
    peer_report("oneDNN", version, impl.c_str(), &a, times.data(), a.repetitions, check);
  } catch (const dnnl::error& e) {
    fprintf(stderr, "onednn_softmax: oneDNN error: %s (status %d)\n", e.what(), (int)e.status);
    return 1;
  }
  free(x); free(y);
  return 0;
}
