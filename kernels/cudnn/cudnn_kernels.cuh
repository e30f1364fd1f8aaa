// The plain kernels around zero_insert_cudnn's library call: its zero-inserted input and flipped
// weight (the bias pass of the library rows is kernels/common/bias_add.cuh). Launched through tconv::launch, so the CPU tests run
// these very kernels with the grid the GPU gets (tests/test_cpu_run_cudnn_kernels.cpp).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/common/bias_add.cuh"
#include "kernels/common/launch.cuh"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace dnn_kernels {

constexpr int kThreads = 256;

using bias_pass::from_float;
using bias_pass::to_float;

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
