// The arguments of one cuBLAS GEMM call, as data. Each cuBLAS call site builds a GemmArgs in a
// small function that the tests call too; the tests then execute those very arguments with an
// fp64 host GEMM that follows cuBLAS's documented column-major semantics
// (tests/support/host_blas.hpp), so a wrong transpose, leading dimension, stride or beta fails
// on a machine without a GPU.
#pragma once

#include <cublas_v2.h>

#include <cstdint>

namespace tconv {

struct GemmArgs {
  cublasOperation_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;  // host scalars of a 32F compute type
  const void* a = nullptr;
  cudaDataType a_type = CUDA_R_32F;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  cudaDataType b_type = CUDA_R_32F;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  cudaDataType c_type = CUDA_R_32F;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;  // 1 with strides unused: a plain cublasGemmEx_64
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
};

}  // namespace tconv
