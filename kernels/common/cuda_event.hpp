// The one CUDA-event timer: a start/stop pair recorded on a stream, read back in milliseconds.
// RAII so that a CHECK throwing between creation and destruction cannot leak the events; the
// destructor never throws (it may run during unwinding). Plain cudaEventCreate (default flags:
// timing enabled, blocking sync off), as every former hand-rolled pair used.
#pragma once

#include <cuda_runtime.h>

#include "kernels/common/cuda_check.hpp"

namespace tconv {

class EventPair {
 public:
  EventPair() {
    TCONV_CUDA_CHECK(cudaEventCreate(&start_));
    try {
      TCONV_CUDA_CHECK(cudaEventCreate(&stop_));
    } catch (...) {
      cudaEventDestroy(start_);  // the destructor does not run when the constructor throws
      throw;
    }
  }
  ~EventPair() {
    if (start_) cudaEventDestroy(start_);
    if (stop_) cudaEventDestroy(stop_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;

  void record_start(cudaStream_t stream) { TCONV_CUDA_CHECK(cudaEventRecord(start_, stream)); }
  void record_stop(cudaStream_t stream) { TCONV_CUDA_CHECK(cudaEventRecord(stop_, stream)); }
  // Blocks until the stop event has completed, then returns stop - start.
  float elapsed_ms() const {
    TCONV_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    TCONV_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

}  // namespace tconv
