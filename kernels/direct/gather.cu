// gather: one thread per output pixel and tile of up to 8 output channels of one group. The
// thread finds the taps that reach its pixel once (idx::taps_for_output, a closed form per
// dimension), then for each input channel of the group and each such tap loads x once and
// multiplies it into all its channels. No atomics, every output written exactly once:
// deterministic. Memory: none beyond y. Only landing taps are multiplied, so no inserted zeros
// and no work past the borders. Wins over scatter when many taps meet at each output (large
// kernels, dilation) and needs no clearing of y; loses to GEMM-based methods when channels are
// many, since nothing here uses tensor cores or shared-memory tiling of x. Limits: fp32, fp16,
// bf16 storage with fp32 accumulation; nchw and nhwc.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/gather_kernel.cuh"

namespace tconv {
namespace {

class Gather : public Implementation {
 public:
  std::string name() const override { return "gather"; }
  std::string summary() const override {
    return "CUDA gather: 1 thread per output pixel x 8 channels, landing taps only, deterministic";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    switch (cfg.dtype) {
      case DType::fp32:
      case DType::fp16:
      case DType::bf16:
        return Support::yes();
      default:
        return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                           " not implemented (fp32, fp16, bf16: CUDA cores, fp32 accumulation)");
    }
  }
  double work_ratio(const Problem& p) const override { return kmath::landing_fraction(p); }
  int64_t planned_workspace_bytes(const Problem&, const Config&) const override { return 0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    switch (cfg.dtype) {
      case DType::fp16:
        gather_launch<__half>(ctx.stream(), p, cfg.layout == Layout::nhwc, t);
        break;
      case DType::bf16:
        gather_launch<__nv_bfloat16>(ctx.stream(), p, cfg.layout == Layout::nhwc, t);
        break;
      case DType::fp32:
        gather_launch<float>(ctx.stream(), p, cfg.layout == Layout::nhwc, t);
        break;
      default:
        throw Error(std::string("gather: dtype ") + to_string(cfg.dtype) + " not implemented");
    }
  }
  Status initialize(Context&, const Problem& p, const Config&, const Tensors&, const Plan&,
                    Workspace) override {
    co_tile_ = kmath::pick_co_tile(p);
    return Status::ok();
  }
  std::string algo() const override {
    return "1 thread per output pixel x " + std::to_string(co_tile_) + " channels";
  }

 private:
  int co_tile_ = 8;
};

}  // namespace

std::unique_ptr<Implementation> make_gather() {
  return std::make_unique<Gather>();
}

}  // namespace tconv
