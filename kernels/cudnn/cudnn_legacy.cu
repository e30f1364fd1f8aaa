// cudnn_algo0 ... cudnn_winograd_nonfused: the transposed convolution as cuDNN's legacy
// cudnnConvolutionBackwardData with one fixed CUDNN_CONVOLUTION_BWD_DATA_ALGO_* each (dy = x,
// w = the weight as stored, dx = y; see kernels/cudnn/cudnn_common.hpp), then a bias pass.
//
// Extra memory: the algorithm's workspace (cudnnGetConvolutionBackwardDataWorkspaceSize),
// allocated by the harness; FFT variants can need far more than the operands.
// Where each should win: ALGO_1 (implicit GEMM, tensor ops for tf32/fp16/bf16) is the general
// workhorse; ALGO_0 (atomics, non-deterministic) for small channel counts; FFT/FFT_TILING for
// large kernels at stride 1; WINOGRAD(_NONFUSED) for 3x3 stride 1.
// Limits: cuDNN refuses many (algorithm, problem, dtype, layout) combinations: plans() or
// initialize() then answers not_supported with cuDNN's own reason (the row reads not_supported).
// output_padding >= stride cannot be expressed as backward-data (can_implement says so). fp32 runs
// with CUDNN_FMA_MATH so no TF32 sneaks in; tf32/fp16/bf16 use CUDNN_TENSOR_OP_MATH.
#include <memory>
#include <string>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv {
namespace {

class CudnnLegacy : public Implementation {
 public:
  CudnnLegacy(std::string name, cudnnConvolutionBwdDataAlgo_t algo, std::string where)
      : name_(std::move(name)), algo_(algo), where_(std::move(where)) {}
  ~CudnnLegacy() override { release(); }

  std::string name() const override { return name_; }
  std::string summary() const override {
    return std::string("cuDNN legacy backward-data, ") + dnn::bwd_data_algo_name(algo_) + " (" +
           where_ + ")";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    return dnn::dgrad_support(p, cfg);
  }

  // One plan: this algorithm, with the workspace cuDNN asks for (a refusal of the size query
  // is a not_supported row).
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    descs_ = std::make_unique<dnn::LegacyConv>();
    dnn::build_dgrad(*descs_, p, cfg);
    size_t bytes = 0;
    TCONV_CUDNN_REFUSABLE(cudnnGetConvolutionBackwardDataWorkspaceSize(
                              ctx.cudnn(), descs_->filter.get(), descs_->in.get(),
                              descs_->conv.get(), descs_->out.get(), algo_, &bytes),
                          std::string("cuDNN refuses ") + dnn::bwd_data_algo_name(algo_));
    return Plans::one({dnn::bwd_data_algo_name(algo_), bytes, 0});
  }

  Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                    const Plan& plan, Workspace ws) override {
    workspace_ = ws.get();
    ws_bytes_ = plan.workspace_bytes;
    // A size query can succeed where the call itself refuses: one untimed trial turns that
    // into not_supported here instead of an error in the timed loop.
    return status_of([&] {
      execute(ctx, p, cfg, t, /*refusable=*/true);
      ctx.synchronize();
    });
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!workspace_) throw Error(name_ + ": run() before initialize()");
    execute(ctx, p, cfg, t, /*refusable=*/false);
  }

  std::string algo() const override {
    if (!descs_) return "";
    return std::string(dnn::bwd_data_algo_name(algo_)) +
           ", math=" + dnn::math_name(descs_->conv.math());
  }

  void release() override {
    descs_.reset();
    workspace_ = nullptr;
    ws_bytes_ = 0;
  }

 private:
  void execute(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
               bool refusable) {
    dnn::run_backward_data(ctx, p, cfg, t, *descs_, algo_, workspace_, ws_bytes_, refusable);
  }

  std::string name_;
  cudnnConvolutionBwdDataAlgo_t algo_;
  std::string where_;
  std::unique_ptr<dnn::LegacyConv> descs_;
  void* workspace_ = nullptr;  // the harness's
  size_t ws_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Implementation> make_cudnn_algo0() {
  return std::make_unique<CudnnLegacy>("cudnn_algo0", CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                                       "atomics, non-deterministic");
}
std::unique_ptr<Implementation> make_cudnn_algo1() {
  return std::make_unique<CudnnLegacy>("cudnn_algo1", CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                       "implicit GEMM");
}
std::unique_ptr<Implementation> make_cudnn_fft() {
  return std::make_unique<CudnnLegacy>("cudnn_fft", CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
                                       "FFT over the whole image");
}
std::unique_ptr<Implementation> make_cudnn_fft_tiling() {
  return std::make_unique<CudnnLegacy>("cudnn_fft_tiling",
                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, "tiled FFT");
}
std::unique_ptr<Implementation> make_cudnn_winograd() {
  return std::make_unique<CudnnLegacy>("cudnn_winograd", CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD,
                                       "fused Winograd");
}
std::unique_ptr<Implementation> make_cudnn_winograd_nonfused() {
  return std::make_unique<CudnnLegacy>("cudnn_winograd_nonfused",
                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED,
                                       "non-fused Winograd");
}

}  // namespace tconv
