// phase_sm90: transposed convolution on Hopper as stride_h*stride_w unit-stride convolutions, one
// per output phase, each a CUTLASS 3 sm90 fprop (TMA im2col loads, wgmma, warp-specialized; the
// per-channel bias fused in its TMA epilogue) of x with the phase's flipped sub-filter, written
// straight into y's strided view. CUTLASS 4.2's sm90 dgrad is unit-stride only (the strided dgrad
// of the 3.x API exists only for SM100), so on Hopper the phase split is what makes the library's
// fastest convolution path usable for a strided transposed convolution.
// Mapping (phases, padding, views, filter packing): kernels/phase_sm90/phase_sm90_map.hpp, run in
// fp64 by tests/test_phase_sm90.cpp. Schedules and workspace: phase_sm90_rows.hpp.
//
// Extra memory: the packed sub-filters (the weight's size, y's dtype), packed in prepare.
// Where it should win: fp16/bf16/tf32 NHWC layers with channel counts that are multiples of 8
// (16-bit) or 4 (tf32) on an H100/H200, where the mma.sync rows (phase_gemm, cutlass_dgrad) reach
// about half of the tensor cores' rate.
// Limits: sm_90 GPUs only (the kernels are compiled for sm_90a alone); NHWC; fp16, bf16, tf32;
// dilation 1, groups 1; C_in and C_out multiples of 16 bytes (TMA); padding and the corners of
// TMA's im2col window within its limits (CUTLASS's can_implement says which). A phase whose taps
// see only padding, or none (kernel < stride), is written by a fill with the bias.
#include <memory>

#include "kernels/phase_sm90/phase_sm90_rows.hpp"

namespace tconv {
namespace {

class PhaseSm90 final : public phase_sm90::Sm90Rows {
 public:
  std::string name() const override { return "phase_sm90"; }
  std::string summary() const override {
    return "phase decomposition on Hopper: one CUTLASS 3 sm90 fprop (TMA + wgmma) per phase into "
           "y's strided view";
  }

 protected:
  phase_sm90::Plan make_plan(const Problem& p) const override { return phase_sm90::plan_phases(p); }
  std::string extra_reason(const Problem&) const override { return ""; }
};

}  // namespace

std::unique_ptr<Implementation> make_phase_sm90() {
  return std::make_unique<PhaseSm90>();
}

}  // namespace tconv
