// cudnn_heuristic: what a framework gets from cuDNN's legacy API without timing anything, as
// PyTorch does with torch.backends.cudnn.benchmark off: cudnnGetConvolutionBackwardDataAlgorithm_v7
// ranks the algorithms by its heuristics (no run), and the first that succeeded, keeps the
// dtype's math contract and whose workspace can be allocated is used (the harness takes the
// first that fits: PlanChoice::first_that_fits). Set against cudnn_find (cuDNN's timed choice)
// and the fastest row of a shape, it is the cost of the default choice (pytorch/pytorch#41382).
//
// Extra memory: the chosen algorithm's workspace, as cuDNN states it.
// Where it should win: never by design; where it is close to the best, autotuning buys nothing.
// Limits: as cudnn_algo* (output_padding >= stride not expressible); not_supported when the
// heuristics offer no usable algorithm or the chosen one refuses to run (a framework would fail
// there too: it does not try the next one after a refusal).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv {
namespace {

class CudnnHeuristic : public Implementation {
 public:
  ~CudnnHeuristic() override { release(); }

  std::string name() const override { return "cudnn_heuristic"; }
  bool default_choice() const override { return true; }
  std::string summary() const override {
    return "cuDNN legacy backward-data, the heuristics' first choice, untimed (PyTorch's default)";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    return dnn::dgrad_support(p, cfg);
  }

  // The heuristics' ranking, best first, each with the workspace cuDNN states for it.
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_dgrad(*descs_, p, cfg);
    requested_ = descs_->conv.math();
    cudnnHandle_t h = ctx.cudnn();
    int max_count = 0;
    TCONV_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    perf_.assign(size_t(std::max(max_count, 1)), {});
    int returned = 0;
    TCONV_CUDNN_REFUSABLE(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                              h, descs_->filter.get(), descs_->in.get(), descs_->conv.get(),
                              descs_->out.get(), int(perf_.size()), &returned, perf_.data()),
                          "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    const std::vector<int> order = dnn::heuristic_order(perf_, returned, cfg.dtype);
    offered_ = int(order.size());
    if (order.empty()) {
      std::string statuses;
      for (int i = 0; i < returned; ++i)
        statuses += std::string(i ? ", " : "") + dnn::bwd_data_algo_name(perf_[size_t(i)].algo) +
                    "=" + cudnnGetErrorString(perf_[size_t(i)].status);
      return Plans::none(Status::not_supported(
          "cuDNN heuristics offer no usable backward-data algorithm (" + statuses + ")"));
    }
    Plans ps;
    for (int i : order) {
      const cudnnConvolutionBwdDataAlgoPerf_t& r = perf_[size_t(i)];
      ps.candidates.push_back({dnn::bwd_data_algo_name(r.algo), r.memory, i});
    }
    return ps;
  }

  // The chosen algorithm and its math type, run once untimed: a refusal is not_supported.
  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    const cudnnConvolutionBwdDataAlgoPerf_t& r = perf_[size_t(plan.index)];
    algo_ = r.algo;
    rank_ = int(plan.index) + 1;
    descs_->conv.set_math(cfg.dtype == DType::fp32 ? requested_ : r.mathType);
    workspace_ = ws.get();
    ws_bytes_ = plan.workspace_bytes;
    chosen_ = true;
    return status_of([&] {
      execute(ctx, p, cfg, t, /*refusable=*/true);
      ctx.synchronize();
    });
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!chosen_) throw Error("cudnn_heuristic: run() before initialize()");
    execute(ctx, p, cfg, t, /*refusable=*/false);
  }

  std::string algo() const override {
    if (!chosen_) return "";
    char buf[96];
    std::snprintf(buf, sizeof(buf), " (heuristics' rank %d, %d usable)", rank_, offered_);
    return std::string(dnn::bwd_data_algo_name(algo_)) +
           ", math=" + dnn::math_name(descs_->conv.math()) + buf;
  }

  void release() override {
    descs_.reset();
    perf_.clear();
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
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf_;
  cudnnMathType_t requested_ = CUDNN_DEFAULT_MATH;
  cudnnConvolutionBwdDataAlgo_t algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  void* workspace_ = nullptr;  // the harness's
  size_t ws_bytes_ = 0;
  int rank_ = 0, offered_ = 0;
  bool chosen_ = false;
};

}  // namespace

std::unique_ptr<Implementation> make_cudnn_heuristic() {
  return std::make_unique<CudnnHeuristic>();
}

}  // namespace tconv
