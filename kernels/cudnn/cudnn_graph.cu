// cudnn_graph: the transposed convolution as a one-node cuDNN graph built with the cuDNN frontend
// (cudnn_frontend::graph::Graph, a conv_dgrad node: dy = x, w = the weight as stored, dx = y;
// kernels/cudnn/cudnn_graph.hpp). plans() asks the heuristics (modes A and FALLBACK) for engine
// configurations, drops those whose numerical notes break the dtype's precision contract, builds
// a plan for every remaining configuration and offers each as a candidate; the harness drops
// those over the memory budget, times the rest on the real operands (bench/lifecycle.hpp) and
// keeps the fastest; run() is one execute of that plan plus a bias pass. algo() names the plan
// (engine and knobs) and its workspace; the harness adds the timing.
//
// cudnn_graph_heuristic is the same graph without autotuning: the first plan of the heuristics'
// order that builds (no further plan is built) is the choice, as for a framework that uses the
// frontend's heuristics and does not time; set against cudnn_graph, the cost of the default.
//
// Extra memory: the chosen plan's workspace (each candidate's own while it is timed).
// Where it should win: this is where NVIDIA puts its newest dgrad kernels (Hopper-specific
// engines are reachable only through the graph API), so it is the strongest cuDNN row on recent
// GPUs.
// Limits: output_padding >= stride is not expressible as backward-data (can_implement); when no
// plan builds and runs, the row is not_supported with cuDNN's reason. fp32 excludes engines
// with the TENSOR_CORE note (they would use TF32); every dtype excludes DOWN_CONVERT_INPUTS and
// REDUCED_PRECISION_REDUCTION engines. tf32 may end on a non-tensor-core engine when that is
// fastest. Runtime-compiled engines (NVRTC at plan build, seconds each) are capped at
// kMaxRuntimeCompiled per problem so one row's setup stays bounded.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/cudnn/cudnn_graph.hpp"

namespace tconv {
namespace {

namespace fe = cudnn_frontend;
constexpr int kMaxRuntimeCompiled = 4;

// Largest power of two <= 16 that divides every operand address.
int64_t common_alignment(const void* a, const void* b, const void* c) {
  const uintptr_t bits = uintptr_t(a) | uintptr_t(b) | uintptr_t(c);
  int64_t align = 16;
  while (align > 1 && bits % uintptr_t(align) != 0) align /= 2;
  return align;
}

// autotune false: cudnn_graph_heuristic, the first plan of the heuristics' order that builds, no
// timing: what a framework using the frontend without autotuning gets (the default choice that
// cudnn_graph's autotuned choice is set against).
class CudnnGraph : public Implementation {
 public:
  explicit CudnnGraph(bool autotune) : autotune_(autotune) {}
  ~CudnnGraph() override { release(); }

  std::string name() const override {
    return autotune_ ? "cudnn_graph" : "cudnn_graph_heuristic";
  }
  bool default_choice() const override { return !autotune_; }
  std::string summary() const override {
    if (!autotune_)
      return "cuDNN frontend graph (conv_dgrad): the heuristics' first plan that builds, untimed";
    return "cuDNN frontend graph (conv_dgrad): heuristics A+fallback, fastest of every built plan";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    // Begin/end padding goes to the frontend's pre/post padding (make_dgrad_graph); whether an
    // engine takes pre != post is the engines' to say (plans: not_supported if none builds).
    if (p.pytorch_pads()) return dnn::dgrad_support(p, cfg);
    if (const Support s = dnn::dtype_support(cfg); !s.ok) return s;
    const std::string why = dnn::graph_padding_refusal(p);
    return why.empty() ? Support::yes() : Support::no(why);
  }

  // Every plan the heuristics offer that builds, each a candidate with its workspace; the harness
  // keeps those within the budget and times them (PlanChoice::fastest).
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    cudnnHandle_t h = ctx.cudnn();
    align_ = common_alignment(t.x, t.w, t.y);
    g_ = dnn::make_dgrad_graph(p, cfg, align_);
    fe::graph::Graph& g = *g_.graph;
    dnn::fe_check(g.validate(), "validating the graph");
    dnn::fe_check(g.build_operation_graph(h), "building the operation graph");
    dnn::fe_check(g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}),
                  "heuristics A + FALLBACK");
    const int64_t offered = g.get_execution_plan_count();
    g.deselect_numeric_notes(dnn::excluded_notes(cfg.dtype));

