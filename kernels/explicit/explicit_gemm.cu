// explicit_gemm: the matrix view made literal. initialize() materializes C^T densely on the GPU
// (a memset, then one thread per candidate (input pixel, output channel of its group, tap) that
// writes the weight where the tap lands), untimed; run() is ONE cuBLAS GEMM for the whole batch,
// Y (N x C_out*H_out*W_out) = X (N x C_in*H_in*W_in) * C^T, on tensor cores where the dtype
// allows. Memory: C, (C_in*H_in*W_in) x (C_out*H_out*W_out) elements, quadratic in the image
// size, in the harness's workspace: skipped beyond the memory budget. It multiplies mostly zeros
// (work ratio C_out*H_out*W_out / (C_out/g*k_h*k_w)), so it wins nowhere except perhaps tiny images
// with many channels; it is here to make the matrix view's cost concrete. Limits: nchw and nhwc
// (C's rows and columns then follow the nhwc order); fp32, tf32 (CUBLAS_COMPUTE_32F_FAST_TF32),
// fp16 and bf16 (C stored in the dtype, fp32 accumulation).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>

#include "kernels/common/cublas_types.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/cuda_event.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/explicit/explicit_gemm_kernel.cuh"

namespace tconv {
namespace {

class ExplicitGemm : public Implementation {
 public:
  ~ExplicitGemm() override { release(); }
  std::string name() const override { return "explicit_gemm"; }
  std::string summary() const override {
    return "dense explicit C^T built on the GPU, then one cuBLAS GEMM for the whole batch";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (cfg.dtype == DType::fp64)
      return Support::no("dtype fp64 not implemented (fp32, tf32, fp16, bf16)");
    return Support::yes();
  }
  int64_t planned_workspace_bytes(const Problem& p, const Config& cfg) const override {
    return int64_t(kmath::explicit_c_bytes(p, double(storage_bytes(cfg.dtype))));
  }
  // One plan: Cᵀ, dense, in the workspace. Its size is checked against the budget by the harness,
  // which is why it is computed in double first (a huge C must not wrap size_t).
  Plans plans(Context&, const Problem& p, const Config& cfg, const Tensors&) override {
    const double bytes = kmath::explicit_c_bytes(p, double(storage_bytes(cfg.dtype)));
    if (bytes >= 0x1p62) {
      char msg[120];
      std::snprintf(msg, sizeof msg, "explicit C needs %.3g GiB, more than any device has",
                    gib(bytes));
      return Plans::none(Status::skipped(msg));
    }
    return Plans::one({"dense C", size_t(bytes), 0});
  }
  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    ct_ = ws.get();
    const bool nhwc = cfg.layout == Layout::nhwc;
    EventPair ev;
    ev.record_start(ctx.stream());
    build_ct_launch(ctx.stream(), p, nhwc, cfg.dtype, t.w, ct_);
    ev.record_stop(ctx.stream());
    const float ms = ev.elapsed_ms();
    char a[200];
    std::snprintf(a, sizeof a, "C build %.2f ms, dense %.3f GiB; cublasGemmEx_64 %s", double(ms),
                  gib(double(plan.workspace_bytes)), cublas_types(cfg.dtype, "explicit_gemm").name);
    algo_ = a;
    return Status::ok();
  }
  double work_ratio(const Problem& p) const override { return kmath::explicit_work_ratio(p); }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!ct_) throw Error("explicit_gemm: run() before initialize()");
    explicit_gemm_run(
        ctx.stream(),
        [&ctx](const GemmArgs& g) {
          TCONV_CUBLAS_CHECK(cublasGemmEx_64(
              ctx.cublas(), g.transa, g.transb, g.m, g.n, g.k, &g.alpha, g.a, g.a_type, g.lda, g.b,
              g.b_type, g.ldb, &g.beta, g.c, g.c_type, g.ldc, g.compute, CUBLAS_GEMM_DEFAULT));
        },
        p, cfg.dtype, cfg.layout == Layout::nhwc, t, ct_);
  }
  std::string algo() const override { return algo_; }
  void release() override { ct_ = nullptr; }

 private:
  void* ct_ = nullptr;  // in the harness's workspace
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_explicit_gemm() {
  return std::make_unique<ExplicitGemm>();
}

}  // namespace tconv
