// scatter: the transposed convolution's definition run literally. Each thread takes one input
// pixel and one output channel, sums the group's input channels in registers for every tap that
// lands, and atomicAdds the result into y. Memory: none beyond y. The order of the atomic adds
// varies from run to run, so results are not bitwise deterministic. Wins where outputs are few
// and inputs many (small stride, few channels) or as a simple baseline; loses to gather when
// many taps pile onto the same outputs (large kernels), where the atomics contend. Limits:
// fp32 only (float atomicAdd), nchw and nhwc.
#include <algorithm>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/scatter_kernel.cuh"

namespace tconv {
namespace {

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
    scatter_launch(ctx.stream(), p, cfg.layout == Layout::nhwc, static_cast<const float*>(t.x),
                   static_cast<const float*>(t.w), static_cast<const float*>(t.bias),
                   static_cast<float*>(t.y));
  }
  std::string algo() const override { return "1 thread per (input pixel, c_out), float atomicAdd"; }
};

}  // namespace

std::unique_ptr<Implementation> make_scatter() { return std::make_unique<Scatter>(); }

}  // namespace tconv
