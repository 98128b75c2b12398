// oneDNN peer: softmax_v2 forward (inference) with algorithm::softmax_accurate (W1-W3) and
// algorithm::softmax_log (W4) over the last axis of a rows x columns tensor (W1: 1 x N), in
// f32, or with source and destination in bf16 (W1-bf16 ... W4-bf16) or f16 (W1-f16 ...).
// The 16-bit sources are the f32 uniform [-8, 8) values rounded to nearest even. oneDNN 2.6.3
// has a bf16 softmax on CPUs with AVX-512 (jit:avx512_core); it has no f16 softmax on the CPU
// (primitive descriptor creation fails with status 3, unimplemented), which is reported here.
// Threads: the Debian build uses the OpenMP runtime, so the thread count is set with
// omp_set_num_threads (run.sh also exports OMP_NUM_THREADS). One JSON line on stdout.
#include <omp.h>

#include <cstdint>
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

  try {
    using namespace dnnl;
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    auto dt = a.half == PEER_BF16  ? memory::data_type::bf16
              : a.half == PEER_F16 ? memory::data_type::f16
                                   : memory::data_type::f32;
    const char* dt_name = a.half == PEER_BF16 ? "bf16" : a.half == PEER_F16 ? "f16" : "f32";
    const dnnl_version_t* v = dnnl_version();
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    memory::desc md({a.rows, a.columns}, dt, memory::format_tag::ab);
    auto alg = a.log_softmax ? algorithm::softmax_log : algorithm::softmax_accurate;
    softmax_v2_forward::desc d(prop_kind::forward_inference, alg, md, md, 1);
    softmax_v2_forward::primitive_desc pd;
    try {
      pd = softmax_v2_forward::primitive_desc(d, eng);
    } catch (const dnnl::error& e) {
      fprintf(stderr, "onednn_softmax: oneDNN %s has no softmax_v2 forward with %s source and "
              "destination on this CPU: %s (status %d)\n", version, dt_name,
              e.what(), (int)e.status);
      return 3;
    }
    softmax_v2_forward prim(pd);

    // Inputs: f32 uniform [-8, 8); a 16-bit cell converts them (round to nearest even) into
    // a 16-bit source and keeps the f32 buffer to read the 16-bit output back for the check.
    float* x = peer_alloc(n);
    peer_fill_uniform(x, n, 42);
    void* src_data = x;
    void* dst_data = nullptr;
    float* y = nullptr;
    uint16_t *src16 = nullptr, *dst16 = nullptr;
    if (a.half) {
      src16 = (uint16_t*)peer_alloc((n + 1) / 2);  // page-aligned and touched
      dst16 = (uint16_t*)peer_alloc((n + 1) / 2);
      for (long long i = 0; i < n; i++) {
        if (a.half == PEER_BF16) {
          src16[i] = peer_float_to_bf16(x[i]);
        } else {
          _Float16 h = (_Float16)x[i];
          memcpy(&src16[i], &h, sizeof h);
        }
      }
      src_data = src16;
      dst_data = dst16;
    } else {
      y = peer_alloc(n);
      dst_data = y;
    }
    memory src(md, eng, src_data), dst(md, eng, dst_data);
    std::string impl = std::string("softmax_v2 ") +
                       (a.log_softmax ? "softmax_log " : "softmax_accurate ") +
                       (a.half ? std::string(dt_name) + " " : std::string()) + pd.impl_info_str();
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
    if (a.half) {  // the 16-bit output, widened into the f32 buffer, is what is checked
      for (long long i = 0; i < n; i++) {
        if (a.half == PEER_BF16) {
          x[i] = peer_bf16_to_float(dst16[i]);
        } else {
          _Float16 h;
          memcpy(&h, &dst16[i], sizeof h);
          x[i] = (float)h;
        }
      }
      y = x;
    }
    double check = peer_check(&a, y);
    peer_report("oneDNN", version, impl.c_str(), &a, times.data(), a.repetitions, check);
    if (y != x) free(y);
    free(x); free(src16); free(dst16);
  } catch (const dnnl::error& e) {
    fprintf(stderr, "onednn_softmax: oneDNN error: %s (status %d)\n", e.what(), (int)e.status);
    return 1;
  }
  return 0;
}
