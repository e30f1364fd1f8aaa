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
#include "kernels/common/launch.cuh"
#include "kernels/direct/gather_math.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {
namespace {

constexpr int kThreads = 256;

template <int CoT, bool Nhwc, typename T>
__global__ void __launch_bounds__(kThreads)
    gather_kernel(Problem p, const T* __restrict__ x, const T* __restrict__ w,
                  const T* __restrict__ bias, T* __restrict__ y) {
  const int64_t total = kmath::gather_item_count(p, CoT);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x)
    kmath::gather_tile<CoT, float>(p, Nhwc, x, w, bias, y, kmath::gather_item(p, Nhwc, CoT, i));
}

template <int CoT, bool Nhwc, typename T>
void launch_tile(Context& ctx, const Problem& p, const Tensors& t) {
  gather_kernel<CoT, Nhwc, T><<<grid_blocks(kmath::gather_item_count(p, CoT), kThreads), kThreads, 0,
                                ctx.stream()>>>(
      p, static_cast<const T*>(t.x), static_cast<const T*>(t.w),
      p.has_bias ? static_cast<const T*>(t.bias) : nullptr, static_cast<T*>(t.y));
  TCONV_CHECK_LAUNCH();
}

template <bool Nhwc, typename T>
void launch(Context& ctx, const Problem& p, const Tensors& t) {
  switch (kmath::pick_co_tile(p)) {
    case 8: launch_tile<8, Nhwc, T>(ctx, p, t); break;
    case 4: launch_tile<4, Nhwc, T>(ctx, p, t); break;
    case 2: launch_tile<2, Nhwc, T>(ctx, p, t); break;
    default: launch_tile<1, Nhwc, T>(ctx, p, t); break;
  }
}

template <typename T>
void launch_layout(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) {
  if (cfg.layout == Layout::nhwc)
    launch<true, T>(ctx, p, t);
  else
    launch<false, T>(ctx, p, t);
}

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
      case DType::bf16: return Support::yes();
      default:
        return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                           " not implemented (fp32, fp16, bf16: CUDA cores, fp32 accumulation)");
    }
  }
  double work_ratio(const Problem& p) const override { return kmath::landing_fraction(p); }
  int64_t planned_workspace_bytes(const Problem&, const Config&) const override { return 0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    switch (cfg.dtype) {
      case DType::fp16: launch_layout<__half>(ctx, p, cfg, t); break;
      case DType::bf16: launch_layout<__nv_bfloat16>(ctx, p, cfg, t); break;
      case DType::fp32: launch_layout<float>(ctx, p, cfg, t); break;
      default: throw Error(std::string("gather: dtype ") + to_string(cfg.dtype) + " not implemented");
    }
  }
  void prepare(Context&, const Problem& p, const Config&, const Tensors&) override {
    co_tile_ = kmath::pick_co_tile(p);
  }
  std::string algo() const override {
    return "1 thread per output pixel x " + std::to_string(co_tile_) + " channels";
  }

 private:
  int co_tile_ = 8;
};

}  // namespace

std::unique_ptr<Implementation> make_gather() { return std::make_unique<Gather>(); }

}  // namespace tconv
