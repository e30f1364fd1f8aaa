// cudnn_graph: the transposed convolution through cuDNN 9's graph (backend) API, as a
// one-node operation graph CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR
// (dy = x, w = the weight as stored, dx = y; see kernels/cudnn_common.hpp). prepare() asks the
// heuristics (modes A, then FALLBACK) for engine configurations, drops those whose numerical
// notes break the dtype's precision contract, finalizes an execution plan for each that
// finalizes (at most kMaxPlans), times each on the real operands with CUDA events and keeps the
// fastest; run() is one cudnnBackendExecute plus a bias pass. The cudnn_frontend header library
// is not used: the backend C API directly, every descriptor owned by an RAII wrapper.
//
// Extra memory: the chosen plan's workspace (during prepare, the largest workspace of the plans
// being timed, within the budget).
// Where it should win: this is where NVIDIA puts its newest dgrad kernels (Hopper-specific
// engines are reachable only here), so it is the strongest cuDNN row on recent GPUs.
// Limits: output_padding >= stride is not expressible as backward-data (can_implement); when no
// engine configuration finalizes and runs, prepare() throws NotSupported with cuDNN's reason.
// Groups are implied by the filter's C dimension (C_out/groups), as in the graph API's grouped
// convolution. fp32 excludes engines with the TENSOR_CORE note (they would use TF32); every dtype
// excludes DOWN_CONVERT_INPUTS and REDUCED_PRECISION_REDUCTION engines (accumulation stays fp32).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda_event.hpp"
#include "kernels/cudnn_common.hpp"
#include "kernels/gpu_context.hpp"

namespace tconv {
namespace {

using dnn::BackendDesc;
using dnn::finalize;
using dnn::set_attr;
using dnn::set_desc;
constexpr int64_t kUidX = dnn::kUidX, kUidW = dnn::kUidW, kUidY = dnn::kUidY;
// Plans finalized and timed at most; runtime-compiled engines (NVRTC at finalize, seconds each)
// count against a smaller cap so one problem's prepare stays bounded.
constexpr int kMaxPlans = 16;
constexpr int kMaxRuntimeCompiled = 4;

// Largest power of two <= 16 that divides every operand address.
int64_t common_alignment(const void* a, const void* b, const void* c) {
  const uintptr_t bits = uintptr_t(a) | uintptr_t(b) | uintptr_t(c);
  int64_t align = 16;
  while (align > 1 && bits % uintptr_t(align) != 0) align /= 2;
  return align;
}

const char* knob_name(int64_t type) {
  switch (type) {
    case CUDNN_KNOB_TYPE_SPLIT_K:
      return "split_k";
    case CUDNN_KNOB_TYPE_SWIZZLE:
      return "swizzle";
    case CUDNN_KNOB_TYPE_TILE_SIZE:
      return "tile";
    case CUDNN_KNOB_TYPE_EDGE:
      return "edge";
    case CUDNN_KNOB_TYPE_MULTIPLY:
      return "multiply";
    case CUDNN_KNOB_TYPE_SPLIT_K_BUF:
      return "split_k_buf";
    case CUDNN_KNOB_TYPE_TILEK:
      return "tile_k";
    case CUDNN_KNOB_TYPE_STAGES:
      return "stages";
    case CUDNN_KNOB_TYPE_REDUCTION_MODE:
      return "reduction";
    case CUDNN_KNOB_TYPE_SPLIT_K_SLC:
      return "split_k_slc";
    case CUDNN_KNOB_TYPE_IDX_MODE:
      return "idx_mode";
    case CUDNN_KNOB_TYPE_SPECFILT:
      return "specfilt";
    case CUDNN_KNOB_TYPE_KERNEL_CFG:
      return "kernel_cfg";
    case CUDNN_KNOB_TYPE_WORKSPACE:
      return "workspace";
    case CUDNN_KNOB_TYPE_TILE_CGA_M:
      return "cga_m";
    case CUDNN_KNOB_TYPE_TILE_CGA_N:
      return "cga_n";
    case CUDNN_KNOB_TYPE_BLOCK_SIZE:
      return "block";
    case CUDNN_KNOB_TYPE_OCCUPANCY:
      return "occupancy";
    case CUDNN_KNOB_TYPE_TILE_M:
      return "tile_m";
    case CUDNN_KNOB_TYPE_TILE_N:
      return "tile_n";
    case CUDNN_KNOB_TYPE_STREAM_K:
      return "stream_k";
    case CUDNN_KNOB_TYPE_SWAP_AB:
      return "swap_ab";
    default:
      return nullptr;
  }
}

const char* numerical_note_name(cudnnBackendNumericalNote_t n) {
  switch (n) {
    case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
      return "tensor_core";
    case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
      return "down_convert_inputs";
    case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
      return "reduced_precision_reduction";
    case CUDNN_NUMERICAL_NOTE_FFT:
      return "fft";
    case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC:
      return "nondeterministic";
    case CUDNN_NUMERICAL_NOTE_WINOGRAD:
      return "winograd";
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4:
      return "winograd_4x4";
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6:
      return "winograd_6x6";
    case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13:
      return "winograd_13x13";
    case CUDNN_NUMERICAL_NOTE_STRICT_NAN_PROP:
      return "strict_nan_prop";
    default:
      return "note?";
  }
}

// What an engine configuration is: engine id, knob choices, notes.
struct ConfigInfo {
  int64_t engine = -1;
  std::vector<std::pair<int64_t, int64_t>> knobs;  // (knob type, value)
  std::vector<cudnnBackendNumericalNote_t> notes;
  bool runtime_compiled = false;

