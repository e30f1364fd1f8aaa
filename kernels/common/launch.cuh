// Launch helpers shared by the plain CUDA kernels. Their loops are grid-stride, so the grid only
// needs enough blocks to fill the GPU: capping it keeps any problem size within launch limits.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/problem.hpp"
#include "kernels/common/layout.hpp"

namespace tconv {

inline int grid_blocks(int64_t work, int threads) {
  const int64_t b = (work + threads - 1) / threads;
  return int(std::clamp<int64_t>(b, 1, int64_t(1) << 20));
}

// y[e] = bias[channel of e], for implementations whose library call then accumulates (beta = 1).
template <typename T>
__global__ void bias_fill_kernel(Problem p, bool nhwc, const T* __restrict__ bias,
                                 T* __restrict__ y) {
  const int64_t total = p.y_elems();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = bias[kmath::y_channel(p, nhwc, e)];
}

}  // namespace tconv
