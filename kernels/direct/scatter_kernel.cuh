// The scatter kernels and their launch (kernels/direct/scatter.cu has the algorithm's notes).
// Included by scatter.cu and, compiled as C++ on the CPU runtime, by the tests.
#pragma once

#include "kernels/common/launch.cuh"
#include "kernels/direct/scatter_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kScatterThreads = 256;

template <bool Nhwc>
__global__ void __launch_bounds__(kScatterThreads)
    scatter_bias_fill_kernel(Problem p, const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t total = p.y_elems();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = bias[kmath::y_channel(p, Nhwc, e)];
}

template <bool Nhwc>
__global__ void __launch_bounds__(kScatterThreads)
    scatter_kernel(Problem p, const float* __restrict__ x, const float* __restrict__ w,
                   float* __restrict__ y) {
  const int64_t total = kmath::scatter_item_count(p);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const kmath::ScatterItem it = kmath::scatter_item(p, Nhwc, i);
    kmath::scatter_contributions<float>(p, Nhwc, x, w, it,
                                        [y](int64_t off, float v) { atomicAdd(y + off, v); });
  }
}

// y is cleared (or set to the bias) here, inside the timed region: the harness poisons it.
template <bool Nhwc>
void scatter_launch(cudaStream_t s, const Problem& p, const float* x, const float* w,
                    const float* bias, float* y) {
  if (p.has_bias && bias)
    launch(scatter_bias_fill_kernel<Nhwc>, grid_blocks(p.y_elems(), kScatterThreads),
           kScatterThreads, 0, s, p, bias, y);
  else
    memset_async(y, 0, size_t(p.y_elems()) * sizeof(float), s);
  launch(scatter_kernel<Nhwc>, grid_blocks(kmath::scatter_item_count(p), kScatterThreads),
         kScatterThreads, 0, s, p, x, w, y);
}

inline void scatter_launch(cudaStream_t s, const Problem& p, bool nhwc, const float* x,
                           const float* w, const float* bias, float* y) {
  if (nhwc)
    scatter_launch<true>(s, p, x, w, bias, y);
  else
    scatter_launch<false>(s, p, x, w, bias, y);
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
