// phase_gemm: transposed convolution as stride_h*stride_w stride-1 convolutions, one per output
// phase (outputs with the same (o + pad) mod stride), each run as an implicit GEMM over only the
// taps that reach that phase (CUTLASS's strided-dgrad idea): no inserted zero is ever multiplied,
// and every output element is written exactly once, by one thread, with no atomics.
//   GEMM per (phase, group): M = N*H_phase*W_phase pixels, N = C_out/g, K = taps_h*taps_w*C_in/g.
//   Engines: fp32 on the FP32 units (SIMT, register-blocked 8x8/8x4/4x4 per thread); tf32, fp16
//   and bf16 on the tensor cores with mma.sync (m16n8k8 tf32, m16n8k16 f16/bf16, fp32
//   accumulation; sm_80+). One launch covers all phases and groups (grid z = phase*groups + g).
//   Few channels per group (C_out/g <= 8, C_in/g < 8, or both <= 32: depthwise, RGB outputs,
//   fcn-style 21-class heads) take a direct per-phase kernel instead, since a GEMM tile would be
//   mostly padding there. A 1x1 input without padding/dilation (DCGAN's first layer) is lowered to
//   the equivalent 1x1-kernel problem, a plain GEMM, instead of multiplying out-of-range taps.
// Extra memory: none, except split-K's fp32 partials (splits x y's elements x 4 bytes) where the
// plan splits; weights are read in place, in either layout.
// Where it should win: large strides and few channels (fcn8s/fcn32s, fsrcnn), where zero insertion
// wastes ~stride^2 of the work and cuDNN's dgrad kernels are tuned for C >= 64; and big-batch
// GEMM-shaped layers (maskrcnn_head) on the tensor cores.
// Split-K: where even 64x64 tiles leave SMs idle and K is long (pix2pix, hifigan_up1), each
// tile's k-tiles are split, the fp32 partials summed in split order by a second kernel
// (deterministic: the same order on every run).
// Limits: the channel tail of each tap is padded to BK (16 for 32-bit, 32 for 16-bit types); nhwc
// vector loads need 16-byte aligned x/w and C_in/g (A) or C_out/g (B) divisible by 4 (fp32) or 8
// (16-bit), checked at run time, otherwise scalar loads; the direct path's nhwc loads are strided.
// Index arithmetic: kernels/phase_gemm/phase_gemm_math.hpp; per-thread loaders, SIMT math, fragment
// geometry, epilogue and the direct path: kernels/phase_gemm/phase_gemm_tile.hpp; path and tile
// choice: kernels/phase_gemm/phase_gemm_plan.hpp; the __global__ kernels and their launch code:
// kernels/phase_gemm/phase_gemm_kernel.cuh (run on the CPU runtime by
// tests/test_cpu_run_phase_gemm.cpp and tests/test_phase_gemm.cpp).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"
#include "kernels/phase_gemm/phase_gemm_plan.hpp"

namespace tconv {
namespace {

class PhaseGemm : public Implementation {
 public:
  std::string name() const override { return "phase_gemm"; }
  std::string summary() const override {
    return "phase decomposition: one stride-1 implicit GEMM per output phase over only its taps "
           "(SIMT fp32, mma.sync tf32/fp16/bf16; direct kernel for few channels)";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    if (cfg.dtype == DType::fp64)
      return Support::no("dtype fp64 not implemented (fp32, tf32, fp16, bf16)");
    const std::string why = p.validate();
    if (!why.empty()) return Support::no(why);
    return Support::yes();
  }

  // One plan, chosen from the problem and the SM count (pg::plan_problem); split-K's fp32
  // partials are its workspace.
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    plan_ = pg::plan_problem(p, cfg, ctx.props().multiProcessorCount);
    if (!plan_.direct && plan_.engine == Engine::tc && ctx.props().major < 8)
      return Plans::none(Status::skipped(
          "mma.sync tensor-core path needs compute capability 8.0+, this GPU is " +
          std::to_string(ctx.props().major) + "." + std::to_string(ctx.props().minor)));
    const int64_t floats = pg::splitk_workspace_floats(plan_, p);
    return Plans::one({"", size_t(std::max<int64_t>(floats, 0)) * sizeof(float), 0});
  }
  Status initialize(Context&, const Problem& p, const Config& cfg, const Tensors& t, const Plan&,
                    Workspace ws) override {
    const pg::Lowering lw = pg::lower_problem(p, cfg.layout);
    partial_ = ws.bytes() > 0 ? ws.as<float>() : nullptr;
    algo_ = pg::describe(
        plan_, cfg, plan_.vec_a && aligned16(t.x),
        plan_.vec_a && plan_.vec_b && aligned16(t.x) && aligned16(t.w) && aligned16(t.y),
        lw.lowered);
    return Status::ok();
  }

  double work_ratio(const Problem& p) const override {
    // Multiply-adds of the phase GEMMs (M*K*N summed over phases, before tile padding) over the
    // useful ones; M*K separates into (sum over h phases of count*taps) * (same over w). A
    // lowered 1x1-input problem is counted as lowered (the layout does not change the count).
    const pg::ConvDims d = pg::make_conv_dims(pg::lower_problem(p, Layout::nchw).p);
    auto dim_sum = [](const idx::Dim& dd) {
      double s = 0;
      const int n = pg::phase_count(dd);
      for (int f = 0; f < n; ++f) {
        const pg::PhaseDim ph = pg::phase_dim(f, dd);
        s += double(ph.count) * ph.taps;
      }
      return s;
    };
    const double macs = double(d.n) * d.cig * d.cog * d.groups * dim_sum(d.dh) * dim_sum(d.dw);
    return 2.0 * macs / p.flops();
  }

  // Split-K's workspace depends on the GPU's SM count.
  int64_t planned_workspace_bytes(const Problem&, const Config&) const override { return -1; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    phase_gemm_launch(ctx.stream(), plan_, p, cfg, t, partial_);
  }
  void release() override { partial_ = nullptr; }

  std::string algo() const override { return algo_; }

 private:
  pg::Plan plan_;
  std::string algo_;
  float* partial_ = nullptr;  // split-K's fp32 partials, in the harness's workspace
};

}  // namespace

std::unique_ptr<Implementation> make_phase_gemm() {
  return std::make_unique<PhaseGemm>();
}

}  // namespace tconv
