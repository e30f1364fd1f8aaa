// The gather kernel and its launch (kernels/direct/gather.cu has the algorithm's notes).
// Included by gather.cu and, compiled as C++ on the CPU runtime, by the tests.
#pragma once

#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/direct/gather_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kGatherThreads = 256;

template <int CoT, bool Nhwc, typename T>
__global__ void __launch_bounds__(kGatherThreads)
    gather_kernel(Problem p, const T* __restrict__ x, const T* __restrict__ w,
                  const T* __restrict__ bias, T* __restrict__ y) {
  const int64_t total = kmath::gather_item_count(p, CoT);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x)
    kmath::gather_tile<CoT, float>(p, Nhwc, x, w, bias, y, kmath::gather_item(p, Nhwc, CoT, i));
}

template <int CoT, bool Nhwc, typename T>
void gather_launch_tile(cudaStream_t s, const Problem& p, const Tensors& t) {
  launch(gather_kernel<CoT, Nhwc, T>, grid_blocks(kmath::gather_item_count(p, CoT), kGatherThreads),
         kGatherThreads, 0, s, p, static_cast<const T*>(t.x), static_cast<const T*>(t.w),
         p.has_bias ? static_cast<const T*>(t.bias) : nullptr, static_cast<T*>(t.y));
}

template <bool Nhwc, typename T>
void gather_launch_layout(cudaStream_t s, const Problem& p, const Tensors& t) {
  switch (kmath::pick_co_tile(p)) {
    case 8: gather_launch_tile<8, Nhwc, T>(s, p, t); break;
    case 4: gather_launch_tile<4, Nhwc, T>(s, p, t); break;
    case 2: gather_launch_tile<2, Nhwc, T>(s, p, t); break;
    default: gather_launch_tile<1, Nhwc, T>(s, p, t); break;
  }
}

template <typename T>
void gather_launch(cudaStream_t s, const Problem& p, bool nhwc, const Tensors& t) {
  if (nhwc)
    gather_launch_layout<true, T>(s, p, t);
  else
    gather_launch_layout<false, T>(s, p, t);
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
