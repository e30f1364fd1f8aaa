// The bias pass after a library call that cannot fuse it (the cuDNN backward-data rows,
// cutlass_dgrad): y += bias[channel], rounded once from fp32. None of the cuDNN entry points used
// here fuses a bias into backward-data, and CUTLASS's epilogue runs with beta = 0. (Own kernel
// rather than cudnnAddTensor: that is documented slow for NHWC and its bf16 support is
// uncertain.) Launched through tconv::launch, so the CPU tests run this very kernel
// (tests/test_cpu_run_cudnn_kernels.cpp).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/common/row_util.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace bias_pass {

constexpr int kThreads = 256;

TCONV_HD float to_float(float v) {
  return v;
}
TCONV_HD float to_float(__half v) {
  return __half2float(v);
}
TCONV_HD float to_float(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename T>
TCONV_HD T from_float(float v);
template <>
TCONV_HD float from_float<float>(float v) {
  return v;
}
template <>
TCONV_HD __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
TCONV_HD __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename T>
__global__ void bias_add_kernel(Problem p, bool nhwc, const T* __restrict__ bias, T* y,
                                int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = from_float<T>(to_float(y[e]) + to_float(bias[kmath::y_channel(p, nhwc, e)]));
}

template <typename T>
void launch_bias_add(cudaStream_t s, const Problem& p, bool nhwc, const T* bias, T* y) {
  const int64_t total = p.y_elems();
  launch(bias_add_kernel<T>, grid_blocks(total, kThreads), kThreads, 0, s, p, nhwc, bias, y, total);
}

}  // namespace bias_pass

// The bias pass of a row whose library call wrote y without it; nothing without a bias.
inline void add_bias(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                     const std::string& who) {
  if (!p.has_bias || t.bias == nullptr) return;
  const bool nhwc = cfg.layout == Layout::nhwc;
  dispatch_storage(cfg.dtype, who, [&](auto tag) {
    using T = decltype(tag);
    bias_pass::launch_bias_add<T>(ctx.stream(), p, nhwc, static_cast<const T*>(t.bias),
                                  static_cast<T*>(t.y));
  });
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
