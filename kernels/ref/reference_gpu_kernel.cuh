// The fp64 GPU reference's gather kernel and its launch (kernels/ref/reference_gpu.cu). Included
// by reference_gpu.cu and, compiled as C++ on the CPU runtime, by the tests.
#pragma once

#include "kernels/common/launch.cuh"
#include "kernels/direct/gather_element.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kReferenceThreads = 256;

// A template only so that the header can define it in every translation unit that includes it.
template <typename Acc>
__global__ void reference_gather_kernel(Problem p, const Acc* x, const Acc* w, const Acc* bias,
                                        Acc* y) {
  const int64_t total = p.y_elems();
  const int ho = int(p.h_out()), wo = int(p.w_out());
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int ox = int(e % wo);
    const int oy = int((e / wo) % ho);
    const int co = int((e / (int64_t(wo) * ho)) % p.c_out);
    const int n = int(e / (int64_t(wo) * ho * p.c_out));
    y[e] = gather_element<Acc>(p, x, w, bias, n, co, oy, ox);
  }
}

inline void reference_gather_launch(cudaStream_t s, const Problem& p, const double* x,
                                    const double* w, const double* bias, double* y) {
  launch(reference_gather_kernel<double>, grid_blocks(p.y_elems(), kReferenceThreads),
         kReferenceThreads, 0, s, p, x, w, bias, y);
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
