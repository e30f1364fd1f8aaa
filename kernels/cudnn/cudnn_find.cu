// cudnn_find: cuDNN's legacy backward-data with the algorithm cuDNN itself measures fastest:
// cudnnFindConvolutionBackwardDataAlgorithmEx runs every algorithm on the real operands in
// prepare() and the fastest successful one whose math type respects the dtype (no TF32 for fp32,
// no fp32->fp16 down-conversion) is kept. This is what PyTorch does with
// torch.backends.cudnn.benchmark = True, so it is the "best cuDNN legacy" row.
//
// Extra memory: the chosen algorithm's workspace. Find itself gets the largest workspace any
// algorithm asks for, capped by the memory budget (halved until it can be allocated), and it is
// shrunk to the winner's need afterwards.
// Limits: as cudnn_algo* (output_padding >= stride not expressible); not_supported when no
// algorithm succeeds.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/common/gpu_context.hpp"

namespace tconv {
namespace {

class CudnnFind : public Implementation {
 public:
  ~CudnnFind() override { release(); }

  std::string name() const override { return "cudnn_find"; }
  std::string summary() const override {
    return "cuDNN legacy backward-data, fastest algorithm by cudnnFind...AlgorithmEx";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    return dnn::dgrad_support(p, cfg);
  }

  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    release();
    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_dgrad(*descs_, p, cfg);
    cudnnHandle_t h = ctx.cudnn();
    const cudnnMathType_t requested = descs_->conv.math();

    // Workspace for the search: the most any algorithm wants, within the budget, leaving cuDNN
    // room for its own allocations (search_workspace_cap).
    const size_t ws = dnn::allocate_search_workspace(
        workspace_, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
        dnn::search_workspace_cap(ctx.memory_budget()),
        [&](int a, size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(
              h, descs_->filter.get(), descs_->in.get(), descs_->conv.get(), descs_->out.get(),
              cudnnConvolutionBwdDataAlgo_t(a), bytes);
        });

    int max_count = 0;
    TCONV_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
    int returned = 0;
    TCONV_CUDNN_REFUSABLE(
        cudnnFindConvolutionBackwardDataAlgorithmEx(
            h, descs_->filter.get(), t.w, descs_->in.get(), t.x, descs_->conv.get(),
            descs_->out.get(), t.y, int(perf.size()), &returned, perf.data(), workspace_.get(), ws),
        "cudnnFindConvolutionBackwardDataAlgorithmEx");

    // Results come sorted by time; try them in that order until one runs.
    dnn::run_first_found(perf, returned, ws, cfg.dtype, descs_->conv, requested, "backward-data",
                         dnn::bwd_data_algo_name,
                         [&](const cudnnConvolutionBwdDataAlgoPerf_t& r) {
                           algo_ = r.algo;
                           ws_bytes_ = r.memory;
                           time_ms_ = r.time;
                           execute(ctx, p, cfg, t, /*refusable=*/true);
                           ctx.synchronize();
                         });
    chosen_ = true;
    // Keep only what the winner needs.
    if (ws_bytes_ < workspace_.bytes()) {
      if (!dnn::try_allocate(workspace_, ws_bytes_))
        throw Skipped("cudnn_find: re-allocating " + dnn::mib(ws_bytes_) + " failed");
    }
  }

  size_t workspace_bytes() const override { return chosen_ ? ws_bytes_ : 0; }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!chosen_) throw Error("cudnn_find: run() before prepare()");
    execute(ctx, p, cfg, t, /*refusable=*/false);
  }

  std::string algo() const override {
    if (!chosen_) return "";
    return std::string(dnn::bwd_data_algo_name(algo_)) +
           ", math=" + dnn::math_name(descs_->conv.math()) + dnn::find_note(time_ms_, ws_bytes_);
  }

  void release() override {
    descs_.reset();
    workspace_.reset();
    ws_bytes_ = 0;
    chosen_ = false;
  }

 private:
  void execute(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
               bool refusable) {
    dnn::run_backward_data(ctx, p, cfg, t, *descs_, algo_, workspace_, ws_bytes_, refusable);
  }

  std::unique_ptr<dnn::LegacyConv> descs_;
  DeviceBuffer workspace_;
  size_t ws_bytes_ = 0;
  cudnnConvolutionBwdDataAlgo_t algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  float time_ms_ = 0;
  bool chosen_ = false;
};

}  // namespace

std::unique_ptr<Implementation> make_cudnn_find() {
  return std::make_unique<CudnnFind>();
}

}  // namespace tconv
