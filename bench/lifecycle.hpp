// The part of a row's lifecycle between can_implement and the timed runs, owned by the harness
// so that no implementation repeats it: plans -> the memory budget, once -> the workspace,
// allocated and poisoned here -> initialize -> for PlanChoice::fastest every candidate timed by
// one rule (kernels/common/autotune.hpp) -> the chosen plan initialized again on a freshly
// poisoned workspace of its own size. Pure logic over two seams (where the workspace comes from,
// how a candidate is timed), so the CPU tests drive it with host memory and fake times.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/gpu_timer.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {

// Times a candidate that initialize() accepted: run() once untimed (warm-up and launch check),
// then the autotune rule; milliseconds. A NotSupported thrown by run() refuses the candidate.
using CandidateTimer = std::function<double(const std::function<void()>& run)>;

struct Prepared {
  Status status;
  Plan plan;                   // the chosen one (valid when status is ok)
  size_t workspace_bytes = 0;  // Implementation::workspace_in_use of the chosen plan
  int candidates = 0;          // plans offered
  int timed = 0;               // candidates timed (PlanChoice::fastest with more than one fitting)
  double plan_ms = std::numeric_limits<double>::quiet_NaN();  // the winner's autotune median
  // For the algo column: the choice the harness made, "" for a single plan.
  std::string note;
};

// The candidates whose workspace fits `budget`, by index, in order; when none does, empty with
// *why naming the smallest need and the budget.
std::vector<size_t> plans_within(const Plans& ps, size_t budget, std::string* why);

// Runs the lifecycle on impl; never throws for a refusal (NotSupported and Skipped thrown by the
// implementation become the status), other errors propagate to the caller's classification. On
// return the implementation is initialized with the chosen plan when status is ok; the source
// holds its workspace until the caller calls impl.release() and then source.release().
Prepared prepare_implementation(Context& ctx, Implementation& impl, const Problem& p,
                                const Config& cfg, const Tensors& t, WorkspaceSource& source,
                                const CandidateTimer& time);

// Device workspace: one cudaMalloc per hand-out, poisoned with 0xFF bytes on ctx's stream.
class DeviceWorkspaceSource : public WorkspaceSource {
 public:
  DeviceWorkspaceSource(Context& ctx, size_t budget) : WorkspaceSource(budget), ctx_(ctx) {}
  ~DeviceWorkspaceSource() override { free_all(); }

 protected:
  void* allocate_poisoned(size_t bytes) override;
  void free_all() override { blocks_.clear(); }

 private:
  Context& ctx_;
  std::vector<DeviceBuffer> blocks_;
};

// The production timer: the untimed run, then autotune_ms on a GpuTimer of ctx's stream.
CandidateTimer autotune_timer(Context& ctx);

}  // namespace tconv
