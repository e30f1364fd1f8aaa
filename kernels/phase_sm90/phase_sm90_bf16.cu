// phase_sm90's bf16 configurations (see phase_sm90.cu): bf16 in and out, fp32 accumulation.
// 128x128x64: one consumer warpgroup, 64 channels (128 bytes) a k-tile, TMA's 128-byte swizzle.
#include "kernels/phase_sm90/phase_sm90_runner.cuh"

namespace tconv::phase_sm90 {

Runners runners_bf16() {
  using namespace cute;
  Runners r;
  r.emplace_back(new RunnerT<cutlass::bfloat16_t, Shape<_128, _128, Shape<_64>>, Shape<_1, _1, _1>>(
      "bf16 128x128x64 c1x1x1"));
  return r;
}

}  // namespace tconv::phase_sm90
