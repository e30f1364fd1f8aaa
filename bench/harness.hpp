// The harness: verify one (problem, implementation, dtype, layout) row against an fp64
// reference, then time it with CUDA events. Shared by tconv_bench and by tests/test_gpu_impls.cpp
// (one code path: what the tests accept is what the benchmark reports as passed).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/csv.hpp"
#include "bench/inputs.hpp"
#include "bench/lifecycle.hpp"
#include "bench/operands.hpp"
#include "bench/tolerance.hpp"
#include "core/memory.hpp"
#include "kernels/common/cuda_event.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/gpu_timer.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {

// Problems up to this many useful FLOPs get the CPU reference ref::direct (~1 s at a few
// GFLOP/s); larger ones the GPU fp64 reference.
constexpr double kCpuReferenceMaxFlops = 2e9;

// Inputs and fp64 reference output of one problem, per storage dtype (fp32 and tf32 share one).
struct ReferenceData {
  HostInputs in;
  std::vector<double> y;  // NCHW
  std::string kind;       // "cpu_fp64" (ref::direct) or "gpu_fp64" (reference_gpu_fp64)
};

class ReferenceCache {
 public:
  explicit ReferenceCache(uint64_t seed, double cpu_max_flops = kCpuReferenceMaxFlops)
      : seed_(seed), cpu_max_flops_(cpu_max_flops) {}
  // Computed on first use; entries of one problem are kept, asking for another drops them.
  // Throws Skipped when the GPU reference's fp64 operands exceed ctx.memory_budget().
  const ReferenceData& get(Context& ctx, const Problem& p, DType t);
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  double cpu_max_flops_;
  std::string problem_key_;
  std::map<DType, ReferenceData> entries_;
};

struct VerifyOptions {
  bool check_determinism = true;
};

// Everything about a row that verification establishes.
struct RowOutcome {
  std::string status = "passed";  // passed, incorrect, not_supported, skipped, failed
  std::string reason;             // empty when passed with full accuracy
  std::string accuracy;           // full / reduced when compared and passed (judge_accuracy)
  bool prepared = false;          // initialized with a plan: the implementation may be timed
  double setup_ms;                // plans + initialize (+ candidate timing) time; NaN if not run
  std::string algo;
  int64_t workspace_bytes = -1;  // -1: no plan was initialized
  double work_ratio;
  ErrorMetrics err;  // valid when compared
  bool compared = false;
  Tolerance tol;
  std::string deterministic = "na";  // yes, no, na
  std::string reference;             // cpu_fp64 / gpu_fp64 when compared
  RowOutcome();
};

// What verify_row hands over for timing: the operands, and the workspace the implementation
// holds. Destroying it releases the implementation first, then frees its workspace.
struct RowResources {
  Implementation* impl = nullptr;
  std::unique_ptr<DeviceOperands> ops;
  std::unique_ptr<DeviceWorkspaceSource> workspace;
  RowResources() = default;
  RowResources(const RowResources&) = delete;
  RowResources& operator=(const RowResources&) = delete;
  ~RowResources();
  Tensors tensors() const { return ops->tensors(); }
};

// One row up to timing: can_implement, the operand memory check, random inputs (seeded by refs),
// upload, the lifecycle (bench/lifecycle.hpp: plans, budget, workspace, initialize, candidates
// timed; event-timed as setup_ms), poisoned run + compare, a second poisoned run compared bit for
// bit. Never throws for the implementation's failures: they become the outcome's status.
// When keep is given and the row passed, the initialized implementation's resources are handed
// over for timing; otherwise the implementation is released before returning.
RowOutcome verify_row(Context& ctx, Implementation& impl, const Problem& p, const Config& cfg,
                      ReferenceCache& refs, const VerifyOptions& opt = {},
                      std::unique_ptr<RowResources>* keep = nullptr);

// The lifecycle alone on the device, for tests that drive an implementation themselves: plans,
// the budget (ctx's, lowered to 90% of what is free), a poisoned device workspace, initialize.
// The returned resources (ops left empty) release impl and free the workspace when destroyed.
std::unique_ptr<RowResources> prepare_on_device(Context& ctx, Implementation& impl,
                                                const Problem& p, const Config& cfg,
                                                const Tensors& t, Prepared* out);

// A row's failure that is not the implementation's answer (a CUDA or library error): "skipped"
// with the error, or "failed" when it left the device unusable (a sticky error such as an
// illegal address): then the bench writes that row and stops, and --resume goes on after it.
struct RowFailure {
  std::string status, reason;
};
RowFailure classify_row_failure(const std::string& what, bool device_now_lost);
// Clears a non-sticky CUDA error left by an earlier row (no-op once the device is lost).
void clear_stale_cuda_error();

// True once a CUDA error has left the device unusable (sticky error); *why says which.
bool device_lost(std::string* why = nullptr);
// After a failure: records whether it left a sticky error (then device_lost() is true).
void check_device_after_failure();

// Evicts L2 between timed runs: cudaMemsetAsync over twice the L2 size.
class L2Flusher {
 public:
  explicit L2Flusher(Context& ctx);
  void flush(cudaStream_t stream);
  size_t bytes() const { return buf_.bytes(); }

 private:
  DeviceBuffer buf_;
};

// Event-timed runs of a prepared implementation on ctx.stream(), with the stream held while
// run() enqueues (GpuTimer), so host enqueue time is not counted as GPU time.
class RunTimer {
 public:
  // flusher null: hot cache (no flush).
  RunTimer(Context& ctx, L2Flusher* flusher);
  RunTimer(const RunTimer&) = delete;
  RunTimer& operator=(const RunTimer&) = delete;
  // Untimed runs.
  void warmup(Implementation& impl, const Problem& p, const Config& cfg, const Tensors& t, int n);
  // Flush (unless hot), then one run between two events; milliseconds.
  double time_once(Implementation& impl, const Problem& p, const Config& cfg, const Tensors& t);

 private:
  Context& ctx_;
  L2Flusher* flusher_;
  GpuTimer timer_;
};

// The context columns: GPU, clocks, driver and library versions, commit. No ceilings.
RunInfo query_run_info(Context& ctx);
// Measures the ceilings into info (copy GB/s, SGEMM, TF32 and HGEMM TFLOP/s); a ceiling that
// cannot be measured (memory, library error) stays NaN and is reported on stderr.
void measure_ceilings(Context& ctx, RunInfo& info);

}  // namespace tconv
