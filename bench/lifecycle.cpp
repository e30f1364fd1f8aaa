#include "bench/lifecycle.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "kernels/common/autotune.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/row_util.hpp"

namespace tconv {

std::vector<size_t> plans_within(const Plans& ps, size_t budget, std::string* why) {
  std::vector<size_t> fit;
  size_t smallest = 0;
  const Plan* least = nullptr;
  for (size_t i = 0; i < ps.candidates.size(); ++i) {
    const Plan& c = ps.candidates[i];
    if (c.workspace_bytes <= budget) fit.push_back(i);
    if (!least || c.workspace_bytes < smallest) least = &c, smallest = c.workspace_bytes;
  }
  if (fit.empty() && why && least)
    *why = (least->name.empty() ? std::string("the workspace") : "plan " + least->name) +
           " needs " + WorkspaceSource::mib_text(smallest) + ", over the memory budget of " +
           WorkspaceSource::mib_text(budget) +
           (ps.candidates.size() > 1
                ? " (the smallest of " + std::to_string(ps.candidates.size()) + " plans)"
                : "");
  return fit;
}

namespace {

// impl.initialize on a freshly poisoned workspace of the plan's size. The implementation is not
// released in between: what plans() built stays, and initialize() replaces the earlier one.
Status initialize_fresh(Context& ctx, Implementation& impl, const Problem& p, const Config& cfg,
                        const Tensors& t, const Plan& plan, WorkspaceSource& source) {
  source.release();
  std::string why;
  void* ws = source.take(plan.workspace_bytes, &why);
  if (!ws) return Status::skipped(impl.name() + ": " + why);
  Status s;
  const Status thrown = status_of([&] {
    s = impl.initialize(ctx, p, cfg, t, plan, Workspace(ws, plan.workspace_bytes, &source));
  });
  return thrown.is_ok() ? s : thrown;
}

std::string plan_label(const Plan& c) {
  return c.name.empty() ? std::string("plan") : c.name;
}

}  // namespace

Prepared prepare_implementation(Context& ctx, Implementation& impl, const Problem& p,
                                const Config& cfg, const Tensors& t, WorkspaceSource& source,
                                const CandidateTimer& time) {
  Prepared out;
  Plans ps;
  if (const Status thrown = status_of([&] { ps = impl.plans(ctx, p, cfg, t); }); !thrown.is_ok()) {
    out.status = thrown;
    return out;
  }
  out.candidates = int(ps.candidates.size());
  if (!ps.status.is_ok()) {
    out.status = ps.status;
    return out;
  }
  if (ps.candidates.empty()) {
    out.status = Status::failed(impl.name() + ": plans() offered no plan and no reason");
    return out;
  }
  std::string why;
  const std::vector<size_t> fit = plans_within(ps, source.budget(), &why);
  if (fit.empty()) {
    out.status = Status::skipped(impl.name() + ": " + why);
    return out;
  }

  auto choose = [&](size_t i, Status s) {
    out.status = std::move(s);
    out.plan = ps.candidates[i];
    if (out.status.is_ok()) out.workspace_bytes = impl.workspace_in_use(out.plan);
  };

  if (ps.choice == PlanChoice::first_that_fits || fit.size() == 1) {
    // The first whose workspace can be had is the choice, whatever initialize then says; one
    // that cannot be allocated gives way to the next (a smaller chunk).
    Status last;
    for (size_t i : fit) {
      last = initialize_fresh(ctx, impl, p, cfg, t, ps.candidates[i], source);
      if (last.code == StatusCode::skipped && source.held_bytes() == 0 &&
          ps.candidates[i].workspace_bytes > 0 && i != fit.back())
        continue;
      choose(i, last);
      return out;
    }
    out.status = last;
    return out;
  }

  // PlanChoice::fastest: each candidate on its own poisoned workspace, timed by one rule.
  int best = -1;
  double best_ms = 0;
  std::string refusals;
  for (size_t i : fit) {
    const Plan& c = ps.candidates[i];
    Status s = initialize_fresh(ctx, impl, p, cfg, t, c, source);
    double ms = 0;
    if (s.is_ok()) s = status_of([&] { ms = time([&] { impl.run(ctx, p, cfg, t); }); });
    if (!s.is_ok()) {
      refusals += (refusals.empty() ? "" : "; ") + plan_label(c) + ": " + s.reason;
      continue;
    }
    ++out.timed;
    if (best < 0 || ms < best_ms) best = int(i), best_ms = ms;
  }
  if (best < 0) {
    out.status = Status::not_supported(impl.name() + ": none of " + std::to_string(fit.size()) +
                                       " candidate plans runs (" + refusals + ")");
    return out;
  }
  // The winner on a workspace of its own size (the last one initialized may be another).
  Status s = initialize_fresh(ctx, impl, p, cfg, t, ps.candidates[size_t(best)], source);
  if (!s.is_ok())
    s = Status::failed(impl.name() + ": the fastest plan failed to initialize again: " + s.reason);
  choose(size_t(best), s);
  out.plan_ms = best_ms;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "fastest of %d timed plans (median %.4f ms)", out.timed, best_ms);
  out.note = buf;
  if (fit.size() < ps.candidates.size())
    out.note += ", " + std::to_string(ps.candidates.size() - fit.size()) + " over the budget";
  return out;
}

void* DeviceWorkspaceSource::allocate_poisoned(size_t bytes) {
  DeviceBuffer b;
  if (!try_allocate(b, bytes)) return nullptr;
  TCONV_CUDA_CHECK(cudaMemsetAsync(b.get(), 0xFF, bytes, ctx_.stream()));
  void* p = b.get();
  blocks_.push_back(std::move(b));
  return p;
}

CandidateTimer autotune_timer(Context& ctx) {
  // The timer pins host memory: made on first use, so rows with one plan never pay for it.
  auto timer = std::make_shared<std::unique_ptr<GpuTimer>>();
  return [&ctx, timer](const std::function<void()>& run) {
    run();
    ctx.synchronize();
    if (!*timer) *timer = std::make_unique<GpuTimer>(ctx.stream());
    return autotune_ms(**timer, run);
  };
}

}  // namespace tconv
