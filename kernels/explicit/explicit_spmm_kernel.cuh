// explicit_spmm's CSR builder kernel, the fill of y before the SpMM, and the cuSPARSE call's
// arguments (kernels/explicit/explicit_spmm.cu has the algorithm's notes). Included by
// explicit_spmm.cu and, compiled as C++ on the CPU runtime, by the tests, which execute the SpMM
// arguments with an fp64 host CSR SpMM in place of cuSPARSE.
#pragma once

#include <cusparse.h>

#include <string>

#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/explicit/explicit_spmm_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kCsrFillThreads = 256;

template <typename I, typename T>
__global__ void __launch_bounds__(kCsrFillThreads)
    csr_fill_kernel(Problem p, bool nhwc, const int64_t* __restrict__ sy,
                    const int64_t* __restrict__ sx, const T* __restrict__ w, I* row_ptr, I* col,
                    T* val, int64_t total) {
  const int cig = int(p.c_in_per_group());
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    kmath::csr_fill<I, T, T>(p, nhwc, e / cig, int(e % cig), sy, sx, w, row_ptr, col, val);
}

inline int64_t csr_rows(const Problem& p) { return p.c_out * p.h_out() * p.w_out(); }
inline int64_t csr_cols(const Problem& p) { return p.c_in * p.h_in * p.w_in; }

// Fills row_ptr (rows + 1), col and val (nnz each) from the tap prefix sums sy, sx
// (kmath::csr_tap_prefix), with int32 or int64 indices.
template <typename T>
void csr_fill_launch(cudaStream_t s, const Problem& p, bool nhwc, bool idx64, const int64_t* sy,
                     const int64_t* sx, const T* w, void* row_ptr, void* col, T* val) {
  const int64_t items = csr_rows(p) * p.c_in_per_group();
  if (idx64)
    launch(csr_fill_kernel<int64_t, T>, grid_blocks(items, kCsrFillThreads), kCsrFillThreads, 0, s,
           p, nhwc, sy, sx, w, static_cast<int64_t*>(row_ptr), static_cast<int64_t*>(col), val,
           items);
  else
    launch(csr_fill_kernel<int32_t, T>, grid_blocks(items, kCsrFillThreads), kCsrFillThreads, 0, s,
           p, nhwc, sy, sx, w, static_cast<int32_t*>(row_ptr), static_cast<int32_t*>(col), val,
           items);
}

inline cudaDataType spmm_value_type(DType t) {
  switch (t) {
    case DType::fp32: return CUDA_R_32F;
    case DType::fp16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    default: throw Error(std::string("explicit_spmm: dtype ") + to_string(t) + " not implemented");
  }
}

inline void csr_fill_launch(cudaStream_t s, const Problem& p, bool nhwc, DType dtype, bool idx64,
                            const int64_t* sy, const int64_t* sx, const void* w, void* row_ptr,
                            void* col, void* val) {
  switch (dtype) {
    case DType::fp16:
      csr_fill_launch(s, p, nhwc, idx64, sy, sx, static_cast<const __half*>(w), row_ptr, col,
                      static_cast<__half*>(val));
      break;
    case DType::bf16:
      csr_fill_launch(s, p, nhwc, idx64, sy, sx, static_cast<const __nv_bfloat16*>(w), row_ptr,
                      col, static_cast<__nv_bfloat16*>(val));
      break;
    default:
      csr_fill_launch(s, p, nhwc, idx64, sy, sx, static_cast<const float*>(w), row_ptr, col,
                      static_cast<float*>(val));
      break;
  }
}

// Everything cusparseCreateCsr, cusparseCreateDnMat (x and y) and cusparseSpMM receive:
//   Y (rows x N, column-major, ld rows) = alpha * op_a(C^T as CSR) * op_b(X) + beta * Y
// with X (cols x N, column-major, ld cols): a batch item's flattened x is one column.
struct SpmmArgs {
  cusparseOperation_t op_a = CUSPARSE_OPERATION_NON_TRANSPOSE;
  cusparseOperation_t op_b = CUSPARSE_OPERATION_NON_TRANSPOSE;
  float alpha = 1.0f, beta = 1.0f;
  int64_t rows = 0, cols = 0, nnz = 0;
  cusparseIndexType_t index_type = CUSPARSE_INDEX_32I;
  cusparseIndexBase_t base = CUSPARSE_INDEX_BASE_ZERO;
  cudaDataType value_type = CUDA_R_32F;
  int64_t x_rows = 0, x_cols = 0, ldx = 0;
  cusparseOrder_t x_order = CUSPARSE_ORDER_COL;
  int64_t y_rows = 0, y_cols = 0, ldy = 0;
  cusparseOrder_t y_order = CUSPARSE_ORDER_COL;
  cudaDataType compute = CUDA_R_32F;
};

inline SpmmArgs explicit_spmm_args(const Problem& p, DType dtype, bool idx64, int64_t nnz) {
  SpmmArgs a;
  // y starts as the broadcast bias or zero and SpMM accumulates onto it (beta = 1): whether
  // SpMM reads y when beta = 0 is not documented, and y is poisoned with NaN.
  a.alpha = 1.0f, a.beta = 1.0f;
  a.rows = csr_rows(p), a.cols = csr_cols(p), a.nnz = nnz;
  a.index_type = idx64 ? CUSPARSE_INDEX_64I : CUSPARSE_INDEX_32I;
  a.value_type = spmm_value_type(dtype);
  a.x_rows = a.cols, a.x_cols = p.n, a.ldx = a.cols;
  a.y_rows = a.rows, a.y_cols = p.n, a.ldy = a.rows;
  return a;
}

// What run() does before the SpMM: y = broadcast bias, or zero.
inline void explicit_spmm_prefill(cudaStream_t s, const Problem& p, DType dtype, bool nhwc,
                                  const Tensors& t) {
  if (p.has_bias && t.bias) {
    launch_bias_fill(s, p, dtype, nhwc, t.bias, t.y);
  } else {
    memset_async(t.y, 0, size_t(p.y_elems()) * storage_bytes(dtype), s);
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
