// cutlass_dgrad's tf32 tile configurations (see cutlass_dgrad.cu): fp32 storage, TF32 tensor-core math (CUTLASS rounds fp32 to tf32 for float operands with OpMultiplyAdd), fp32 accumulation; 128-bit accesses (channels % 4).
#include "kernels/cutlass/cutlass_dgrad_runner.cuh"

namespace tconv::cutlass_dgrad {

using cutlass::gemm::GemmShape;
constexpr auto kOptimized = cutlass::conv::IteratorAlgorithm::kOptimized;

Runners runners_tf32() {
  Runners r;
  using E = float;
  using TC = cutlass::arch::OpClassTensorOp;
  using I = GemmShape<16, 8, 8>;
  r.emplace_back(new RunnerT<E, TC, GemmShape<128, 128, 16>, GemmShape<64, 64, 16>, I, 4, 4, kOptimized>(
      "tf32 tensorop 128x128x16 w64x64x16 s4 align4"));
  r.emplace_back(new RunnerT<E, TC, GemmShape<64, 64, 16>, GemmShape<32, 32, 16>, I, 4, 4, kOptimized>(
      "tf32 tensorop 64x64x16 w32x32x16 s4 align4"));
  return r;
}

}  // namespace tconv::cutlass_dgrad
