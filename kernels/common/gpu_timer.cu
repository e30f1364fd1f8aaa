#include "kernels/common/gpu_timer.hpp"
#include "kernels/common/gpu_timer_kernel.cuh"

#include <string>

#include "kernels/common/cuda_check.hpp"
#include "core/types.hpp"

namespace tconv {

GpuTimer::GpuTimer(cudaStream_t stream, double timeout_s)
    : stream_(stream), timeout_ns_(uint64_t(timeout_s * 1e9)) {
  void* p = nullptr;
  TCONV_CUDA_CHECK(cudaHostAlloc(&p, 2 * sizeof(int32_t), cudaHostAllocMapped));
  host_words_ = static_cast<volatile int32_t*>(p);
  host_words_[0] = 0;
  host_words_[1] = 0;
  void* d = nullptr;
  const cudaError_t e = cudaHostGetDevicePointer(&d, p, 0);
  if (e != cudaSuccess) {
    cudaFreeHost(p);
    host_words_ = nullptr;
    TCONV_CUDA_CHECK(e);
  }
  device_words_ = static_cast<int32_t*>(d);
}

GpuTimer::~GpuTimer() {
  if (host_words_) {
    host_words_[0] = 1;  // never leave a held stream behind
    cudaStreamSynchronize(stream_);
    cudaFreeHost(const_cast<int32_t*>(host_words_));
  }
}

void GpuTimer::hold() {
  host_words_[0] = 0;
  host_words_[1] = 0;
  launch(hold_stream_kernel, dim3(1), dim3(1), 0, stream_, device_words_, timeout_ns_);
}

void GpuTimer::release() { host_words_[0] = 1; }

void GpuTimer::release_after_error() {
  host_words_[0] = 1;
  cudaStreamSynchronize(stream_);  // the error being thrown is the one to report
}

double GpuTimer::finish() {
  const double ms = double(events_.elapsed_ms());
  if (host_words_[1] != 0)
    throw Error("GPU timer: the stream was held for more than " +
                std::to_string(double(timeout_ns_) * 1e-9) +
                " s while the work was enqueued (the run synchronized, allocated, or enqueued too "
                "much); this time would include host work and is not reported");
  return ms;
}

}  // namespace tconv
