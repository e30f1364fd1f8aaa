// The type-erased face of one CUTLASS 3 sm90 fprop instantiation (a dtype and a tile shape), so
// phase_sm90.cu, gemm_shuffle_sm90.cu and the CPU tests see every configuration without
// compiling CUTLASS's kernels themselves. The instantiations live in phase_sm90_<dtype>.cu,
// compiled for sm_90a only (wgmma and TMA), one translation unit each.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "kernels/phase_sm90/phase_sm90_map.hpp"

namespace tconv::phase_sm90 {

// One launch's operands: element pointers in the row's dtype (tf32: fp32 storage).
struct Operands {
  const void* x = nullptr;  // activation view's (0,0,0,0)
  const void* filter = nullptr;
  const void* bias = nullptr;  // per output channel of this launch, or null
  void* y = nullptr;           // output view's (0,0,0,0)
};

class Runner {
 public:
  virtual ~Runner() = default;
  // e.g. "f16 128x128x64 c1x1x1 ws"
  virtual std::string name() const = 0;
  // CUTLASS's own ConvUniversalAdapter::can_implement (host code, no GPU) for this launch, with
  // the TMA alignment of every pointer (16 bytes) checked first: "" or the reason.
  virtual std::string can_implement(const Launch& l, const Operands& o) const = 0;
  virtual size_t workspace_bytes(const Launch& l) const = 0;
  // Builds the kernel parameters (TMA descriptors: needs the driver) into slot `slot`, so a plan
  // keeps one set per launch: "" or CUTLASS's reason.
  virtual std::string initialize(int slot, const Launch& l, const Operands& o, void* workspace,
                                 int sm_count) = 0;
  // Enqueues the launch initialized into `slot`; throws tconv::Error with CUTLASS's reason.
  virtual void run(int slot, cudaStream_t stream) = 0;
};

using Runners = std::vector<std::unique_ptr<Runner>>;
Runners runners_fp16();
Runners runners_bf16();
Runners runners_tf32();

inline Runners runners_for(DType t) {
  switch (t) {
    case DType::fp16:
      return runners_fp16();
    case DType::bf16:
      return runners_bf16();
    case DType::tf32:
      return runners_tf32();
    default:
      return {};
  }
}

}  // namespace tconv::phase_sm90
