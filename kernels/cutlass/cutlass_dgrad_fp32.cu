// cutlass_dgrad's fp32 tile configurations (see cutlass_dgrad.cu): SIMT fp32 FMA (no tensor cores, so no TF32), one element per access (any channel count).
#include "kernels/cutlass/cutlass_dgrad_runner.cuh"

namespace tconv::cutlass_dgrad {

using cutlass::gemm::GemmShape;
constexpr auto kOptimized = cutlass::conv::IteratorAlgorithm::kOptimized;

Runners runners_fp32() {
  Runners r;
  using E = float;
  using SIMT = cutlass::arch::OpClassSimt;
  using I = GemmShape<1, 1, 1>;
  r.emplace_back(new RunnerT<E, SIMT, GemmShape<128, 128, 8>, GemmShape<32, 64, 8>, I, 4, 1, kOptimized>(
      "f32 simt 128x128x8 w32x64x8 s4 align1"));
  r.emplace_back(new RunnerT<E, SIMT, GemmShape<64, 64, 8>, GemmShape<32, 32, 8>, I, 4, 1, kOptimized>(
      "f32 simt 64x64x8 w32x32x8 s4 align1"));
  return r;
}

}  // namespace tconv::cutlass_dgrad
