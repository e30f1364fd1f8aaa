// gemm_shuffle_sm90: kernel = stride without padding (SAM's and ViTDet's upsamplers, YOLOv8-seg's
// Proto, U-Net decoders): no two taps overlap, so y is the GEMM of X (N*H*W x C_in) with the
// weight (C_in x k_h*k_w*C_out) followed by a pixel shuffle. Run as one CUTLASS 3 sm90 1x1 fprop
// per kernel row ky (TMA + wgmma, bias fused): the row's k_w taps write adjacent channels of y,
// so they are one GEMM with k_w*C_out columns, and the shuffle is the epilogue's output strides
// (y's view: pixel stride stride_w*C_out, row stride stride_h*W_out*C_out). It needs no shuffle
// pass, no workspace for the product, and no compiled permutation: every W_in is served.
// CUTLASS's own permuted-epilogue GEMM (example 53, Tensor4DPermute0213RowMajor) fixes the
// permuted extents at compile time; the 1x1 fprop's hierarchical output mode (q, p, n) takes them
// at run time. Mapping: kernels/phase_sm90/phase_sm90_map.hpp (plan_shuffle).
//
// Extra memory: the weight transposed to K-major (TMA B operand), the weight's size, and the bias
// tiled k_w times, packed in prepare.
// Limits: those of phase_sm90, plus k_h = stride_h, k_w = stride_w, no padding, no output padding.
#include <memory>

#include "kernels/phase_sm90/phase_sm90_rows.hpp"

namespace tconv {
namespace {

class GemmShuffleSm90 final : public phase_sm90::Sm90Rows {
 public:
  std::string name() const override { return "gemm_shuffle_sm90"; }
  std::string summary() const override {
    return "kernel = stride: GEMM with the pixel shuffle in the epilogue's strides (CUTLASS 3 "
           "sm90 1x1 fprop per kernel row, TMA + wgmma)";
  }

 protected:
  phase_sm90::Plan make_plan(const Problem& p) const override {
    return phase_sm90::plan_shuffle(p);
  }
  std::string extra_reason(const Problem& p) const override {
    return phase_sm90::shuffle_reason(p);
  }
};

}  // namespace

std::unique_ptr<Implementation> make_gemm_shuffle_sm90() {
  return std::make_unique<GemmShuffleSm90>();
}

}  // namespace tconv
