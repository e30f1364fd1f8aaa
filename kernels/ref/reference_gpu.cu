#include "kernels/common/cuda_check.hpp"
#include "kernels/direct/gather_element.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/ref/reference_gpu.hpp"

namespace tconv {
namespace {

__global__ void reference_gather_kernel(Problem p, const double* x, const double* w,
                                        const double* bias, double* y) {
  const int64_t total = p.y_elems();
  const int ho = int(p.h_out()), wo = int(p.w_out());
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int ox = int(e % wo);
    const int oy = int((e / wo) % ho);
    const int co = int((e / (int64_t(wo) * ho)) % p.c_out);
    const int n = int(e / (int64_t(wo) * ho * p.c_out));
    y[e] = gather_element<double>(p, x, w, bias, n, co, oy, ox);
  }
}

}  // namespace

void reference_gpu_fp64(Context& ctx, const Problem& p, const double* x, const double* w,
                        const double* bias, double* y) {
  const int threads = 256;
  const int64_t blocks64 = (p.y_elems() + threads - 1) / threads;
  const int blocks = int(blocks64 < 65535 * 16 ? blocks64 : 65535 * 16);
  reference_gather_kernel<<<blocks, threads, 0, ctx.stream()>>>(p, x, w, bias, y);
  TCONV_CHECK_LAUNCH();
}

}  // namespace tconv
