// cudnn_find: cuDNN's legacy backward-data with the algorithm cuDNN itself measures fastest:
// cudnnFindConvolutionBackwardDataAlgorithmEx runs every algorithm on the real operands in
// initialize() and the fastest successful one whose math type respects the dtype (no TF32 for fp32,
// no fp32->fp16 down-conversion) is kept. This is what PyTorch does with
// torch.backends.cudnn.benchmark = True, so it is the "best cuDNN legacy" row.
//
// Extra memory: Find gets the largest workspace any algorithm asks for, within the budget
// (halved until the harness can allocate it: plans() offers the halves in order); the row reports
// the chosen algorithm's need, the search's workspace stays held until release.
// Limits: as cudnn_algo* (output_padding >= stride not expressible); not_supported when no
// algorithm succeeds.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_common.hpp"

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

  // The search's workspace, in preference order: the most any algorithm asks for, capped so
  // that cuDNN keeps room for its own allocations (search_workspace_cap), then halves of it down
  // to none; the harness takes the first that fits the budget and can be allocated.
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_dgrad(*descs_, p, cfg);
    cudnnHandle_t h = ctx.cudnn();
    const size_t want = dnn::search_workspace_want(
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int a, size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(
              h, descs_->filter.get(), descs_->in.get(), descs_->conv.get(), descs_->out.get(),
              cudnnConvolutionBwdDataAlgo_t(a), bytes);
        });
    Plans ps;
    for (size_t ws = std::min(want, dnn::search_workspace_cap(SIZE_MAX));; ws /= 2) {
      ps.candidates.push_back({"search with " + dnn::mib(ws), ws, 0});
      if (ws == 0) break;
    }
    return ps;
  }

  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    cudnnHandle_t h = ctx.cudnn();
    const cudnnMathType_t requested = descs_->conv.math();
    workspace_ = ws.get();
    int max_count = 0;
    TCONV_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
    int returned = 0;
    return status_of([&] {
      TCONV_CUDNN_REFUSABLE(cudnnFindConvolutionBackwardDataAlgorithmEx(
                                h, descs_->filter.get(), t.w, descs_->in.get(), t.x,
                                descs_->conv.get(), descs_->out.get(), t.y, int(perf.size()),
                                &returned, perf.data(), workspace_, plan.workspace_bytes),
                            "cudnnFindConvolutionBackwardDataAlgorithmEx");
      // Results come sorted by time; try them in that order until one runs.
      dnn::run_first_found(perf, returned, plan.workspace_bytes, cfg.dtype, descs_->conv, requested,
                           "backward-data", dnn::bwd_data_algo_name,
                           [&](const cudnnConvolutionBwdDataAlgoPerf_t& r) {
                             algo_ = r.algo;
                             ws_bytes_ = r.memory;
                             time_ms_ = r.time;
                             execute(ctx, p, cfg, t, /*refusable=*/true);
                             ctx.synchronize();
                           });
      chosen_ = true;
    });
  }

  // The winner's need, not the search's.
  size_t workspace_in_use(const Plan&) const override { return ws_bytes_; }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!chosen_) throw Error("cudnn_find: run() before initialize()");
    execute(ctx, p, cfg, t, /*refusable=*/false);
  }

  std::string algo() const override {
    if (!chosen_) return "";
    return std::string(dnn::bwd_data_algo_name(algo_)) +
           ", math=" + dnn::math_name(descs_->conv.math()) + dnn::find_note(time_ms_, ws_bytes_);
  }

  void release() override {
    descs_.reset();
    workspace_ = nullptr;
    ws_bytes_ = 0;
    chosen_ = false;
  }

 private:
  void execute(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
               bool refusable) {
    dnn::run_backward_data(ctx, p, cfg, t, *descs_, algo_, workspace_, ws_bytes_, refusable);
  }

  std::unique_ptr<dnn::LegacyConv> descs_;
  void* workspace_ = nullptr;  // the harness's
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
