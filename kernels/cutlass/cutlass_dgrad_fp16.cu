// cutlass_dgrad's fp16 tile configurations (see cutlass_dgrad.cu): tensor cores, fp16 in and out, fp32 accumulation; 128-bit accesses (channels % 8).
#include "kernels/cutlass/cutlass_dgrad_runner.cuh"

namespace tconv::cutlass_dgrad {

using cutlass::gemm::GemmShape;
constexpr auto kOptimized = cutlass::conv::IteratorAlgorithm::kOptimized;

Runners runners_fp16() {
  Runners r;
  using E = cutlass::half_t;
  using TC = cutlass::arch::OpClassTensorOp;
  using I = GemmShape<16, 8, 16>;
  r.emplace_back(new RunnerT<E, TC, GemmShape<128, 128, 32>, GemmShape<64, 64, 32>, I, 3, 8, kOptimized>(
      "f16 tensorop 128x128x32 w64x64x32 s3 align8"));
  r.emplace_back(new RunnerT<E, TC, GemmShape<128, 64, 32>, GemmShape<64, 32, 32>, I, 4, 8, kOptimized>(
      "f16 tensorop 128x64x32 w64x32x32 s4 align8"));
  r.emplace_back(new RunnerT<E, TC, GemmShape<64, 64, 32>, GemmShape<32, 32, 32>, I, 5, 8, kOptimized>(
      "f16 tensorop 64x64x32 w32x32x32 s5 align8"));
  return r;
}

}  // namespace tconv::cutlass_dgrad
