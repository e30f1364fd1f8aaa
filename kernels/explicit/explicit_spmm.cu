// explicit_spmm: the same matrix C as explicit_gemm, stored sparse (CSR, only the nonzeros: one
// per (input pixel, output channel of its group, tap) that lands) and applied with cuSPARSE's
// generic SpMM: Y^T (R x N) = C (R x K) * X^T (K x N), where x and y as stored are exactly the
// column-major X^T (ld K) and Y^T (ld R), so no transposes are needed. The CSR is built on the GPU
// in initialize (untimed): a row's nonzero count is (C_in/g)*taps(oy)*taps(ox), so row offsets come
// in closed form from 1-D prefix sums, with no scan. Memory: nnz values + column indices (32-bit,
// or 64-bit past 2^31 nonzeros) + row offsets + cuSPARSE's buffer; nnz ~ useful FLOPs / (2N).
// Does only the landing multiply-adds, but through a general sparse kernel that knows nothing of
// the structure; expected to lose to every structured method, a measure of what "it is just a
// sparse matrix" costs. Limits: nchw and nhwc; fp32, fp16 and bf16 (fp32 compute); a dtype that
// cuSPARSE refuses at run time becomes not_supported.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/cuda_event.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/explicit/explicit_spmm_kernel.cuh"

namespace tconv {
namespace {

class ExplicitSpmm : public Implementation {
 public:
  ~ExplicitSpmm() override { release(); }
  std::string name() const override { return "explicit_spmm"; }
  std::string summary() const override {
    return "explicit C in CSR (built on the GPU), applied with cuSPARSE SpMM";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    switch (cfg.dtype) {
      case DType::fp32:
      case DType::fp16:
      case DType::bf16:
        return Support::yes();
      default:
        return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                           " not implemented (fp32, fp16, bf16: cuSPARSE SpMM has no tf32 mode)");
    }
  }
  // One plan: the CSR arrays and the tap prefix sums they are built from, in the workspace.
  // cuSPARSE's own buffer is known only once C exists: initialize() extends the workspace by it.
  Plans plans(Context&, const Problem& p, const Config& cfg, const Tensors&) override {
    const size_t vbytes = storage_bytes(cfg.dtype);
    kmath::csr_tap_prefix(p, sy_, sx_);
    const int64_t rows = csr_rows(p);
    nnz_ = kmath::csr_nnz(p, sy_.data(), sx_.data());
    idx64_ = nnz_ > INT_MAX || rows + 1 > INT_MAX;
    const size_t ibytes = idx64_ ? 8 : 4;
    // nnz is 0 when no tap lands anywhere (large padding): y is then just the bias, and the
    // arrays are kept non-empty so the code below needs no special case.
    const double sizes[] = {double(rows + 1) * double(ibytes),
                            double(std::max<int64_t>(nnz_, 1)) * double(ibytes),
                            double(std::max<int64_t>(nnz_, 1)) * double(vbytes),
                            double(sy_.size()) * 8.0, double(sx_.size()) * 8.0};
    double at = 0;
    for (int i = 0; i < 5; ++i) {
      offset_[i] = size_t(at);
      at += std::ceil(sizes[i] / 256.0) * 256.0;  // each array 256-byte aligned
    }
    if (at >= 0x1p62) {
      char msg[120];
      std::snprintf(msg, sizeof msg, "CSR C needs %.3g GiB, more than any device has", gib(at));
      return Plans::none(Status::skipped(msg));
    }
    return Plans::one({"CSR C", size_t(at), 0});
  }
  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    destroy_descriptors();
    const bool nhwc = cfg.layout == Layout::nhwc;
    const int64_t rows = csr_rows(p);
    const int64_t cols = csr_cols(p);
    row_ptr_ = ws.as<char>(offset_[0]);
    col_ = ws.as<char>(offset_[1]);
    val_ = ws.as<char>(offset_[2]);
    int64_t* sy_d = ws.as<int64_t>(offset_[3]);
    int64_t* sx_d = ws.as<int64_t>(offset_[4]);

    EventPair ev;
    ev.record_start(ctx.stream());
    TCONV_CUDA_CHECK(
        cudaMemcpyAsync(sy_d, sy_.data(), sy_.size() * 8, cudaMemcpyHostToDevice, ctx.stream()));
    TCONV_CUDA_CHECK(
        cudaMemcpyAsync(sx_d, sx_.data(), sx_.size() * 8, cudaMemcpyHostToDevice, ctx.stream()));
    csr_fill_launch(ctx.stream(), p, nhwc, cfg.dtype, idx64_, sy_d, sx_d, t.w, row_ptr_, col_,
                    val_);
    ev.record_stop(ctx.stream());
    // Synchronizes on the stop event, which also keeps sy_/sx_ (host) alive until the copies are
    // done.
    const float ms = ev.elapsed_ms();

