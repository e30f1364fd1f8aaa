// gemm_col2im's run: the cuBLAS GEMM arguments, the col2im kernel and its launch
// (kernels/gemm_col2im/gemm_col2im.cu has the algorithm's notes). Included by gemm_col2im.cu and,
// compiled as C++ on the CPU runtime, by the tests, which execute the GEMM arguments with an
// fp64 host GEMM in place of cuBLAS.
#pragma once

#include <algorithm>

#include "kernels/common/cublas_call.hpp"
#include "kernels/common/cublas_types.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/gemm_col2im/gemm_col2im_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kCol2imThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kCol2imThreads)
    col2im_kernel(Problem p, const float* __restrict__ col, const T* __restrict__ bias,
                  T* __restrict__ y, int64_t n0, int64_t total) {
  const int wo = int(p.w_out()), ho = int(p.h_out());
  const int64_t plane = int64_t(ho) * wo;
  T* yc = y + n0 * p.c_out * plane;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int ox = int(e % wo);
    const int oy = int((e / wo) % ho);
    const int co = int((e / plane) % p.c_out);
    const int64_t nl = e / (plane * p.c_out);
    float v = kmath::col2im_element<float>(p, col, nl, co, oy, ox);
    if (bias) v += float(bias[co]);
    yc[e] = T(v);
  }
}

template <typename T>
void col2im_launch(cudaStream_t s, const Problem& p, const float* col, const T* bias, T* y,
                   int64_t n0, int64_t total) {
  launch(col2im_kernel<T>, grid_blocks(total, kCol2imThreads), kCol2imThreads, 0, s, p, col, bias,
         y, n0, total);
}

// One cublasGemmStridedBatchedEx of the plan: col_g^T = X_g^T * W_g (see gemm_col2im_math.hpp).
inline GemmArgs col2im_gemm_args(const kmath::Col2imGemm& plan, const kmath::GemmCall& c,
                                 DType dtype, const void* x_chunk, const void* w, float* col) {
  const CublasTypes types = cublas_types(dtype, "gemm_col2im");
  const size_t elem = storage_bytes(dtype);
  GemmArgs g;
  g.transa = CUBLAS_OP_N;
  g.transb = CUBLAS_OP_T;
  g.m = plan.m, g.n = plan.n, g.k = plan.k;
  g.alpha = 1.0f, g.beta = 0.0f;
  g.a = static_cast<const char*>(x_chunk) + size_t(c.a_off) * elem;
  g.a_type = types.data, g.lda = plan.lda, g.stride_a = c.stride_a;
  g.b = static_cast<const char*>(w) + size_t(c.b_off) * elem;
  g.b_type = types.data, g.ldb = plan.ldb, g.stride_b = c.stride_b;
  g.c = col + c.c_off;
  g.c_type = CUDA_R_32F, g.ldc = plan.ldc, g.stride_c = c.stride_c;
  g.batch = c.batch;
  g.compute = types.compute;
  return g;
}

// The whole run: per chunk of batch items, the plan's GEMMs (through gemm, which executes one
// GemmArgs: cuBLAS on the GPU, an fp64 host GEMM in the tests) into col, then col2im into y.
template <typename Gemm>
void gemm_col2im_run(cudaStream_t s, Gemm&& gemm, const Problem& p, DType dtype, const Tensors& t,
                     float* col, int64_t chunk, const kmath::Col2imGemm& plan_full,
                     const kmath::Col2imGemm& plan_tail) {
  const size_t elem = storage_bytes(dtype);
  const char* x = static_cast<const char*>(t.x);
  const int64_t x_item = p.c_in * p.h_in * p.w_in;
  for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
    const int64_t items = std::min(chunk, p.n - n0);
    const kmath::Col2imGemm& plan = items == chunk ? plan_full : plan_tail;
    const char* xc = x + size_t(n0 * x_item) * elem;
    for (const kmath::GemmCall& c : plan.calls) gemm(col2im_gemm_args(plan, c, dtype, xc, t.w, col));
    const int64_t total = items * p.c_out * p.h_out() * p.w_out();
    switch (dtype) {
      case DType::fp16:
        col2im_launch<__half>(s, p, col, p.has_bias ? static_cast<const __half*>(t.bias) : nullptr,
                              static_cast<__half*>(t.y), n0, total);
        break;
      case DType::bf16:
        col2im_launch<__nv_bfloat16>(
            s, p, col, p.has_bias ? static_cast<const __nv_bfloat16*>(t.bias) : nullptr,
            static_cast<__nv_bfloat16*>(t.y), n0, total);
        break;
      default:
        col2im_launch<float>(s, p, col, p.has_bias ? static_cast<const float*>(t.bias) : nullptr,
                             static_cast<float*>(t.y), n0, total);
        break;
    }
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
