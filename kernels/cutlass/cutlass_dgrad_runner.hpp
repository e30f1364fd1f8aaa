// The type-erased face of one CUTLASS strided-dgrad instantiation (a tile configuration of one
// dtype), so cutlass_dgrad.cu and the CPU tests see every configuration without compiling CUTLASS
// themselves. The instantiations live in cutlass_dgrad_<dtype>.cu, one file per dtype so they
// compile in parallel.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "kernels/cutlass/cutlass_dgrad_map.hpp"

namespace tconv::cutlass_dgrad {

class Runner {
 public:
  virtual ~Runner() = default;
  // Tile configuration, e.g. "f16 tensorop 128x128x32 w64x64x32 s3 optimized align8".
  virtual std::string name() const = 0;
  // CUTLASS's own static can_implement on the problem size (host code, no GPU): "" when it
  // accepts, else cutlassGetStatusString of its refusal.
  virtual std::string can_implement(const Shape& s) const = 0;
  virtual size_t workspace_bytes(const Shape& s) const = 0;
  // Builds the kernel parameters for these operands (host work plus, for large shared memory, a
  // function attribute): "" or CUTLASS's reason.
  virtual std::string initialize(const Shape& s, const void* dy, const void* w, void* dx,
                                 void* workspace, cudaStream_t stream) = 0;
  // Enqueues the kernel initialized last; throws tconv::Error with CUTLASS's reason.
  virtual void run(cudaStream_t stream) = 0;
};

using Runners = std::vector<std::unique_ptr<Runner>>;
Runners runners_fp16();
Runners runners_bf16();
Runners runners_tf32();
Runners runners_fp32();

inline Runners runners_for(DType t) {
  switch (t) {
    case DType::fp16:
      return runners_fp16();
    case DType::bf16:
      return runners_bf16();
    case DType::tf32:
      return runners_tf32();
    case DType::fp32:
      return runners_fp32();
    default:
      return {};
  }
}

}  // namespace tconv::cutlass_dgrad