  bool has(cudnnBackendNumericalNote_t n) const {
    return std::find(notes.begin(), notes.end(), n) != notes.end();
  }
  std::string key() const {
    std::string k = "eng" + std::to_string(engine);
    for (const auto& kv : knobs)
      k += "," + std::to_string(kv.first) + "=" + std::to_string(kv.second);
    return k;
  }
  std::string describe() const {
    std::string s = "eng" + std::to_string(engine);
    if (!knobs.empty()) {
      s += " {";
      for (size_t i = 0; i < knobs.size(); ++i) {
        const char* n = knob_name(knobs[i].first);
        s += (i ? " " : "") + (n ? std::string(n) : "k" + std::to_string(knobs[i].first)) + "=" +
             std::to_string(knobs[i].second);
      }
      s += "}";
    }
    std::string tags;
    for (cudnnBackendNumericalNote_t n : notes)
      tags += std::string(tags.empty() ? "" : " ") + numerical_note_name(n);
    if (runtime_compiled) tags += std::string(tags.empty() ? "" : " ") + "runtime_compiled";
    if (!tags.empty()) s += " [" + tags + "]";
    return s;
  }
};

ConfigInfo inspect_config(cudnnBackendDescriptor_t cfg) {
  ConfigInfo info;
  BackendDesc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t eng_raw = engine.get();
  int64_t count = 0;
  if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                               &count, &eng_raw) != CUDNN_STATUS_SUCCESS)
    return info;
  cudnnBackendGetAttribute(engine.get(), CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1,
                           &count, &info.engine);

  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  count = 0;
  if (cudnnBackendGetAttribute(engine.get(), CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                               CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &count,
                               notes) == CUDNN_STATUS_SUCCESS)
    info.notes.assign(notes, notes + std::min<int64_t>(count, CUDNN_NUMERICAL_NOTE_TYPE_COUNT));

