// gemm_col2im: what Caffe and PyTorch's fallback do. Per (batch item, group) one cuBLAS GEMM
// forms the column buffer col_g = W_g^T * X_g, (C_out/g*k_h*k_w) x (H_in*W_in): every input pixel
// times every tap, landing or not. Then col2im, written as a gather (one thread per output
// element summing the column entries of the taps that reach it), adds the bias and writes y:
// deterministic, no atomics, no clearing. The GEMMs are strided-batched over the batch items of a
// chunk (one call per group) or over the groups (one call per item), whichever is fewer calls.
// Memory: the fp32 column buffer, C_out*k_h*k_w*H_in*W_in floats per batch item, for a chunk of
// items sized to at most 1 GiB (at least one item) and the memory budget (chunk_plans). Wins when
// channels are many and the kernel small: the FLOPs are in a tensor-core GEMM; loses when k_h*k_w
// is large relative to the stride (the column buffer's traffic dominates). Limits: nchw; fp32, tf32
// (CUBLAS_COMPUTE_32F_FAST_TF32), fp16 and bf16 inputs with fp32 column buffer and accumulation.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>

#include "kernels/common/cublas_types.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/gemm_col2im/gemm_col2im_kernel.cuh"

namespace tconv {
namespace {

// The column buffer stops growing here: beyond it more items per chunk save little launch time.
constexpr double kChunkCapBytes = double(1 << 30);

class GemmCol2im : public Implementation {
 public:
  ~GemmCol2im() override { release(); }
  std::string name() const override { return "gemm_col2im"; }
  std::string summary() const override {
    return "cuBLAS GEMM into a column buffer, then col2im as a gather (Caffe/PyTorch fallback)";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (cfg.layout != Layout::nchw)
      return Support::no(std::string("layout ") + to_string(cfg.layout) +
                         " not implemented (nchw only)");
    if (cfg.dtype == DType::fp64)
      return Support::no("dtype fp64 not implemented (fp32, tf32, fp16, bf16)");
    return Support::yes();
  }
  Plans plans(Context&, const Problem& p, const Config&, const Tensors&) override {
    const double per_item = double(kmath::col_item_elems(p)) * sizeof(float);
    return chunk_plans(p.n, per_item, kChunkCapBytes, "column buffer");
  }
  Status initialize(Context&, const Problem& p, const Config& cfg, const Tensors&, const Plan& plan,
                    Workspace ws) override {
    col_ = ws.as<float>();
    chunk_ = plan.index;
    plan_full_ = kmath::col2im_gemm_plan(p, int(chunk_));
    const int64_t tail = p.n % chunk_;
    plan_tail_ = kmath::col2im_gemm_plan(p, int(tail == 0 ? chunk_ : tail));
    const CublasTypes types = cublas_types(cfg.dtype, "gemm_col2im");
    char a[240];
    std::snprintf(a, sizeof a,
                  "cublasGemmStridedBatchedEx %s, %zu call(s) x batch %d per chunk; column buffer "
                  "%.1f MiB (%lld of %lld items)",
                  types.name, plan_full_.calls.size(), plan_full_.calls.front().batch,
                  double(plan.workspace_bytes) / double(1 << 20), (long long)chunk_,
                  (long long)p.n);
    algo_ = a;
    return Status::ok();
  }
  // The GEMMs multiply every (input pixel, channel, tap), exactly the useful count.
  double work_ratio(const Problem&) const override { return 1.0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!col_) throw Error("gemm_col2im: run() before initialize()");
    const CublasTypes types = cublas_types(cfg.dtype, "gemm_col2im");
    const size_t elem = storage_bytes(cfg.dtype);
    gemm_col2im_run(
        ctx.stream(),
        [&ctx](const GemmArgs& g) {
          TCONV_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
              ctx.cublas(), g.transa, g.transb, int(g.m), int(g.n), int(g.k), &g.alpha, g.a,
              g.a_type, int(g.lda), g.stride_a, g.b, g.b_type, int(g.ldb), g.stride_b, &g.beta, g.c,
              g.c_type, int(g.ldc), g.stride_c, int(g.batch), g.compute, CUBLAS_GEMM_DEFAULT));
        },
        p, cfg.dtype, t, col_, chunk_, plan_full_, plan_tail_);
  }
  std::string algo() const override { return algo_; }
  void release() override {
    col_ = nullptr;
    chunk_ = 0;
    plan_full_ = {};
    plan_tail_ = {};
  }

 private:
  float* col_ = nullptr;  // in the harness's workspace
  int64_t chunk_ = 0;
  kmath::Col2imGemm plan_full_, plan_tail_;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_gemm_col2im() {
  return std::make_unique<GemmCol2im>();
}

}  // namespace tconv
