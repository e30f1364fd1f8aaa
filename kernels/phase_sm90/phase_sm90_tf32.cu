// phase_sm90's tf32 configurations (see phase_sm90.cu): fp32 storage in and out, tf32 wgmma
// (the tensor cores read fp32 operands as tf32), fp32 accumulation.
// 128x128x32: 32 channels (128 bytes) a k-tile, TMA's 128-byte swizzle.
#include "kernels/phase_sm90/phase_sm90_runner.cuh"

namespace tconv::phase_sm90 {

Runners runners_tf32() {
  using namespace cute;
  Runners r;
  r.emplace_back(new RunnerT<float, Shape<_128, _128, Shape<_32>>, Shape<_1, _1, _1>>(
      "tf32 128x128x32 c1x1x1"));
  return r;
}

}  // namespace tconv::phase_sm90