  cudnnBackendBehaviorNote_t behavior[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
  count = 0;
  if (cudnnBackendGetAttribute(engine.get(), CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE,
                               CUDNN_TYPE_BEHAVIOR_NOTE, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &count,
                               behavior) == CUDNN_STATUS_SUCCESS)
    for (int64_t i = 0; i < std::min<int64_t>(count, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT); ++i)
      if (behavior[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) info.runtime_compiled = true;

  std::vector<BackendDesc> choices;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int i = 0; i < CUDNN_KNOB_TYPE_COUNTS; ++i) {
    choices.emplace_back(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR);
    raw.push_back(choices.back().get());
  }
  count = 0;
  if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
                               CUDNN_TYPE_BACKEND_DESCRIPTOR, CUDNN_KNOB_TYPE_COUNTS, &count,
                               raw.data()) == CUDNN_STATUS_SUCCESS) {
    for (int64_t i = 0; i < std::min<int64_t>(count, CUDNN_KNOB_TYPE_COUNTS); ++i) {
      cudnnBackendKnobType_t type;
      int64_t value = 0, n = 0;
      if (cudnnBackendGetAttribute(raw[size_t(i)], CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE,
                                   CUDNN_TYPE_KNOB_TYPE, 1, &n, &type) != CUDNN_STATUS_SUCCESS ||
          cudnnBackendGetAttribute(raw[size_t(i)], CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE,
                                   CUDNN_TYPE_INT64, 1, &n, &value) != CUDNN_STATUS_SUCCESS)
        continue;
      info.knobs.emplace_back(int64_t(type), value);
    }
    std::sort(info.knobs.begin(), info.knobs.end());
  }
  return info;
}

// Why a configuration may not serve this dtype, or nullptr when it may.
const char* precision_veto(const ConfigInfo& info, DType t) {
  if (info.has(CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)) return "down-converts inputs";
  if (info.has(CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION))
    return "reduced-precision reduction";
  if (t == DType::fp32 && info.has(CUDNN_NUMERICAL_NOTE_TENSOR_CORE))
    return "tensor cores (TF32) on fp32";
  return nullptr;
}

class CudnnGraph : public Implementation {
 public:
  ~CudnnGraph() override { release(); }

  std::string name() const override { return "cudnn_graph"; }
  std::string summary() const override {
    return "cuDNN 9 graph API backward-data: heuristics A+fallback, fastest of the timed plans";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    return dnn::dgrad_support(p, cfg);
  }

  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    release();
    cudnnHandle_t h = ctx.cudnn();
    align_ = common_alignment(t.x, t.w, t.y);
    build_graph(h, p, cfg);

