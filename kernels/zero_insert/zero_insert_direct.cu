// zero_insert_direct: the textbook construction with our own kernels. run() first writes the
// zero-inserted, padded image z (stride-1 zeros between inputs, dil*(k-1)-pad rows/columns of
// padding, cropped where that is negative), then a direct stride-1 dilated convolution reads it
// with the flipped, channel-swapped kernel. The convolution kernel gives each block a 32x8 tile
// of output pixels for up to 8 output channels of one group; the flipped weights of a run of
// (input channel, tap) entries are staged in shared memory and broadcast to all threads.
// Memory: z, C_in*(H_out+dil_h*(k_h-1))*(W_out+dil_w*(k_w-1)) elements per batch item (the whole
// batch when it fits the memory budget, else the largest chunk that does: chunk_plans). It
// multiplies about stride_h*stride_w times the useful work (most z entries are inserted zeros), so
// it should never win; it is here to measure what zero insertion costs. Limits: nchw; fp32, fp16,
// bf16 storage (fp32 accumulation).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/zero_insert/zero_insert_direct_kernel.cuh"

namespace tconv {
namespace {

class ZeroInsertDirect : public Implementation {
 public:
  ~ZeroInsertDirect() override { release(); }
  std::string name() const override { return "zero_insert_direct"; }
  std::string summary() const override {
    return "CUDA zero insertion + direct stride-1 conv with the flipped kernel (smem weights)";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (cfg.layout != Layout::nchw)
      return Support::no(std::string("layout ") + to_string(cfg.layout) +
                         " not implemented (nchw only)");
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
  Plans plans(Context&, const Problem& p, const Config& cfg, const Tensors&) override {
    const double per_item =
        double(kmath::zi_item_elems(kmath::zi_geom(p))) * double(storage_bytes(cfg.dtype));
    return chunk_plans(p.n, per_item, 1e300, "z buffer");
  }
  Status initialize(Context&, const Problem& p, const Config&, const Tensors&, const Plan& plan,
                    Workspace ws) override {
    z_ = ws.get();
    chunk_ = plan.index;
    char a[200];
    std::snprintf(a, sizeof a, "z buffer %.1f MiB (%lld of %lld batch items), %dx%d tile x %d ch",
                  double(plan.workspace_bytes) / double(1 << 20), (long long)chunk_, (long long)p.n,
                  kZiTileW, kZiTileH, kmath::pick_co_tile(p));
    algo_ = a;
    return Status::ok();
  }
  double work_ratio(const Problem& p) const override { return kmath::zi_work_ratio(p); }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!z_) throw Error("zero_insert_direct: run() before initialize()");
    switch (cfg.dtype) {
      case DType::fp32:
        zi_run<float>(ctx.stream(), p, t, static_cast<float*>(z_), chunk_);
        break;
      case DType::fp16:
        zi_run<__half>(ctx.stream(), p, t, static_cast<__half*>(z_), chunk_);
        break;
      case DType::bf16:
        zi_run<__nv_bfloat16>(ctx.stream(), p, t, static_cast<__nv_bfloat16*>(z_), chunk_);
        break;
      default:
        throw Error(std::string("zero_insert_direct: dtype ") + to_string(cfg.dtype) +
                    " not implemented");
    }
  }
  std::string algo() const override { return algo_; }
  void release() override {
    z_ = nullptr;
    chunk_ = 0;
  }

 private:
  void* z_ = nullptr;  // in the harness's workspace
  int64_t chunk_ = 0;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_zero_insert_direct() {
  return std::make_unique<ZeroInsertDirect>();
}

}  // namespace tconv
