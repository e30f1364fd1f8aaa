// bench/lifecycle.hpp on the CPU: the harness's half of a row's lifecycle (plans, the memory
// budget, the poisoned workspace, initialize, the timing of candidate plans) driven with host
// memory for the workspace and fake times, through fake implementations that record what the
// harness did to them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench/lifecycle.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/gemm_col2im/gemm_col2im_math.hpp"

namespace tconv {
namespace {

// Host memory, poisoned like the device source; allocations above fail_above fail (out of memory).
class HostWorkspaceSource : public WorkspaceSource {
 public:
  explicit HostWorkspaceSource(size_t budget, size_t fail_above = SIZE_MAX)
      : WorkspaceSource(budget), fail_above_(fail_above) {}
  ~HostWorkspaceSource() override { free_all(); }
  int allocations = 0;

 protected:
  void* allocate_poisoned(size_t bytes) override {
    if (bytes > fail_above_) return nullptr;
    void* p = std::malloc(bytes);
    std::memset(p, 0xFF, bytes);
    blocks_.push_back(p);
    ++allocations;
    return p;
  }
  void free_all() override {
    for (void* p : blocks_) std::free(p);
    blocks_.clear();
  }

 private:
  size_t fail_above_;
  std::vector<void*> blocks_;
};

// Answers per plan index: what initialize returns, whether run refuses, how long it "takes".
struct FakeBehaviour {
  Status init = Status::ok();
  bool run_refuses = false;
  double ms = 1.0;
  size_t extend = 0;  // bytes initialize asks for beyond the plan (0: none)
};

class FakeImpl : public Implementation {
 public:
  Plans offered;
  std::map<int64_t, FakeBehaviour> behaviour;
  std::vector<int64_t> initialized;  // plan indices, in call order
  bool workspace_was_poisoned = true;
  bool extend_failed = false;
  std::string extend_why;
  int64_t current = -1;
  int runs = 0;