    // Candidate configurations: heuristics A first (its order is its ranking), then FALLBACK.
    struct Candidate {
      BackendDesc cfg;
      ConfigInfo info;
    };
    std::vector<Candidate> candidates;
    std::vector<std::string> seen;
    int offered = 0, vetoed = 0;
    std::string veto_reason, heur_errors;
    for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
      std::vector<BackendDesc> cfgs;
      try {
        cfgs = heuristics(mode);
      } catch (const Error& e) {  // this mode has nothing for the graph; try the next
        heur_errors += std::string(heur_errors.empty() ? "" : "; ") + e.what();
        continue;
      }
      for (BackendDesc& c : cfgs) {
        ++offered;
        ConfigInfo info = inspect_config(c.get());
        const std::string key = info.key();
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
        seen.push_back(key);
        if (const char* why = precision_veto(info, cfg.dtype)) {
          ++vetoed;
          veto_reason = why;
          continue;
        }
        candidates.push_back({std::move(c), std::move(info)});
      }
    }

    // Execution plans for those that finalize, within the budget.
    struct Plan {
      BackendDesc plan;
      BackendDesc cfg;
      ConfigInfo info;
      int64_t ws = 0;
      float ms = 0;
    };
    std::vector<Plan> plans;
    int refused = 0, over_budget = 0, compiled = 0;
    std::string last_refusal;
    for (Candidate& c : candidates) {
      if (int(plans.size()) >= kMaxPlans) break;
      if (c.info.runtime_compiled && compiled >= kMaxRuntimeCompiled) continue;
      if (c.info.runtime_compiled) ++compiled;
      BackendDesc plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      set_attr(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h, "plan handle");
      set_desc(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, c.cfg, "plan engine config");
      const cudnnStatus_t st = cudnnBackendFinalize(plan.get());
      if (st != CUDNN_STATUS_SUCCESS) {
        ++refused;
        last_refusal = c.info.describe() + ": " + dnn::describe_status(st);
        continue;
      }
      int64_t ws = 0, n = 0;
      TCONV_CUDNN_CHECK(cudnnBackendGetAttribute(
          plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &ws));
      if (size_t(ws) > ctx.memory_budget()) {
        ++over_budget;
        continue;
      }
      plans.push_back({std::move(plan), std::move(c.cfg), std::move(c.info), ws, 0.0f});
    }
    if (plans.empty()) {
      std::string why = "cuDNN graph: no usable engine configuration (heuristics offered " +
                        std::to_string(offered) + ", " + std::to_string(vetoed) + " vetoed" +
                        (vetoed ? " for " + veto_reason : "") + ", " + std::to_string(refused) +
                        " did not finalize, " + std::to_string(over_budget) + " over budget)";
      if (!last_refusal.empty()) why += "; last: " + last_refusal;
      if (!heur_errors.empty()) why += "; " + heur_errors;
      if (over_budget > 0) throw Skipped(why);  // would run with more memory
      throw NotSupported(why);
    }

    // One workspace for timing: the largest need, dropping the hungriest plans if it cannot be
    // allocated.
    for (;;) {
      int64_t biggest = 0;
      for (const Plan& pl : plans) biggest = std::max(biggest, pl.ws);
      if (dnn::try_allocate(workspace_, size_t(biggest))) break;
      plans.erase(std::remove_if(plans.begin(), plans.end(),
                                 [&](const Plan& pl) { return pl.ws == biggest; }),
                  plans.end());
      if (plans.empty())
        throw Skipped("cuDNN graph: no plan's workspace can be allocated (out of device memory)");
    }
    build_variant_pack(t);

    EventPair ev;
    std::string exec_errors;
    int best = -1;
    for (size_t i = 0; i < plans.size(); ++i) {
      const cudnnStatus_t st = cudnnBackendExecute(h, plans[i].plan.get(), vp_.get());
      if (st != CUDNN_STATUS_SUCCESS) {
        exec_errors = plans[i].info.describe() + ": " + dnn::describe_status(st);
        continue;
      }
      // Estimate once, then average enough runs for about 20 ms (1 to 10 runs).
      ev.record_start(ctx.stream());
      TCONV_CUDNN_CHECK(cudnnBackendExecute(h, plans[i].plan.get(), vp_.get()));
      ev.record_stop(ctx.stream());
      const float once = ev.elapsed_ms();
      const int reps = int(std::clamp(20.0f / std::max(once, 1e-3f), 1.0f, 10.0f));
      ev.record_start(ctx.stream());
      for (int r = 0; r < reps; ++r)
        TCONV_CUDNN_CHECK(cudnnBackendExecute(h, plans[i].plan.get(), vp_.get()));
      ev.record_stop(ctx.stream());
      const float total = ev.elapsed_ms();
      plans[i].ms = total / float(reps);
      if (best < 0 || plans[i].ms < plans[size_t(best)].ms) best = int(i);
    }
    if (best < 0)
      throw NotSupported("cuDNN graph: no plan executes (" + std::to_string(plans.size()) +
                         " finalized); last: " + exec_errors);

    Plan& win = plans[size_t(best)];
    plan_ = std::move(win.plan);
    cfg_ = std::move(win.cfg);
    ws_bytes_ = size_t(win.ws);
    time_ms_ = win.ms;
    info_ = win.info.describe();
    timed_ = int(plans.size());
    plans.clear();
    if (ws_bytes_ < workspace_.bytes()) {
      if (!dnn::try_allocate(workspace_, ws_bytes_))
        throw Skipped("cudnn_graph: re-allocating " + dnn::mib(ws_bytes_) + " failed");
      build_variant_pack(t);
    }
    ready_ = true;
  }

  size_t workspace_bytes() const override { return ready_ ? ws_bytes_ : 0; }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!ready_) throw Error("cudnn_graph: run() before prepare()");
    if (t.x != vp_x_ || t.w != vp_w_ || t.y != vp_y_) {
      // New operand buffers: host-side descriptor work only, no device allocation.
      if (common_alignment(t.x, t.w, t.y) < align_)
        throw Error("cudnn_graph: operands are less aligned than the plan was built for");
      build_variant_pack(t);
    }
    const cudnnStatus_t st = cudnnBackendExecute(ctx.cudnn(), plan_.get(), vp_.get());
    if (st != CUDNN_STATUS_SUCCESS)
      throw Error("cudnnBackendExecute (" + info_ + "): " + dnn::describe_status(st));
    dnn::add_bias(ctx, p, cfg, t);
  }

  std::string algo() const override {
    if (!ready_) return "";
    char buf[160];
    std::snprintf(buf, sizeof(buf), " ws %s, %.4f ms, fastest of %d plans",
                  dnn::mib(ws_bytes_).c_str(), double(time_ms_), timed_);
    return info_ + buf;
  }

  void release() override {
    ready_ = false;
    vp_.reset();
    plan_.reset();
    cfg_.reset();
    graph_.reset();
    op_ = dnn::DgradOp();
    workspace_.reset();
    ws_bytes_ = 0;
    vp_x_ = vp_w_ = nullptr;
    vp_y_ = nullptr;
  }

 private:
  void build_graph(cudnnHandle_t h, const Problem& p, const Config& cfg) {
    op_ = dnn::build_dgrad_op(p, cfg, align_);

    graph_ = BackendDesc(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    cudnnBackendDescriptor_t ops[1] = {op_.op.get()};
    set_attr(graph_, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, ops,
             "graph ops");
    set_attr(graph_, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h, "graph handle");
    finalize(graph_, "the operation graph");
  }

  // Engine configurations of one heuristics mode, in its ranking order.
  std::vector<BackendDesc> heuristics(cudnnBackendHeurMode_t mode) {
    BackendDesc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph_, "heuristics graph");
    set_attr(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics mode");
    finalize(heur, mode == CUDNN_HEUR_MODE_A ? "heuristics mode A" : "heuristics mode FALLBACK");
    int64_t count = 0;
    TCONV_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
    std::vector<BackendDesc> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      cfgs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw.push_back(cfgs.back().get());
    }
    if (count == 0) return cfgs;
    int64_t got = 0;
    TCONV_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got,
                                               raw.data()));
    cfgs.resize(size_t(std::clamp<int64_t>(got, 0, count)));
    return cfgs;
  }

  void build_variant_pack(const Tensors& t) {
    vp_ = BackendDesc(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    const int64_t uids[3] = {kUidX, kUidW, kUidY};
    void* ptrs[3] = {const_cast<void*>(t.x), const_cast<void*>(t.w), t.y};
    void* ws = workspace_.get();
    set_attr(vp_, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids,
             "variant pack uids");
    set_attr(vp_, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs,
             "variant pack pointers");
    set_attr(vp_, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws,
             "variant pack workspace");
    finalize(vp_, "the variant pack");
    vp_x_ = t.x;
    vp_w_ = t.w;
    vp_y_ = t.y;
  }

  dnn::DgradOp op_;
  BackendDesc graph_, cfg_, plan_, vp_;
  DeviceBuffer workspace_;
  const void* vp_x_ = nullptr;
  const void* vp_w_ = nullptr;
  void* vp_y_ = nullptr;
  int64_t align_ = 16;
  size_t ws_bytes_ = 0;
  float time_ms_ = 0;
  int timed_ = 0;
  std::string info_;
  bool ready_ = false;
};

}  // namespace

std::unique_ptr<Implementation> make_cudnn_graph() {
  return std::make_unique<CudnnGraph>();
}

}  // namespace tconv
