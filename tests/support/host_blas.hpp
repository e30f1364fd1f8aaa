// fp64 host versions of the library calls we make, following what the libraries document, so
// the tests can execute the very arguments our call sites build (kernels/common/cublas_call.hpp).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

#include "kernels/common/cublas_call.hpp"

namespace tconv::testing {

inline double blas_load(cudaDataType t, const void* base, int64_t i) {
  switch (t) {
    case CUDA_R_32F: return double(static_cast<const float*>(base)[i]);
    case CUDA_R_64F: return static_cast<const double*>(base)[i];
    case CUDA_R_16F: return double(__half2float(static_cast<const __half*>(base)[i]));
    case CUDA_R_16BF: return double(__bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]));
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}
inline void blas_store(cudaDataType t, void* base, int64_t i, double v) {
  switch (t) {
    case CUDA_R_32F: static_cast<float*>(base)[i] = float(v); break;
    case CUDA_R_64F: static_cast<double*>(base)[i] = v; break;
    case CUDA_R_16F: static_cast<__half*>(base)[i] = __double2half(v); break;
    case CUDA_R_16BF: static_cast<__nv_bfloat16*>(base)[i] = __double2bfloat16(v); break;
    default: break;
  }
}

// cublasGemmStridedBatchedEx / cublasGemmEx_64 as documented: column-major,
//   C_b = alpha * op(A_b) * op(B_b) + beta * C_b,  X_b = X + b * stride_x,
// op(A) m x k (A stored m x k with N, k x m with T), op(B) k x n; with beta == 0 C is not read.
// Returns why cuBLAS would refuse the arguments (CUBLAS_STATUS_INVALID_VALUE), or "".
inline std::string host_gemm(const GemmArgs& g) {
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0) return "negative size";
  const int64_t a_rows = g.transa == CUBLAS_OP_N ? g.m : g.k;
  const int64_t b_rows = g.transb == CUBLAS_OP_N ? g.k : g.n;
  if (g.lda < std::max<int64_t>(1, a_rows)) return "lda < rows of A";
  if (g.ldb < std::max<int64_t>(1, b_rows)) return "ldb < rows of B";
  if (g.ldc < std::max<int64_t>(1, g.m)) return "ldc < m";
  if (g.c_type != g.a_type && g.c_type != CUDA_R_32F) return "unsupported C type";
  if (g.a_type != g.b_type) return "A and B types differ";
  const size_t esz_a = g.a_type == CUDA_R_32F ? 4 : 2;
  const size_t esz_c = g.c_type == CUDA_R_32F ? 4 : 2;
  for (int64_t b = 0; b < g.batch; ++b) {
    const char* a = static_cast<const char*>(g.a) + size_t(b * g.stride_a) * esz_a;
    const char* bb = static_cast<const char*>(g.b) + size_t(b * g.stride_b) * esz_a;
    char* c = static_cast<char*>(g.c) + size_t(b * g.stride_c) * esz_c;
    for (int64_t j = 0; j < g.n; ++j)
      for (int64_t i = 0; i < g.m; ++i) {
        double s = 0;
        for (int64_t l = 0; l < g.k; ++l) {
          const double av = blas_load(g.a_type, a, g.transa == CUBLAS_OP_N ? i + l * g.lda : l + i * g.lda);
          const double bv = blas_load(g.b_type, bb, g.transb == CUBLAS_OP_N ? l + j * g.ldb : j + l * g.ldb);
          s += av * bv;
        }
        double v = double(g.alpha) * s;
        if (g.beta != 0.0f) v += double(g.beta) * blas_load(g.c_type, c, i + j * g.ldc);
        blas_store(g.c_type, c, i + j * g.ldc, v);
      }
  }
  return "";
}

}  // namespace tconv::testing

#include "kernels/explicit/explicit_spmm_kernel.cuh"

namespace tconv::testing {

// cusparseSpMM with a CSR A as documented: C = alpha * op(A) * op(B) + beta * C, dense B and C in
// the given order and leading dimension. Checks the CSR structure cuSPARSE requires (row_ptr
// monotone from 0 to nnz, columns in range and, for the default algorithm, sorted within a row).
// Returns why the call would be invalid, or "".
inline std::string host_spmm(const SpmmArgs& a, const void* row_ptr, const void* col,
                             const void* val, const void* b, void* c) {
  if (a.op_a != CUSPARSE_OPERATION_NON_TRANSPOSE || a.op_b != CUSPARSE_OPERATION_NON_TRANSPOSE)
    return "only non-transposed operands are modelled";
  if (a.base != CUSPARSE_INDEX_BASE_ZERO) return "only zero-based indices are modelled";
  if (a.x_order != CUSPARSE_ORDER_COL || a.y_order != CUSPARSE_ORDER_COL)
    return "only column-major dense matrices are modelled";
  if (a.x_rows != a.cols) return "B rows != A cols";
  if (a.y_rows != a.rows || a.y_cols != a.x_cols) return "C shape != A rows x B cols";
  if (a.ldx < a.x_rows || a.ldy < a.y_rows) return "leading dimension below rows";
  const bool i64 = a.index_type == CUSPARSE_INDEX_64I;
  auto idx = [&](const void* base, int64_t i) {
    return i64 ? static_cast<const int64_t*>(base)[i] : int64_t(static_cast<const int32_t*>(base)[i]);
  };
  if (idx(row_ptr, 0) != 0 || idx(row_ptr, a.rows) != a.nnz) return "row_ptr does not span nnz";
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t s = idx(row_ptr, r), e = idx(row_ptr, r + 1);
    if (e < s) return "row_ptr decreases at row " + std::to_string(r);
    for (int64_t q = s; q < e; ++q) {
      const int64_t cc = idx(col, q);
      if (cc < 0 || cc >= a.cols) return "column out of range at row " + std::to_string(r);
      if (q > s && cc <= idx(col, q - 1)) return "columns not sorted at row " + std::to_string(r);
    }
  }
  for (int64_t j = 0; j < a.y_cols; ++j)
    for (int64_t r = 0; r < a.rows; ++r) {
      double sum = 0;
      for (int64_t q = idx(row_ptr, r); q < idx(row_ptr, r + 1); ++q)
        sum += blas_load(a.value_type, val, q) * blas_load(a.value_type, b, idx(col, q) + j * a.ldx);
      double v = double(a.alpha) * sum;
      if (a.beta != 0.0f) v += double(a.beta) * blas_load(a.value_type, c, r + j * a.ldy);
      blas_store(a.value_type, c, r + j * a.ldy, v);
    }
  return "";
}

}  // namespace tconv::testing
