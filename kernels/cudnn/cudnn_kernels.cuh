// The plain kernels around the library calls of the cuDNN and CUTLASS rows: the bias pass after
// backward-data (cudnn_algo*, cudnn_find, cudnn_graph, cutlass_dgrad) and zero_insert_cudnn's
// zero-inserted input and flipped weight. Launched through tconv::launch, so the CPU tests run
// these very kernels with the grid the GPU gets (tests/test_cpu_run_cudnn_kernels.cpp).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/common/launch.cuh"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace dnn_kernels {

constexpr int kThreads = 256;

TCONV_HD float to_float(float v) { return v; }
TCONV_HD float to_float(__half v) { return __half2float(v); }
TCONV_HD float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
TCONV_HD T from_float(float v);
template <>
TCONV_HD float from_float<float>(float v) { return v; }
template <>
TCONV_HD __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
TCONV_HD __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// y += bias[channel], rounded once from fp32. A separate pass after the library call: none of
// the cuDNN entry points used here fuses a bias into backward-data, and CUTLASS's epilogue runs
// with beta = 0. (Own kernel rather than cudnnAddTensor: that is documented slow for NHWC and
// its bf16 support is uncertain.)
template <typename T>
__global__ void bias_add_kernel(Problem p, bool nhwc, const T* __restrict__ bias, T* y,
                                int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int c = dnn::output_channel<int>(p, nhwc, int(e));
    y[e] = from_float<T>(to_float(y[e]) + to_float(bias[c]));
  }
}

template <typename T>
void launch_bias_add(cudaStream_t s, const Problem& p, bool nhwc, const T* bias, T* y) {
  const int64_t total = p.y_elems();
  launch(bias_add_kernel<T>, grid_blocks(total, kThreads), kThreads, 0, s, p, nhwc, bias, y,
         total);
}

// z: x with stride-1 zeros between its pixels and dil*(k-1)-pad of border (zeros elsewhere).
template <typename T>
__global__ void zero_insert_kernel(Problem p, bool nhwc, const T* __restrict__ x, T* z,
                                   int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int src = dnn::zero_insert_source_index<int>(p, nhwc, int(e));
    z[e] = src >= 0 ? x[src] : from_float<T>(0.0f);
  }
}

// wz: the weight flipped up-down and left-right with its channel roles swapped (the forward
// convolution's filter).
template <typename T>
__global__ void flip_weight_kernel(Problem p, bool nhwc, const T* __restrict__ w, T* wz,
                                   int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    wz[e] = w[dnn::flipped_weight_source_index<int>(p, nhwc, int(e))];
}

template <typename T>
void launch_zero_insert_transform(cudaStream_t s, const Problem& p, bool nhwc, const T* x, T* z,
                                  int64_t z_total, const T* w, T* wz) {
  launch(zero_insert_kernel<T>, grid_blocks(z_total, kThreads), kThreads, 0, s, p, nhwc, x, z,
         z_total);
  const int64_t w_total = p.w_elems();
  launch(flip_weight_kernel<T>, grid_blocks(w_total, kThreads), kThreads, 0, s, p, nhwc, w, wz,
         w_total);
}

}  // namespace dnn_kernels
}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
