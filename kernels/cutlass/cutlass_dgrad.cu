// cutlass_dgrad: CUTLASS's implicit-GEMM conv2d dgrad with strided support (DefaultConv2dDgrad,
// StrideSupport::kStrided, IteratorAlgorithm::kOptimized, arch Sm80; the kernels of CUTLASS
// example 34_transposed_conv2d). The strided dgrad splits the output into stride_h*stride_w
// phases and runs each as an implicit GEMM over only the taps that land on it: the public form of
// the phase decomposition phase_gemm also uses. Mapping: kernels/cutlass/cutlass_dgrad_map.hpp.
// A few tile configurations per dtype (cutlass_dgrad_<dtype>.cu); plans() offers every one that
// CUTLASS's can_implement accepts, the harness times them (bench/lifecycle.hpp) and keeps the
// fastest; algo() names it. The bias is a separate pass after the kernel (dnn::add_bias): the
// kernel's epilogue writes alpha*acc with beta = 0.
//
// Extra memory: CUTLASS's workspace (0 without split-K, which strided dgrad refuses).
// Where it should win: fp16/bf16 NHWC with channel counts that are multiples of 8 and stride > 1,
// where zero-insertion methods waste stride_h*stride_w of their work.
// Limits: NHWC only; channels must suit the configuration's vector width (fp16/bf16: C_in and
// C_out % 8, tf32 % 4; fp32 SIMT: any); CUTLASS's strided dgrad refuses dilation > 1 and has
// no grouped mode (groups > 1 refused by its can_implement); sizes must fit CUTLASS's 32-bit
// int. Every refusal is CUTLASS's own can_implement, reported with cutlassGetStatusString.
// Ampere-class (Sm80) kernels: they also run on sm_90. No sm_90-native row: CUTLASS 4.2's sm_90
// conv collective (CUTLASS 3.x API, conv/collective/sm90_implicit_gemm_gmma_ss_warpspecialized
// .hpp) loads dgrad operands through TMA im2col and has no strided-dgrad path; the strided dgrad
// of the 3.x API (TMA-tiled A and B, is_strided_dgrad) exists only in the SM100 collective.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/bias_add.cuh"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/cutlass/cutlass_dgrad_runner.hpp"

namespace tconv {
namespace {

class CutlassDgrad : public Implementation {
 public:
  std::string name() const override { return "cutlass_dgrad"; }
  std::string summary() const override {
    return "CUTLASS strided implicit-GEMM dgrad (Sm80 kernels, NHWC), fastest tile config";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    const Support s = cutlass_dgrad::static_support(cfg);
    if (!s.ok) return s;
    if (const Support ps = cutlass_dgrad::padding_support(p); !ps.ok) return ps;
    const cutlass_dgrad::Shape shape = cutlass_dgrad::shape_of(p);
    std::string reasons;
    for (const auto& r : cutlass_dgrad::runners_for(cfg.dtype)) {
      const std::string why = r->can_implement(shape);
      if (why.empty()) return Support::yes();
      if (reasons.find(why) == std::string::npos)
        reasons += std::string(reasons.empty() ? "" : "; ") + why;
    }
    return Support::no("CUTLASS can_implement refuses every configuration: " + reasons +
                       hint(p, cfg));
  }

  // Every tile configuration CUTLASS's can_implement accepts, each with its workspace; the
  // harness times them (PlanChoice::fastest).
  Plans plans(Context&, const Problem& p, const Config& cfg, const Tensors&) override {
    shape_ = cutlass_dgrad::shape_of(p);
    runners_ = cutlass_dgrad::runners_for(cfg.dtype);
    Plans ps;
    ps.choice = PlanChoice::fastest;
    for (size_t i = 0; i < runners_.size(); ++i)
      if (runners_[i]->can_implement(shape_).empty())
        ps.candidates.push_back(
            {runners_[i]->name(), runners_[i]->workspace_bytes(shape_), int64_t(i)});
    if (ps.candidates.empty())
      return Plans::none(Status::not_supported(can_implement(p, cfg).reason));
    return ps;
  }

  Status initialize(Context& ctx, const Problem&, const Config&, const Tensors& t, const Plan& plan,
                    Workspace ws) override {
    best_ = -1;
    workspace_ = ws.get();
    cutlass_dgrad::Runner& r = *runners_[size_t(plan.index)];
    const std::string why = r.initialize(shape_, t.x, t.w, t.y, workspace_, ctx.stream());
    if (!why.empty())
      return Status::not_supported("CUTLASS initialize refuses " + r.name() + ": " + why);
    best_ = int(plan.index);
    x_ = t.x, w_ = t.w, y_ = t.y;
    return Status::ok();
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (best_ < 0) throw Error("cutlass_dgrad: run() before initialize()");
    if (t.x != x_ || t.w != w_ || t.y != y_) bind(t, ctx.stream());  // host work only
    runners_[size_t(best_)]->run(ctx.stream());
    add_bias(ctx, p, cfg, t, "cutlass_dgrad");
  }

  std::string algo() const override {
    if (best_ < 0) return "";
    return runners_[size_t(best_)]->name();
  }

  void release() override {
    runners_.clear();
    workspace_ = nullptr;
    best_ = -1;
    x_ = w_ = nullptr;
    y_ = nullptr;
  }

 private:
  void bind(const Tensors& t, cudaStream_t stream) {
    const std::string why =
        runners_[size_t(best_)]->initialize(shape_, t.x, t.w, t.y, workspace_, stream);
    if (!why.empty()) throw Error("cutlass_dgrad: re-initializing the chosen config: " + why);
    x_ = t.x, w_ = t.w, y_ = t.y;
  }

  // CUTLASS's status strings are generic ("Operand misaligned"...): say which rule of ours hit.
  static std::string hint(const Problem& p, const Config& cfg) {
    std::string h;
    if (p.groups > 1) h += "; groups > 1 (CUTLASS's dgrad has no grouped mode)";
    if (p.dil_h > 1 || p.dil_w > 1) h += "; dilation > 1 (CUTLASS's strided dgrad refuses it)";
    const int vec = cfg.dtype == DType::fp16 || cfg.dtype == DType::bf16 ? 8
                    : cfg.dtype == DType::tf32                           ? 4
                                                                         : 1;
    if (p.c_in % vec || p.c_out % vec)
      h += "; C_in and C_out must be multiples of " + std::to_string(vec) + " for " +
           to_string(cfg.dtype);
    return h;
  }

  cutlass_dgrad::Shape shape_;
  cutlass_dgrad::Runners runners_;
  void* workspace_ = nullptr;  // the harness's
  int best_ = -1;
  const void* x_ = nullptr;
  const void* w_ = nullptr;
  void* y_ = nullptr;
};

}  // namespace

std::unique_ptr<Implementation> make_cutlass_dgrad() {
  return std::make_unique<CutlassDgrad>();
}

}  // namespace tconv
