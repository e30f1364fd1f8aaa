// scatter: the transposed convolution's definition run literally. Each thread takes one input
// pixel and one output channel, sums the group's input channels in registers for every tap that
// lands, and atomicAdds the result into y. Memory: none beyond y. The order of the atomic adds
// varies from run to run, so results are not bitwise deterministic. Wins where outputs are few
// and inputs many (small stride, few channels) or as a simple baseline; loses to gather when
// many taps pile onto the same outputs (large kernels), where the atomics contend. Limits:
// fp32 only (float atomicAdd), nchw and nhwc.
#include <algorithm>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/scatter_math.hpp"

namespace tconv {
namespace {

constexpr int kThreads = 256;

template <bool Nhwc>
__global__ void __launch_bounds__(kThreads)
    scatter_bias_fill_kernel(Problem p, const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t total = p.y_elems();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x)
    y[e] = bias[kmath::y_channel(p, Nhwc, e)];
}

template <bool Nhwc>
__global__ void __launch_bounds__(kThreads)
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

template <bool Nhwc>
void launch(Context& ctx, const Problem& p, const Tensors& t) {
  float* y = static_cast<float*>(t.y);
  // y is cleared (or set to the bias) inside the timed region: the harness poisons it.
  if (p.has_bias && t.bias) {
    scatter_bias_fill_kernel<Nhwc><<<grid_blocks(p.y_elems(), kThreads), kThreads, 0, ctx.stream()>>>(
        p, static_cast<const float*>(t.bias), y);
    TCONV_CHECK_LAUNCH();
  } else {
    TCONV_CUDA_CHECK(cudaMemsetAsync(y, 0, size_t(p.y_elems()) * sizeof(float), ctx.stream()));
  }
  scatter_kernel<Nhwc><<<grid_blocks(kmath::scatter_item_count(p), kThreads), kThreads, 0, ctx.stream()>>>(
      p, static_cast<const float*>(t.x), static_cast<const float*>(t.w), y);
  TCONV_CHECK_LAUNCH();
}

class Scatter : public Implementation {
 public:
  std::string name() const override { return "scatter"; }
  std::string summary() const override {
    return "CUDA scatter: atomicAdd of each input pixel's contributions (nondeterministic)";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (cfg.dtype != DType::fp32)
      return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                         " not implemented (fp32 only: float atomicAdd)");
    return Support::yes();
  }
  double work_ratio(const Problem& p) const override { return kmath::landing_fraction(p); }
  int64_t planned_workspace_bytes(const Problem&, const Config&) const override { return 0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (cfg.layout == Layout::nhwc)
      launch<true>(ctx, p, t);
    else
      launch<false>(ctx, p, t);
  }
  std::string algo() const override { return "1 thread per (input pixel, c_out), float atomicAdd"; }
};

}  // namespace

std::unique_ptr<Implementation> make_scatter() { return std::make_unique<Scatter>(); }

}  // namespace tconv
