// What the ceiling measurements (bench/ceilings.cu) run besides the libraries: the fill of the
// GEMM operands, and the arguments of the three cuBLAS GEMMs whose FLOP rate becomes the
// roofline's compute ceilings. Here, rather than in the .cu file, so that the CPU tests run the
// fill kernels on the CPU runtime and execute the GEMM arguments with the fp64 host GEMM
// (tests/test_cpu_run_ceilings.cpp): a wrong size or leading dimension would misstate every
// ceiling and every "percent of the floor" in the reports.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/common/cublas_call.hpp"
#include "kernels/common/launch.cuh"

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace ceilings {

// Uniform in [-1, 1) from the element index (a hash, so every run and every element differs
// without a random state): random data, never zeros, which can run faster than real data.
TCONV_HD float hash_uniform(unsigned i) {
  i ^= i >> 16;
  i *= 0x7feb352du;
  i ^= i >> 15;
  i *= 0x846ca68bu;
  i ^= i >> 16;
  return float(i >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

template <typename T>
__global__ void fill_kernel(T* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    p[i] = T(hash_uniform(unsigned(i)));
}

constexpr int kFillThreads = 256;

template <typename T>
void launch_fill(cudaStream_t s, T* p, int64_t n) {
  launch(fill_kernel<T>, grid_blocks(n, kFillThreads), kFillThreads, 0, s, p, n);
}

// C = A * B, n x n x n, column-major, beta = 0 (C not read): the GEMM each ceiling times.
inline GemmArgs square_gemm_args(int64_t n, cudaDataType in_type, cudaDataType out_type,
                                 cublasComputeType_t compute, const void* a, const void* b,
                                 void* c) {
  GemmArgs g;
  g.transa = g.transb = CUBLAS_OP_N;
  g.m = g.n = g.k = n;
  g.alpha = 1.0f;
  g.beta = 0.0f;
  g.a = a, g.a_type = in_type, g.lda = n;
  g.b = b, g.b_type = in_type, g.ldb = n;
  g.c = c, g.c_type = out_type, g.ldc = n;
  g.compute = compute;
  return g;
}

// The useful FLOPs of those arguments: one multiply-add per (i, j, l).
inline double gemm_flops(const GemmArgs& g) { return 2.0 * double(g.m) * double(g.n) * double(g.k); }

}  // namespace ceilings
}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
