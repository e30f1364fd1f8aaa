// zero_insert_cudnn: the textbook construction, with cuDNN doing the convolution. run() writes
// the zero-inserted, padded image z (input i at dil*(k-1) - pad + i*stride in each dimension,
// zeros elsewhere; kernels/common/index_math.hpp) and the flipped, channel-swapped weight wz, then
// calls cudnnConvolutionForward with stride 1, pad 0 and the problem's dilation (cross-correlation
// with the explicitly flipped weight), then adds the bias. All of that is the timed work.
//
// Extra memory: z (N * C_in * (H_out + dil_h*(k_h-1)) * (W_out + dil_w*(k_w-1)) elements, about
// stride_h*stride_w times x), wz (as large as w) and the forward algorithm's workspace.
// Work: the forward conv multiplies every inserted zero: work_ratio = H_out*W_out/(H_in*W_in),
// about stride_h*stride_w. It should win only at stride 1 (where it is a plain convolution and
// cuDNN's best forward kernels apply) and serves as the baseline the other methods beat.
// Limits: every dtype but fp64, both layouts, the full semantics (output_padding >= stride
// included: z is simply sized for it). Skipped when z exceeds int32 indexing (the index maps run
// in 32-bit) or the budget.
// The forward algorithm is picked in initialize with cudnnFindConvolutionForwardAlgorithmEx (the
// method's best case); fp32 keeps CUDNN_FMA_MATH so no TF32 is used.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv {
namespace {

class ZeroInsertCudnn : public Implementation {
 public:
  ~ZeroInsertCudnn() override { release(); }

  std::string name() const override { return "zero_insert_cudnn"; }
  std::string summary() const override {
    return "zero insertion + padding, then cuDNN forward conv (stride 1) with the flipped weight";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    (void)p;
    return dnn::dtype_support(cfg);
  }

  double work_ratio(const Problem& p) const override { return dnn::zero_insert_work_ratio(p); }

  // The workspace: z, wz, then the search's workspace, offered in preference order (the most any
  // forward algorithm asks for, capped as cudnn_find's, then halves of it down to none); the
  // harness takes the first that fits the budget.
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    const int64_t z_elems = dnn::zi_input(p, cfg.layout).elems();
    if (z_elems > kMaxTensorElems)
      return Plans::none(Status::skipped("zero-inserted image would have " +
                                         std::to_string(z_elems) +
                                         " elements, beyond int32 indexing"));
    z_elems_ = z_elems;
    const size_t elem = storage_bytes(cfg.dtype);
    auto up = [](size_t b) { return (b + 255) / 256 * 256; };
    wz_offset_ = up(size_t(z_elems) * elem);
    search_offset_ = wz_offset_ + up(size_t(p.w_elems()) * elem);

    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_zero_insert_forward(*descs_, p, cfg);
    cudnnHandle_t h = ctx.cudnn();
    const size_t want =
        dnn::search_workspace_want(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int a, size_t* bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(h, descs_->in.get(), descs_->filter.get(),
                                                         descs_->conv.get(), descs_->out.get(),
                                                         cudnnConvolutionFwdAlgo_t(a), bytes);
        });
    Plans ps;
    for (size_t ws = std::min(want, dnn::search_workspace_cap(SIZE_MAX));; ws /= 2) {
      ps.candidates.push_back({"z, wz and a search with " + dnn::mib(ws), search_offset_ + ws, 0});
      if (ws == 0) break;
    }
    return ps;
  }

  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    z_ = ws.get();
    wz_ = ws.as<char>(wz_offset_);
    workspace_ = ws.as<char>(search_offset_);
    const size_t search = plan.workspace_bytes - search_offset_;
    cudnnHandle_t h = ctx.cudnn();
    const cudnnMathType_t requested = descs_->conv.math();

    // Real z and wz for the search.
    transform(ctx, p, cfg, t);

    int max_count = 0;
    TCONV_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
    int returned = 0;
    return status_of([&] {
      TCONV_CUDNN_REFUSABLE(
          cudnnFindConvolutionForwardAlgorithmEx(
              h, descs_->in.get(), z_, descs_->filter.get(), wz_, descs_->conv.get(),
              descs_->out.get(), t.y, int(perf.size()), &returned, perf.data(), workspace_, search),
          "cudnnFindConvolutionForwardAlgorithmEx");
      dnn::run_first_found(perf, returned, search, cfg.dtype, descs_->conv, requested, "forward",
                           dnn::fwd_algo_name, [&](const cudnnConvolutionFwdAlgoPerf_t& r) {
                             algo_ = r.algo;
                             ws_bytes_ = r.memory;
                             time_ms_ = r.time;
                             execute(ctx, p, cfg, t, /*refusable=*/true);
                             ctx.synchronize();
                           });
      chosen_ = true;
    });
  }

  // z, wz and the winner's workspace (not the search's).
  size_t workspace_in_use(const Plan&) const override { return search_offset_ + ws_bytes_; }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!chosen_) throw Error("zero_insert_cudnn: run() before initialize()");
    transform(ctx, p, cfg, t);
    execute(ctx, p, cfg, t, /*refusable=*/false);
  }

  std::string algo() const override {
    if (!chosen_) return "";
    return std::string(dnn::fwd_algo_name(algo_)) +
           ", math=" + dnn::math_name(descs_->conv.math()) + dnn::find_note(time_ms_, ws_bytes_);
  }

  void release() override {
    descs_.reset();
    z_ = wz_ = workspace_ = nullptr;
    z_elems_ = 0;
    ws_bytes_ = 0;
    chosen_ = false;
  }

 private:
  // z and wz from x and w: part of the timed work.
  void transform(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) {
    const bool nhwc = cfg.layout == Layout::nhwc;
    dnn::dispatch_storage(cfg.dtype, [&](auto tag) {
      using T = decltype(tag);
      dnn_kernels::launch_zero_insert_transform<T>(
          ctx.stream(), p, nhwc, static_cast<const T*>(t.x), static_cast<T*>(z_), z_elems_,
          static_cast<const T*>(t.w), static_cast<T*>(wz_));
    });
  }

  void execute(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
               bool refusable) {
    const dnn::Scaling sc = dnn::conv_scaling();
    const cudnnStatus_t st = cudnnConvolutionForward(
        ctx.cudnn(), &sc.alpha, descs_->in.get(), z_, descs_->filter.get(), wz_, descs_->conv.get(),
        algo_, workspace_, ws_bytes_, &sc.beta, descs_->out.get(), t.y);
    if (st != CUDNN_STATUS_SUCCESS) {
      const std::string what =
          std::string("cudnnConvolutionForward with ") + dnn::fwd_algo_name(algo_);
      if (refusable) dnn::throw_status(st, what);
      throw Error(what + ": " + dnn::describe_status(st));
    }
    dnn::add_bias(ctx, p, cfg, t);
  }

  std::unique_ptr<dnn::LegacyConv> descs_;
  // In the harness's workspace: z, wz, then the algorithm's workspace.
  void* z_ = nullptr;
  void* wz_ = nullptr;
  void* workspace_ = nullptr;
  size_t wz_offset_ = 0, search_offset_ = 0;
  int64_t z_elems_ = 0;
  size_t ws_bytes_ = 0;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  float time_ms_ = 0;
  bool chosen_ = false;
};

}  // namespace

std::unique_ptr<Implementation> make_zero_insert_cudnn() {
  return std::make_unique<ZeroInsertCudnn>();
}

}  // namespace tconv
