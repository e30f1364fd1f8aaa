// Hardware ceilings measured in the same run as the rows they frame: device-to-device copy
// bandwidth and cuBLAS GEMM rates (SGEMM without tensor cores, TF32, HGEMM with fp32 compute).
// Operands hold random values, not zeros: tensor cores draw less power (and clock higher) on
// zeros, which would flatter the ceiling. A private cuBLAS handle keeps the math-mode settings
// away from the implementations' handle.
#include <cuda_fp16.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "bench/ceilings_kernels.cuh"
#include "bench/harness.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/cuda_event.hpp"

namespace tconv {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t s) {
    TCONV_CUBLAS_CHECK(cublasCreate(&h));
    TCONV_CUBLAS_CHECK(cublasSetStream(h, s));
  }
  ~CublasHandle() { cublasDestroy(h); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t h = nullptr;
};

// Best time in ms of `reps` event-timed calls after one warm-up.
double best_ms(cudaStream_t s, int reps, const std::function<void()>& fn) {
  EventPair ev;
  double best = 1e30;
  fn();
  TCONV_CUDA_CHECK(cudaStreamSynchronize(s));
  for (int i = 0; i < reps; ++i) {
    ev.record_start(s);
    fn();
    ev.record_stop(s);
    best = std::min(best, double(ev.elapsed_ms()));
  }
  return best;
}

double measure(const char* what, const std::function<double()>& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tconv_bench: ceiling %s not measured: %s\n", what, e.what());
    return kNaN;
  }
}

}  // namespace

void measure_ceilings(Context& ctx, RunInfo& info) {
  cudaStream_t s = ctx.stream();
  const size_t budget = ctx.memory_budget();

  info.ceiling_copy_gbps = measure("copy", [&] {
    size_t bytes = size_t(1) << 30;
    while (bytes > (size_t(16) << 20) && 2 * bytes > budget) bytes /= 2;
    DeviceBuffer src(bytes), dst(bytes);
    TCONV_CUDA_CHECK(cudaMemsetAsync(src.get(), 1, bytes, s));
    const double ms = best_ms(s, 5, [&] {
      TCONV_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, s));
    });
    return 2.0 * double(bytes) / (ms * 1e-3) * 1e-9;  // read + written
  });

  int n = 8192;
  while (n > 1024 && 3 * size_t(n) * size_t(n) * sizeof(float) > budget) n /= 2;
  const size_t elems = size_t(n) * size_t(n);
  DeviceBuffer a, b, c;
  try {
    a.resize(elems * sizeof(float));
    b.resize(elems * sizeof(float));
    c.resize(elems * sizeof(float));
    ceilings::launch_fill(s, a.as<float>(), int64_t(elems));
    ceilings::launch_fill(s, b.as<float>(), int64_t(elems));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tconv_bench: GEMM ceilings not measured: %s\n", e.what());
    return;
  }
  // Every GEMM's sizes, leading dimensions, alpha/beta and types come from square_gemm_args,
  // which the CPU tests execute; the FLOP count from the same arguments.
  auto gemm_ex = [&](cublasHandle_t h, const GemmArgs& g) {
    TCONV_CUBLAS_CHECK(cublasGemmEx(h, g.transa, g.transb, int(g.m), int(g.n), int(g.k), &g.alpha,
                                    g.a, g.a_type, int(g.lda), g.b, g.b_type, int(g.ldb), &g.beta,
                                    g.c, g.c_type, int(g.ldc), g.compute, CUBLAS_GEMM_DEFAULT));
  };

  info.ceiling_sgemm_tflops = measure("sgemm", [&] {
    CublasHandle h(s);
    TCONV_CUBLAS_CHECK(cublasSetMathMode(h.h, CUBLAS_DEFAULT_MATH));  // no tf32
    const GemmArgs g = ceilings::square_gemm_args(n, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F,
                                                  a.get(), b.get(), c.get());
    const double ms = best_ms(s, 3, [&] { gemm_ex(h.h, g); });
    return ceilings::gemm_flops(g) / (ms * 1e-3) * 1e-12;
  });

  info.ceiling_tf32_tflops = measure("tf32", [&] {
    CublasHandle h(s);
    const GemmArgs g = ceilings::square_gemm_args(n, CUDA_R_32F, CUDA_R_32F,
                                                  CUBLAS_COMPUTE_32F_FAST_TF32, a.get(), b.get(),
                                                  c.get());
    const double ms = best_ms(s, 3, [&] { gemm_ex(h.h, g); });
    return ceilings::gemm_flops(g) / (ms * 1e-3) * 1e-12;
  });

  info.ceiling_hgemm_tflops = measure("hgemm", [&] {
    // fp16 operands packed into the fp32 buffers (half the bytes).
    ceilings::launch_fill(s, a.as<__half>(), int64_t(elems));
    ceilings::launch_fill(s, b.as<__half>(), int64_t(elems));
    CublasHandle h(s);
    const GemmArgs g = ceilings::square_gemm_args(n, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F,
                                                  a.get(), b.get(), c.get());
    const double ms = best_ms(s, 3, [&] { gemm_ex(h.h, g); });
    return ceilings::gemm_flops(g) / (ms * 1e-3) * 1e-12;
  });
  ctx.synchronize();
}

}  // namespace tconv