  std::string name() const override { return "fake"; }
  std::string summary() const override { return "test double"; }
  Support can_implement(const Problem&, const Config&) const override { return Support::yes(); }
  Plans plans(Context&, const Problem&, const Config&, const Tensors&) override { return offered; }
  Status initialize(Context&, const Problem&, const Config&, const Tensors&, const Plan& plan,
                    Workspace ws) override {
    initialized.push_back(plan.index);
    EXPECT_EQ(ws.bytes(), plan.workspace_bytes);
    const auto* b = ws.as<const unsigned char>();
    for (size_t i = 0; i < ws.bytes(); ++i)
      if (b[i] != 0xFF) workspace_was_poisoned = false;
    // Dirty it: the next hand-out must be poisoned again.
    if (ws.bytes() > 0) std::memset(ws.get(), 0, ws.bytes());
    const FakeBehaviour& f = behaviour[plan.index];
    if (f.extend > 0) {
      void* more = ws.extend(f.extend, &extend_why);
      extend_failed = more == nullptr;
      if (more) {
        const auto* m = static_cast<const unsigned char*>(more);
        for (size_t i = 0; i < f.extend; ++i)
          if (m[i] != 0xFF) workspace_was_poisoned = false;
      } else {
        return Status::skipped(extend_why);
      }
    }
    current = plan.index;
    return f.init;
  }
  void run(Context&, const Problem&, const Config&, const Tensors&) override {
    ++runs;
    if (behaviour[current].run_refuses)
      throw NotSupported("the fake refuses to run plan " + std::to_string(current));
  }
};

Plan plan(const char* name, size_t bytes, int64_t index) {
  return {name, bytes, index};
}

struct Fixture {
  Context ctx{Context::HostOnly{}};
  Problem p;
  Config cfg;
  Tensors t;
  // Fake times: the behaviour's ms of the plan initialized last; runs the candidate once first,
  // as the production timer does.
  CandidateTimer timer_for(FakeImpl& impl) {
    return [&impl](const std::function<void()>& run) {
      run();
      return impl.behaviour[impl.current].ms;
    };
  }
  Prepared prepare(FakeImpl& impl, WorkspaceSource& src) {
    return prepare_implementation(ctx, impl, p, cfg, t, src, timer_for(impl));
  }
};

TEST(Lifecycle, OnePlanGetsItsPoisonedWorkspace) {
  Fixture f;
  FakeImpl impl;
  impl.offered = Plans::one(plan("only", 1000, 7));
  HostWorkspaceSource src(4096);
  const Prepared r = f.prepare(impl, src);
  ASSERT_TRUE(r.status.is_ok()) << r.status.reason;
  EXPECT_EQ(r.plan.index, 7);
  EXPECT_EQ(r.workspace_bytes, 1000u);
  EXPECT_EQ(src.held_bytes(), 1000u);
  EXPECT_TRUE(impl.workspace_was_poisoned);
  EXPECT_EQ(impl.initialized, std::vector<int64_t>{7});
  EXPECT_EQ(r.timed, 0);
  EXPECT_EQ(impl.runs, 0);  // one plan: nothing to time
  EXPECT_TRUE(r.note.empty());
}

TEST(Lifecycle, OverTheBudgetIsSkippedWithBothSizesAndNothingAllocated) {
  Fixture f;
  FakeImpl impl;
  impl.offered = Plans::one(plan("dense C", size_t(3) << 20, 0));
  HostWorkspaceSource src(size_t(1) << 20);
  const Prepared r = f.prepare(impl, src);
  EXPECT_EQ(r.status.code, StatusCode::skipped);
  EXPECT_NE(r.status.reason.find("dense C needs 3.0 MiB"), std::string::npos) << r.status.reason;
  EXPECT_NE(r.status.reason.find("over the memory budget of 1.0 MiB"), std::string::npos)
      << r.status.reason;
  EXPECT_TRUE(impl.initialized.empty());
  EXPECT_EQ(src.allocations, 0);
}

TEST(Lifecycle, ThePlansStatusAndThrownRefusalsBecomeTheStatus) {
  Fixture f;
  {
    FakeImpl impl;
    impl.offered = Plans::none(Status::not_supported("no engine"));
    HostWorkspaceSource src(100);
    const Prepared r = f.prepare(impl, src);
    EXPECT_EQ(r.status.code, StatusCode::not_supported);
    EXPECT_EQ(r.status.reason, "no engine");
  }
  {
    FakeImpl impl;  // no candidates and no reason: the implementation's bug
    HostWorkspaceSource src(100);
    EXPECT_EQ(f.prepare(impl, src).status.code, StatusCode::failed);
  }
  {
    FakeImpl impl;
    impl.offered = Plans::one(plan("a", 10, 0));
    impl.behaviour[0].init = Status::not_supported("refused at initialize");
    HostWorkspaceSource src(100);
    const Prepared r = f.prepare(impl, src);
    EXPECT_EQ(r.status.code, StatusCode::not_supported);
    EXPECT_EQ(r.status.reason, "refused at initialize");
  }
  // Refusals thrown from deep inside (cuDNN's checks) become statuses; other errors propagate.
  struct Thrower : FakeImpl {
    int what = 0;
    Plans plans(Context&, const Problem&, const Config&, const Tensors&) override {
      if (what == 0) throw NotSupported("cuDNN: NOT_SUPPORTED");
      if (what == 1) throw Skipped("out of something");
      throw Error("a real failure");
    }
  };
  Thrower th;
  HostWorkspaceSource src(100);
  EXPECT_EQ(f.prepare(th, src).status.code, StatusCode::not_supported);
  th.what = 1;
  EXPECT_EQ(f.prepare(th, src).status.code, StatusCode::skipped);
  th.what = 2;
  EXPECT_THROW(f.prepare(th, src), Error);
}

TEST(Lifecycle, FirstThatFitsTakesTheFirstWithinBudgetAndGivesWayOnOutOfMemory) {
  Fixture f;
  FakeImpl impl;
  impl.offered.candidates = {plan("big", 800, 0), plan("mid", 400, 1), plan("small", 100, 2)};
  {
    HostWorkspaceSource src(500);
    const Prepared r = f.prepare(impl, src);
    ASSERT_TRUE(r.status.is_ok());
    EXPECT_EQ(r.plan.index, 1);  // big is over the budget
  }
  impl.initialized.clear();
  {
    HostWorkspaceSource src(1000, /*fail_above=*/300);  // mid cannot be allocated
    const Prepared r = f.prepare(impl, src);
    ASSERT_TRUE(r.status.is_ok());
    EXPECT_EQ(r.plan.index, 2);
    EXPECT_EQ(impl.initialized, std::vector<int64_t>{2});  // never initialized without memory
  }
  {
    HostWorkspaceSource src(1000, /*fail_above=*/50);
    const Prepared r = f.prepare(impl, src);
    EXPECT_EQ(r.status.code, StatusCode::skipped);
    EXPECT_NE(r.status.reason.find("out of memory"), std::string::npos) << r.status.reason;
  }
}

// The chunked buffers (gemm_col2im, zero_insert_direct) pick through chunk_plans what
// kmath::col2im_chunk_items computes for the CPU profiler: the two must agree.
TEST(Lifecycle, ChunkPlansChooseWhatCol2imChunkItemsComputes) {
  Problem p;
  p.n = 10, p.c_in = 3, p.c_out = 4, p.h_in = 5, p.w_in = 6, p.k_h = 3, p.k_w = 3;
  p.stride_h = p.stride_w = 2;
  const double per_item = double(kmath::col_item_elems(p)) * 4.0;
  for (double cap : {1e12, 3.5 * per_item, 0.5 * per_item})
    for (double budget : {1e12, 2.5 * per_item, 7.2 * per_item, 0.9 * per_item}) {
      const Plans ps = chunk_plans(p.n, per_item, cap, "column buffer");
      std::string why;
      const std::vector<size_t> fit = plans_within(ps, size_t(budget), &why);
      const int64_t want = kmath::col2im_chunk_items(p, 4.0, cap, budget);
      SCOPED_TRACE("cap " + std::to_string(cap) + " budget " + std::to_string(budget));
      if (want == 0) {
        EXPECT_TRUE(fit.empty());
        EXPECT_NE(why.find("over the memory budget"), std::string::npos) << why;
      } else {
        ASSERT_FALSE(fit.empty());
        EXPECT_EQ(ps.candidates[fit.front()].index, want);
      }
    }
}

TEST(Lifecycle, FastestTimesEveryCandidateAndReinitializesTheWinnerOnFreshPoison) {
  Fixture f;
  FakeImpl impl;
  impl.offered.choice = PlanChoice::fastest;
  impl.offered.candidates = {plan("a", 300, 0), plan("b", 200, 1), plan("c", 100, 2),
                             plan("huge", 5000, 3)};
  impl.behaviour[0].ms = 3.0;
  impl.behaviour[1].ms = 1.0;
  impl.behaviour[2].ms = 2.0;
  HostWorkspaceSource src(1000);
  const Prepared r = f.prepare(impl, src);
  ASSERT_TRUE(r.status.is_ok()) << r.status.reason;
  EXPECT_EQ(r.plan.index, 1);
  EXPECT_EQ(r.timed, 3);
  EXPECT_DOUBLE_EQ(r.plan_ms, 1.0);
  EXPECT_EQ(impl.initialized, (std::vector<int64_t>{0, 1, 2, 1}));
  EXPECT_TRUE(impl.workspace_was_poisoned);  // each hand-out, though the fake dirties it
  EXPECT_EQ(src.held_bytes(), 200u);         // the winner's own size
  EXPECT_EQ(r.workspace_bytes, 200u);
  EXPECT_NE(r.note.find("fastest of 3"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("1 over the budget"), std::string::npos) << r.note;
}

TEST(Lifecycle, FastestSkipsCandidatesThatRefuseAndSaysWhyWhenAllDo) {
  Fixture f;
  FakeImpl impl;
  impl.offered.choice = PlanChoice::fastest;
  impl.offered.candidates = {plan("a", 10, 0), plan("b", 10, 1), plan("c", 10, 2)};
  impl.behaviour[0].init = Status::not_supported("a does not build");
  impl.behaviour[1].run_refuses = true;
  impl.behaviour[2].ms = 5.0;
  HostWorkspaceSource src(100);
  Prepared r = f.prepare(impl, src);
  ASSERT_TRUE(r.status.is_ok()) << r.status.reason;
  EXPECT_EQ(r.plan.index, 2);
  EXPECT_EQ(r.timed, 1);

  impl.behaviour[2].init = Status::not_supported("c neither");
  r = f.prepare(impl, src);
  EXPECT_EQ(r.status.code, StatusCode::not_supported);
  for (const char* part : {"a does not build", "refuses to run plan 1", "c neither"})
    EXPECT_NE(r.status.reason.find(part), std::string::npos) << r.status.reason;
}

TEST(Lifecycle, ExtendingTheWorkspaceCountsAgainstTheSameBudget) {
  Fixture f;
  FakeImpl impl;
  impl.offered = Plans::one(plan("CSR C", 600, 0));
  impl.behaviour[0].extend = 300;
  {
    HostWorkspaceSource src(1000);
    const Prepared r = f.prepare(impl, src);
    ASSERT_TRUE(r.status.is_ok()) << r.status.reason;
    EXPECT_EQ(src.held_bytes(), 900u);
    EXPECT_TRUE(impl.workspace_was_poisoned);
  }
  impl.behaviour[0].extend = 500;
  {
    HostWorkspaceSource src(1000);
    const Prepared r = f.prepare(impl, src);
    EXPECT_EQ(r.status.code, StatusCode::skipped);
    EXPECT_TRUE(impl.extend_failed);
    EXPECT_NE(impl.extend_why.find("over the memory budget"), std::string::npos) << impl.extend_why;
  }
}

TEST(Lifecycle, StatusNamesAreTheRowStatuses) {
  EXPECT_STREQ(to_string(StatusCode::not_supported), "not_supported");
  EXPECT_STREQ(to_string(StatusCode::skipped), "skipped");
  EXPECT_STREQ(to_string(StatusCode::failed), "failed");
}

}  // namespace
}  // namespace tconv