    // Build every remaining plan (the two modes overlap: one build per distinct engine config).
    Plans ps;
    ps.choice = autotune_ ? PlanChoice::fastest : PlanChoice::first_that_fits;
    std::vector<std::string> seen;
    int refused = 0, compiled = 0, capped = 0;
    std::string last_refusal;
    for (int64_t i = 0; i < offered; ++i) {
      std::string name;
      if (g.get_plan_name_at_index(i, name).is_bad()) name = "plan" + std::to_string(i);
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      std::vector<fe::BehaviorNote_t> notes;
      const bool rtc = g.get_behavior_notes_for_plan_at_index(i, notes).is_good() &&
                       std::find(notes.begin(), notes.end(),
                                 fe::BehaviorNote_t::RUNTIME_COMPILATION) != notes.end();
      if (!autotune_ && !ps.candidates.empty()) break;  // the first that builds is the choice
      if (rtc && compiled >= kMaxRuntimeCompiled) {
        ++capped;
        continue;
      }
      fe::error_t e = g.build_plan_at_index(i);
      if (e.is_bad()) {
        const std::string msg = e.err_msg;
        for (cudnnStatus_t s : dnn::statuses_in_message(msg))
          throw_if_cudnn_fatal(s, "cuDNN frontend: building plan " + name);
        ++refused;
        last_refusal = name + ": " + dnn::one_line(msg, 200);
        continue;
      }
      if (rtc) ++compiled;
      int64_t ws = 0;
      dnn::fe_check(g.get_workspace_size_plan_at_index(i, ws), "workspace of " + name);
      ps.candidates.push_back({name + (rtc ? " [runtime_compiled]" : ""), size_t(ws), i});
    }
    if (ps.candidates.empty())
      return Plans::none(Status::not_supported(
          "cuDNN graph: no plan builds (heuristics offered " + std::to_string(offered) + ", " +
          std::to_string(refused) + " refused or deselected for precision, " +
          std::to_string(capped) + " runtime-compiled over the cap)" +
          (last_refusal.empty() ? "" : "; last: " + last_refusal)));
    return ps;
  }

  // Binds the plan and runs it once untimed: a plan that builds may still refuse to execute.
  Status initialize(Context& ctx, const Problem&, const Config&, const Tensors& t, const Plan& plan,
                    Workspace ws) override {
    index_ = plan.index;
    info_ = plan.name;
    ws_bytes_ = plan.workspace_bytes;
    workspace_ = ws.get();
    set_pointers(t);
    const fe::error_t e = execute(ctx, index_);
    if (e.is_bad()) {
      const std::string msg = e.err_msg;
      for (cudnnStatus_t s : dnn::statuses_in_message(msg))
        throw_if_cudnn_fatal(s, "cuDNN frontend: executing " + info_);
      TCONV_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
      ready_ = false;
      return Status::not_supported("cuDNN graph: " + info_ +
                                   " does not execute: " + dnn::one_line(msg, 200));
    }
    ready_ = true;
    return Status::ok();
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!ready_) throw Error("cudnn_graph: run() before initialize()");
    if (t.x != ptrs_[dnn::kUidX] || t.w != ptrs_[dnn::kUidW] || t.y != ptrs_[dnn::kUidY]) {
      if (common_alignment(t.x, t.w, t.y) < align_)
        throw Error("cudnn_graph: operands are less aligned than the plan was built for");
      set_pointers(t);
    }
    const fe::error_t e = execute(ctx, index_);
    if (e.is_bad()) {
      const std::string msg = e.err_msg;
      for (cudnnStatus_t s : dnn::statuses_in_message(msg))
        throw_if_cudnn_fatal(s, "cuDNN frontend: executing " + info_);
      throw Error("cudnn_graph: executing " + info_ + ": " + dnn::one_line(msg));
    }
    dnn::add_bias(ctx, p, cfg, t);
  }

  std::string algo() const override {
    if (!ready_) return "";
    return info_ + " ws " + dnn::mib(ws_bytes_);
  }

  void release() override {
    ready_ = false;
    g_ = dnn::DgradGraph();
    workspace_ = nullptr;
    ws_bytes_ = 0;
    ptrs_.clear();
  }

 private:
  void set_pointers(const Tensors& t) {
    ptrs_[dnn::kUidX] = const_cast<void*>(t.x);
    ptrs_[dnn::kUidW] = const_cast<void*>(t.w);
    ptrs_[dnn::kUidY] = t.y;
  }
  fe::error_t execute(Context& ctx, int64_t index) {
    return g_.graph->execute_plan_at_index(ctx.cudnn(), ptrs_, workspace_, index);
  }

  dnn::DgradGraph g_;
  std::unordered_map<int64_t, void*> ptrs_;
  void* workspace_ = nullptr;  // the harness's
  int64_t index_ = -1;
  int64_t align_ = 16;
  size_t ws_bytes_ = 0;
  std::string info_;
  bool autotune_;
  bool ready_ = false;
};

}  // namespace

std::unique_ptr<Implementation> make_cudnn_graph() { return std::make_unique<CudnnGraph>(true); }
std::unique_ptr<Implementation> make_cudnn_graph_heuristic() {
  return std::make_unique<CudnnGraph>(false);
}

}  // namespace tconv
