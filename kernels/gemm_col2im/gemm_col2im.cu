// gemm_col2im: what Caffe and PyTorch's fallback do. Per (batch item, group) one cuBLAS GEMM
// forms the column buffer col_g = W_g^T * X_g, (C_out/g*k_h*k_w) x (H_in*W_in): every input pixel
// times every tap, landing or not. Then col2im, written as a gather (one thread per output
// element summing the column entries of the taps that reach it), adds the bias and writes y:
// deterministic, no atomics, no clearing. The GEMMs are strided-batched over the batch items of a
// chunk (one call per group) or over the groups (one call per item), whichever is fewer calls.
// Memory: the fp32 column buffer, C_out*k_h*k_w*H_in*W_in floats per batch item, for a chunk of
// items sized to at most 1 GiB (at least one item) and the memory budget. Wins when channels are
// many and the kernel small: the FLOPs are in a tensor-core GEMM; loses when k_h*k_w is large
// relative to the stride (the column buffer's traffic dominates). Limits: nchw; fp32, tf32
// (CUBLAS_COMPUTE_32F_FAST_TF32), fp16 and bf16 inputs with fp32 column buffer and accumulation.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/cublas_types.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/common/device_buffer.hpp"
#include "kernels/gemm_col2im/gemm_col2im_math.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {
namespace {

constexpr int kThreads = 256;
// The column buffer stops growing here: beyond it more items per chunk save little launch time.
constexpr double kChunkCapBytes = double(1 << 30);

template <typename T>
__global__ void __launch_bounds__(kThreads)
    col2im_kernel(Problem p, const float* __restrict__ col, const T* __restrict__ bias,
                  T* __restrict__ y, int64_t n0, int64_t total) {
  const int wo = int(p.w_out()), ho = int(p.h_out());
  const int64_t plane = int64_t(ho) * wo;
  T* yc = y + n0 * p.c_out * plane;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int ox = int(e % wo);
    const int oy = int((e / wo) % ho);
    const int co = int((e / plane) % p.c_out);
    const int64_t nl = e / (plane * p.c_out);
    float v = kmath::col2im_element<float>(p, col, nl, co, oy, ox);
    if (bias) v += float(bias[co]);
    yc[e] = T(v);
  }
}

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
  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    release();
    const double budget = double(ctx.memory_budget());
    const double per_item = double(kmath::col_item_elems(p)) * sizeof(float);
    chunk_ = kmath::col2im_chunk_items(p, sizeof(float), kChunkCapBytes, budget);
    if (chunk_ == 0) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    "column buffer needs %.2f GiB for one batch item, over the memory budget of "
                    "%.2f GiB",
                    per_item / double(1 << 30), budget / double(1 << 30));
      throw Skipped(msg);
    }
    col_.resize(size_t(chunk_) * size_t(kmath::col_item_elems(p)) * sizeof(float));
    plan_full_ = kmath::col2im_gemm_plan(p, int(chunk_));
    const int64_t tail = p.n % chunk_;
    plan_tail_ = kmath::col2im_gemm_plan(p, int(tail == 0 ? chunk_ : tail));
    const CublasTypes types = cublas_types(cfg.dtype, "gemm_col2im");
    char a[240];
    std::snprintf(a, sizeof a,
                  "cublasGemmStridedBatchedEx %s, %zu call(s) x batch %d per chunk; column buffer "
                  "%.1f MiB (%lld of %lld items)",
                  types.name, plan_full_.calls.size(), plan_full_.calls.front().batch,
                  double(col_.bytes()) / double(1 << 20), (long long)chunk_, (long long)p.n);
    algo_ = a;
  }
  size_t workspace_bytes() const override { return col_.bytes(); }
  // The GEMMs multiply every (input pixel, channel, tap), exactly the useful count.
  double work_ratio(const Problem&) const override { return 1.0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!col_.get()) throw Error("gemm_col2im: run() before prepare()");
    const CublasTypes types = cublas_types(cfg.dtype, "gemm_col2im");
    const size_t elem = storage_bytes(cfg.dtype);
    const char* x = static_cast<const char*>(t.x);
    const char* w = static_cast<const char*>(t.w);
    float* col = col_.as<float>();
    const float alpha = 1.0f, beta = 0.0f;
    cublasHandle_t h = ctx.cublas();
    const int64_t x_item = p.c_in * p.h_in * p.w_in;
    for (int64_t n0 = 0; n0 < p.n; n0 += chunk_) {
      const int64_t items = std::min(chunk_, p.n - n0);
      const kmath::Col2imGemm& plan = items == chunk_ ? plan_full_ : plan_tail_;
      const char* xc = x + size_t(n0 * x_item) * elem;
      for (const kmath::GemmCall& c : plan.calls)
        TCONV_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            h, CUBLAS_OP_N, CUBLAS_OP_T, plan.m, plan.n, plan.k, &alpha,
            xc + size_t(c.a_off) * elem, types.data, plan.lda, c.stride_a,
            w + size_t(c.b_off) * elem, types.data, plan.ldb, c.stride_b, &beta, col + c.c_off,
            CUDA_R_32F, plan.ldc, c.stride_c, c.batch, types.compute, CUBLAS_GEMM_DEFAULT));
      const int64_t total = items * p.c_out * p.h_out() * p.w_out();
      switch (cfg.dtype) {
        case DType::fp16: launch_col2im<__half>(ctx, p, t, n0, total); break;
        case DType::bf16: launch_col2im<__nv_bfloat16>(ctx, p, t, n0, total); break;
        default: launch_col2im<float>(ctx, p, t, n0, total); break;
      }
    }
  }
  std::string algo() const override { return algo_; }
  void release() override {
    col_.reset();
    chunk_ = 0;
    plan_full_ = {};
    plan_tail_ = {};
  }

 private:
  template <typename T>
  void launch_col2im(Context& ctx, const Problem& p, const Tensors& t, int64_t n0, int64_t total) {
    col2im_kernel<T><<<grid_blocks(total, kThreads), kThreads, 0, ctx.stream()>>>(
        p, col_.as<float>(), p.has_bias ? static_cast<const T*>(t.bias) : nullptr,
        static_cast<T*>(t.y), n0, total);
    TCONV_CHECK_LAUNCH();
  }

  DeviceBuffer col_;
  int64_t chunk_ = 0;
  kmath::Col2imGemm plan_full_, plan_tail_;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_gemm_col2im() { return std::make_unique<GemmCol2im>(); }

}  // namespace tconv
