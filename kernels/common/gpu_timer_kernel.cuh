// The stream-hold kernel of GpuTimer (kernels/common/gpu_timer.hpp), in a header so that the CPU
// tests run it on the CPU runtime (tests/test_cpu_run_ceilings.cpp): it must return at once when
// released and give up, marking the timeout, when it is not.
#pragma once

#include <cstdint>

#include "kernels/common/launch.cuh"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

__device__ inline uint64_t global_timer_ns() { return seam::global_timer_ns(); }

// Spins until the host sets words[0], or until timeout_ns have passed (then sets words[1]).
__global__ void hold_stream_kernel(volatile int32_t* words, uint64_t timeout_ns) {
  const uint64_t start = global_timer_ns();
  while (words[0] == 0) {
    if (global_timer_ns() - start > timeout_ns) {
      words[1] = 1;
      break;
    }
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
