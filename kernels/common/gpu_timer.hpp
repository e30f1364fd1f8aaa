// GPU time of work enqueued on a stream, without the host's enqueue time: nvbench's blocking
// kernel. Recording a start event on an idle stream and then enqueuing the work counts the host's
// enqueue time (a few microseconds per launch, tens for cuDNN, cuSPARSE and multi-call paths) as
// GPU time, which swamps small problems. Here a one-thread kernel first holds the stream by
// spinning on a host-mapped flag; the host records the start event, enqueues the work and the stop
// event behind it, then releases the flag, so the GPU runs the start event, the work and the stop
// event back to back.
//
// The hold has a timeout (default 10 s, as nvbench has one): work that synchronizes the stream or
// the device while it is enqueued (cudaMalloc/cudaFree inside run(), a blocking library call, a
// queue of more launches than the driver buffers) would otherwise deadlock. It then ends in a
// tconv::Error that says so, never in a hang or a silently wrong time.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "kernels/common/cuda_event.hpp"

namespace tconv {

class GpuTimer {
 public:
  explicit GpuTimer(cudaStream_t stream, double timeout_s = 10.0);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  // Holds the stream, records the start event, calls enqueue() (which must only enqueue work on
  // the stream), records the stop event, releases the stream and waits for it. Milliseconds
  // between the two events. Throws tconv::Error when the hold timed out (the time would include
  // host work) and rethrows what enqueue() throws, after releasing the stream.
  template <typename Enqueue>
  double time_ms(Enqueue&& enqueue) {
    hold();
    try {
      events_.record_start(stream_);
      std::forward<Enqueue>(enqueue)();
      events_.record_stop(stream_);
    } catch (...) {
      release_after_error();
      throw;
    }
    release();
    return finish();
  }

  cudaStream_t stream() const { return stream_; }

 private:
  void hold();
  void release();
  void release_after_error();
  double finish();

  cudaStream_t stream_;
  uint64_t timeout_ns_;
  // Pinned, mapped host words: [0] the release flag (host writes), [1] set by the kernel when the
  // hold timed out.
  volatile int32_t* host_words_ = nullptr;
  int32_t* device_words_ = nullptr;
  EventPair events_;
};

}  // namespace tconv