    if (nnz_ == 0) {
      algo_ = "C has no nonzeros (no tap lands): y = bias";
      prepared_ = true;
      return Status::ok();
    }
    args_ = explicit_spmm_args(p, cfg.dtype, idx64_, nnz_);
    const SpmmArgs& g = args_;
    TCONV_CUSPARSE_CHECK(cusparseCreateCsr(&mat_c_, g.rows, g.cols, g.nnz, row_ptr_, col_, val_,
                                           g.index_type, g.index_type, g.base, g.value_type));
    // x is only read; the non-const descriptor lets run() rebind it with cusparseDnMatSetValues.
    TCONV_CUSPARSE_CHECK(cusparseCreateDnMat(&mat_x_, g.x_rows, g.x_cols, g.ldx,
                                             const_cast<void*>(t.x), g.value_type, g.x_order));
    TCONV_CUSPARSE_CHECK(
        cusparseCreateDnMat(&mat_y_, g.y_rows, g.y_cols, g.ldy, t.y, g.value_type, g.y_order));
    x_bound_ = t.x;
    y_bound_ = t.y;
    size_t buf = 0;
    const cusparseStatus_t st =
        cusparseSpMM_bufferSize(ctx.cusparse(), g.op_a, g.op_b, &g.alpha, mat_c_, mat_x_, &g.beta,
                                mat_y_, g.compute, CUSPARSE_SPMM_ALG_DEFAULT, &buf);
    if (st == CUSPARSE_STATUS_NOT_SUPPORTED)
      return Status::not_supported(std::string("cuSPARSE SpMM does not support ") +
                                   to_string(cfg.dtype) + " CSR with fp32 compute here");
    TCONV_CUSPARSE_CHECK(st);
    std::string why;
    buffer_ = ws.extend(std::max<size_t>(buf, 1), &why);
    if (!buffer_) return Status::skipped("CSR C plus the SpMM buffer: " + why);
    buffer_bytes_ = buf;

    char a[240];
    std::snprintf(
        a, sizeof a,
        "CSR build %.2f ms, nnz %lld (density %.3g%%), %.3f GiB, %s indices; cusparseSpMM "
        "default alg",
        double(ms), (long long)nnz_, 100.0 * double(nnz_) / (double(rows) * double(cols)),
        gib(double(offset_[3])), idx64_ ? "64-bit" : "32-bit");
    algo_ = a;
    prepared_ = true;
    // One untimed trial: cuSPARSE may accept the size query and still refuse the product (e.g.
    // a 16-bit or 64-bit-index combination); that is a not_supported row, not an error.
    (void)plan;
    try {
      run(ctx, p, cfg, t);
      ctx.synchronize();
    } catch (const Error& e) {
      if (std::string(e.what()).find("CUSPARSE_STATUS_NOT_SUPPORTED") != std::string::npos ||
          std::string(e.what()).find("not supported") != std::string::npos)
        return Status::not_supported(std::string("cuSPARSE SpMM refused this configuration: ") +
                                     e.what());
      throw;
    }
    return Status::ok();
  }
  // The CSR arrays and cuSPARSE's buffer (the prefix sums are only read while building).
  size_t workspace_in_use(const Plan&) const override { return offset_[3] + buffer_bytes_; }
  double work_ratio(const Problem& p) const override { return kmath::landing_fraction(p); }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!prepared_) throw Error("explicit_spmm: run() before initialize()");
    if (mat_c_ && t.x != x_bound_) {
      TCONV_CUSPARSE_CHECK(cusparseDnMatSetValues(mat_x_, const_cast<void*>(t.x)));
      x_bound_ = t.x;
    }
    if (mat_c_ && t.y != y_bound_) {
      TCONV_CUSPARSE_CHECK(cusparseDnMatSetValues(mat_y_, t.y));
      y_bound_ = t.y;
    }
    explicit_spmm_prefill(ctx.stream(), p, cfg.dtype, cfg.layout == Layout::nhwc, t);
    if (!mat_c_) return;  // nnz == 0
    const SpmmArgs& g = args_;
    TCONV_CUSPARSE_CHECK(cusparseSpMM(ctx.cusparse(), g.op_a, g.op_b, &g.alpha, mat_c_, mat_x_,
                                      &g.beta, mat_y_, g.compute, CUSPARSE_SPMM_ALG_DEFAULT,
                                      buffer_));
  }
  std::string algo() const override { return algo_; }
  void release() override {
    destroy_descriptors();
    x_bound_ = nullptr;
    y_bound_ = nullptr;
    row_ptr_ = col_ = val_ = nullptr;
    buffer_ = nullptr;
    buffer_bytes_ = 0;
    prepared_ = false;
  }

 private:
  // Destroying descriptors cannot usefully fail; errors are ignored (release runs in the
  // destructor).
  void destroy_descriptors() {
    if (mat_c_) cusparseDestroySpMat(mat_c_);
    if (mat_x_) cusparseDestroyDnMat(mat_x_);
    if (mat_y_) cusparseDestroyDnMat(mat_y_);
    mat_c_ = nullptr;
    mat_x_ = nullptr;
    mat_y_ = nullptr;
  }

  SpmmArgs args_;
  // In the harness's workspace: the CSR arrays, the prefix sums, then cuSPARSE's buffer.
  void* row_ptr_ = nullptr;
  void* col_ = nullptr;
  void* val_ = nullptr;
  void* buffer_ = nullptr;
  size_t buffer_bytes_ = 0;
  size_t offset_[5] = {};
  std::vector<int64_t> sy_, sx_;
  cusparseSpMatDescr_t mat_c_ = nullptr;
  cusparseDnMatDescr_t mat_x_ = nullptr, mat_y_ = nullptr;
  const void* x_bound_ = nullptr;
  void* y_bound_ = nullptr;
  int64_t nnz_ = 0;
  bool idx64_ = false;
  bool prepared_ = false;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_explicit_spmm() {
  return std::make_unique<ExplicitSpmm>();
}

}  // namespace tconv
