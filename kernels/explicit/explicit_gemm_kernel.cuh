// explicit_gemm's C^T builder kernel, its bias fill and the cuBLAS GEMM's arguments
// (kernels/explicit/explicit_gemm.cu has the algorithm's notes). Included by explicit_gemm.cu
// and, compiled as C++ on the CPU runtime, by the tests, which execute the GEMM arguments with an
// fp64 host GEMM in place of cuBLAS.
#pragma once

#include "kernels/common/cublas_call.hpp"
#include "kernels/common/cublas_types.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/explicit/explicit_gemm_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kBuildCtThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kBuildCtThreads)
    build_ct_kernel(Problem p, bool nhwc, const T* __restrict__ w, T* __restrict__ ct,
                    int64_t rows, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const kmath::CtEntry c = kmath::ct_entry(p, nhwc, e);
    if (c.r >= 0) ct[c.k * rows + c.r] = w[c.w_off];
  }
}

// ct: c_cols * c_rows elements of T, cleared here and then filled with the landing weights.
template <typename T>
void build_ct_launch(cudaStream_t s, const Problem& p, bool nhwc, const T* w, T* ct) {
  const int64_t total = kmath::ct_candidate_count(p), rows = kmath::c_rows(p);
  memset_async(ct, 0, size_t(kmath::c_cols(p)) * size_t(rows) * sizeof(T), s);
  launch(build_ct_kernel<T>, grid_blocks(total, kBuildCtThreads), kBuildCtThreads, 0, s, p, nhwc, w,
         ct, rows, total);
}

inline void build_ct_launch(cudaStream_t s, const Problem& p, bool nhwc, DType dtype,
                            const void* w, void* ct) {
  switch (dtype) {
    case DType::fp16:
      build_ct_launch(s, p, nhwc, static_cast<const __half*>(w), static_cast<__half*>(ct));
      break;
    case DType::bf16:
      build_ct_launch(s, p, nhwc, static_cast<const __nv_bfloat16*>(w),
                      static_cast<__nv_bfloat16*>(ct));
      break;
    default:
      build_ct_launch(s, p, nhwc, static_cast<const float*>(w), static_cast<float*>(ct));
      break;
  }
}

// The one cublasGemmEx_64 of the batch: Y = X * C^T (column-major, see explicit_gemm_math.hpp),
// accumulating onto the bias fill (beta = 1) when there is a bias.
inline GemmArgs explicit_gemm_args(const Problem& p, DType dtype, const void* ct, const void* x,
                                   void* y, bool bias) {
  const CublasTypes types = cublas_types(dtype, "explicit_gemm");
  const kmath::DenseGemm d = kmath::explicit_gemm_plan(p);
  GemmArgs g;
  g.transa = CUBLAS_OP_N, g.transb = CUBLAS_OP_N;
  g.m = d.m, g.n = d.n, g.k = d.k;
  g.alpha = 1.0f, g.beta = bias ? 1.0f : 0.0f;
  g.a = ct, g.a_type = types.data, g.lda = d.lda;
  g.b = x, g.b_type = types.data, g.ldb = d.ldb;
  g.c = y, g.c_type = types.data, g.ldc = d.ldc;
  g.compute = types.compute;
  return g;
}

// run(): the bias fill (y starts as the broadcast bias, or is left for beta = 0), then the GEMM
// through gemm (cuBLAS on the GPU, an fp64 host GEMM in the tests).
template <typename Gemm>
void explicit_gemm_run(cudaStream_t s, Gemm&& gemm, const Problem& p, DType dtype, bool nhwc,
                       const Tensors& t, const void* ct) {
  const bool bias = p.has_bias && t.bias;
  if (bias) {
    launch_bias_fill(s, p, dtype, nhwc, t.bias, t.y);
  }
  gemm(explicit_gemm_args(p, dtype, ct, t.x, t.y, bias));
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
