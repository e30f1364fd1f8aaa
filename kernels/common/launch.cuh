// The one way our kernels are launched: tconv::launch(kernel, grid, block, smem, stream, args...),
// the seam's launch (kernels/common/seam.cuh): on the GPU kernel<<<...>>> followed by a launch
// check, compiled by a plain C++ compiler (the tests) the same kernel with the same grid, block
// and shared memory on the CPU runtime (cpu_cuda/), so what the CPU tests check is what the GPU
// gets. The plain kernels' loops are grid-stride, so the grid only needs enough blocks to fill
// the GPU: capping it keeps any problem size within launch limits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/layout.hpp"
#include "kernels/common/seam.cuh"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

using seam::launch;
using seam::memset_async;

// One dimension of a grid-stride kernel's grid: `blocks` (one pass over the work) clamped to
// [1, hi]. Every grid-stride launch sizes its grid here, so that the CPU tests can cap it further
// (cpu_cuda/grid_cap.hpp) and run each loop's later passes on small problems.
inline unsigned grid_extent(int64_t blocks, int64_t hi) {
  const int64_t cap = seam::grid_cap();
  if (cap > 0) hi = std::min(hi, cap);
  return unsigned(std::clamp<int64_t>(blocks, 1, hi));
}

inline int grid_blocks(int64_t work, int threads) {
  return int(grid_extent((work + threads - 1) / threads, int64_t(1) << 20));
}

// Threads per block of the plain grid-stride kernels (bias fill, builders, col2im).
constexpr int kBiasFillThreads = 256;

// y[e] = bias[channel of e], for implementations whose library call then accumulates (beta = 1).
template <typename T>
__global__ void bias_fill_kernel(Problem p, bool nhwc, const T* __restrict__ bias,
                                 T* __restrict__ y) {
  const int64_t total = p.y_elems();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = bias[kmath::y_channel(p, nhwc, e)];
}

template <typename T>
void launch_bias_fill(cudaStream_t s, const Problem& p, bool nhwc, const T* bias, T* y) {
  launch(bias_fill_kernel<T>, grid_blocks(p.y_elems(), kBiasFillThreads), kBiasFillThreads, 0, s,
         p, nhwc, bias, y);
}

// The same for a storage dtype known only at run time (tf32 is stored as fp32).
inline void launch_bias_fill(cudaStream_t s, const Problem& p, DType dtype, bool nhwc,
                             const void* bias, void* y) {
  switch (dtype) {
    case DType::fp16:
      launch_bias_fill(s, p, nhwc, static_cast<const __half*>(bias), static_cast<__half*>(y));
      break;
    case DType::bf16:
      launch_bias_fill(s, p, nhwc, static_cast<const __nv_bfloat16*>(bias),
                       static_cast<__nv_bfloat16*>(y));
      break;
    default:
      launch_bias_fill(s, p, nhwc, static_cast<const float*>(bias), static_cast<float*>(y));
      break;
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
