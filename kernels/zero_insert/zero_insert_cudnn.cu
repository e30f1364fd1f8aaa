// zero_insert_cudnn: the textbook construction, with cuDNN doing the convolution. run() writes
// the zero-inserted, padded image z (input i at dil*(k-1) - pad + i*stride in each dimension,
// zeros elsewhere; kernels/common/index_math.hpp) and the flipped, channel-swapped weight wz, then calls
// cudnnConvolutionForward with stride 1, pad 0 and the problem's dilation (cross-correlation
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
// The forward algorithm is picked in prepare with cudnnFindConvolutionForwardAlgorithmEx (the
// method's best case); fp32 keeps CUDNN_FMA_MATH so no TF32 is used.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/common/gpu_context.hpp"

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

  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    release();
    const int64_t z_elems = dnn::zi_input(p, cfg.layout).elems();
    if (z_elems > kMaxTensorElems)
      throw Skipped("zero-inserted image would have " + std::to_string(z_elems) +
                    " elements, beyond int32 indexing");
    const size_t elem = storage_bytes(cfg.dtype);
    const size_t z_bytes = size_t(z_elems) * elem, wz_bytes = size_t(p.w_elems()) * elem;
    if (z_bytes + wz_bytes > ctx.memory_budget())
      throw Skipped("zero-inserted image and flipped weight need " + dnn::mib(z_bytes + wz_bytes) +
                    ", over the budget of " + dnn::mib(ctx.memory_budget()));
    if (!dnn::try_allocate(z_, z_bytes) || !dnn::try_allocate(wz_, wz_bytes))
      throw Skipped("zero-inserted image of " + dnn::mib(z_bytes) + ": out of device memory");
    z_elems_ = z_elems;

    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_zero_insert_forward(*descs_, p, cfg);
    cudnnHandle_t h = ctx.cudnn();
    const cudnnMathType_t requested = descs_->conv.math();

    // Real z and wz for the search.
    transform(ctx, p, cfg, t);

    const size_t left = ctx.memory_budget() - (z_bytes + wz_bytes);
    const size_t ws = dnn::allocate_search_workspace(
        workspace_, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, dnn::search_workspace_cap(left),
        [&](int a, size_t* bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(
              h, descs_->in.get(), descs_->filter.get(), descs_->conv.get(), descs_->out.get(),
              cudnnConvolutionFwdAlgo_t(a), bytes);
        });

    int max_count = 0;
    TCONV_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(size_t(std::max(max_count, 1)));
    int returned = 0;
    TCONV_CUDNN_REFUSABLE(
        cudnnFindConvolutionForwardAlgorithmEx(
            h, descs_->in.get(), z_.get(), descs_->filter.get(), wz_.get(), descs_->conv.get(),
            descs_->out.get(), t.y, int(perf.size()), &returned, perf.data(), workspace_.get(), ws),
        "cudnnFindConvolutionForwardAlgorithmEx");

    dnn::run_first_found(perf, returned, ws, cfg.dtype, descs_->conv, requested, "forward",
                         dnn::fwd_algo_name, [&](const cudnnConvolutionFwdAlgoPerf_t& r) {
                           algo_ = r.algo;
                           ws_bytes_ = r.memory;
                           time_ms_ = r.time;
                           execute(ctx, p, cfg, t, /*refusable=*/true);
                           ctx.synchronize();
                         });
    chosen_ = true;
    if (ws_bytes_ < workspace_.bytes() && !dnn::try_allocate(workspace_, ws_bytes_))
      throw Skipped("zero_insert_cudnn: re-allocating " + dnn::mib(ws_bytes_) + " failed");
  }

  size_t workspace_bytes() const override {
    return chosen_ ? z_.bytes() + wz_.bytes() + ws_bytes_ : 0;
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!chosen_) throw Error("zero_insert_cudnn: run() before prepare()");
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
    z_.reset();
    wz_.reset();
    workspace_.reset();
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
      dnn_kernels::launch_zero_insert_transform<T>(ctx.stream(), p, nhwc,
                                                   static_cast<const T*>(t.x), z_.as<T>(),
                                                   z_elems_, static_cast<const T*>(t.w),
                                                   wz_.as<T>());
    });
  }

  void execute(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
               bool refusable) {
    const dnn::Scaling sc = dnn::conv_scaling();
    const cudnnStatus_t st = cudnnConvolutionForward(
        ctx.cudnn(), &sc.alpha, descs_->in.get(), z_.get(), descs_->filter.get(), wz_.get(),
        descs_->conv.get(), algo_, workspace_.get(), ws_bytes_, &sc.beta, descs_->out.get(), t.y);
    if (st != CUDNN_STATUS_SUCCESS) {
      const std::string what =
          std::string("cudnnConvolutionForward with ") + dnn::fwd_algo_name(algo_);
      if (refusable) dnn::throw_status(st, what);
      throw Error(what + ": " + dnn::describe_status(st));
    }
    dnn::add_bias(ctx, p, cfg, t);
  }

  std::unique_ptr<dnn::LegacyConv> descs_;
  DeviceBuffer z_, wz_, workspace_;
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
