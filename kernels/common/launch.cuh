// The one way our kernels are launched: tconv::launch(kernel, grid, block, smem, stream, args...).
// Under nvcc it is kernel<<<...>>> followed by TCONV_CHECK_LAUNCH(); compiled by a plain C++
// compiler (the tests) it runs the same kernel with the same grid, block and shared memory on
// the CPU runtime of tests/cpu_cuda, so what the CPU tests check is what the GPU gets.
// The plain kernels' loops are grid-stride, so the grid only needs enough blocks to fill the GPU:
// capping it keeps any problem size within launch limits.
//
// Kernel headers open namespace tconv::TCONV_KERNEL_NS: an inline namespace whose name differs
// between the two builds, so the CPU build of a kernel template can never be merged by the
// linker with the GPU build's host stub of the same name.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#if defined(__CUDACC__)
#include "kernels/common/cuda_check.hpp"
#define TCONV_KERNEL_NS gpu_run
#else
#include "tests/cpu_cuda/cpu_cuda.hpp"
#include "tests/cpu_cuda/grid_cap.hpp"
#define TCONV_KERNEL_NS cpu_run
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/layout.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

#if defined(__CUDACC__)
template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
            A&&... args) {
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
  TCONV_CHECK_LAUNCH();
}

inline void memset_async(void* p, int value, size_t bytes, cudaStream_t stream) {
  TCONV_CUDA_CHECK(cudaMemsetAsync(p, value, bytes, stream));
}
#endif

// One dimension of a grid-stride kernel's grid: `blocks` (one pass over the work) clamped to
// [1, hi]. Every grid-stride launch sizes its grid here, so that the CPU tests can cap it further
// (tests/cpu_cuda/grid_cap.hpp) and run each loop's later passes on small problems.
inline unsigned grid_extent(int64_t blocks, int64_t hi) {
#if !defined(__CUDACC__)
  const int64_t cap = ::cpu_cuda::next_grid_cap();
  if (cap > 0) hi = std::min(hi, cap);
#endif
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
