// Small helpers every library-backed row shares (cuDNN, CUTLASS, the Hopper rows): a size in MiB
// for a reason string, an allocation that reports failure instead of throwing, and the dispatch
// from a DType to its storage type.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "core/types.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {

inline std::string mib(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

// Allocates `bytes` into buf, or leaves it empty and returns false when the device is out of
// memory (the error is cleared so later calls start clean).
inline bool try_allocate(DeviceBuffer& buf, size_t bytes) {
  buf.reset();
  if (bytes == 0) return true;
  try {
    buf.resize(bytes);
    return true;
  } catch (const Error&) {
    cudaGetLastError();
    return false;
  }
}

// Candidate plans for a buffer of per_item bytes per batch item, processed in chunks of items:
// every chunk size from min(n, cap_bytes / per_item) (at least 1) down to 1, largest first, so the
// harness's PlanChoice::first_that_fits takes the largest chunk the memory budget allows.
// Plan::index is the chunk's item count; `what` names the buffer in the plan's name.
inline Plans chunk_plans(int64_t n, double per_item, double cap_bytes, const char* what) {
  Plans ps;
  if (n < 1) return Plans::one({std::string(what) + ", no items", 0, 0});
  double fit = per_item > 0 ? cap_bytes / per_item : double(n);
  const int64_t first = fit >= double(n) ? n : (fit < 1 ? 1 : int64_t(fit));
  for (int64_t k = first; k >= 1; --k) {
    const double bytes = double(k) * per_item;
    if (bytes >= 0x1p62) continue;  // more than any device has: never a candidate
    ps.candidates.push_back(
        {std::string(what) + ", " + std::to_string(k) + " of " + std::to_string(n) + " items",
         size_t(bytes), k});
  }
  if (ps.candidates.empty())
    ps.status = Status::skipped(std::string(what) + " needs more memory than any device has");
  return ps;
}

// Calls f(T{}) with T the storage type of the dtype (tf32 is stored as fp32); `who` names the
// caller in the error for a dtype without one (fp64: the CPU references' only).
template <typename F>
inline void dispatch_storage(DType t, const std::string& who, F&& f) {
  switch (t) {
    case DType::fp32:
    case DType::tf32:
      f(float{});
      return;
    case DType::fp16:
      f(__half{});
      return;
    case DType::bf16:
      f(__nv_bfloat16{});
      return;
    default:
      throw Error(who + ": unsupported dtype " + to_string(t));
  }
}

}  // namespace tconv
