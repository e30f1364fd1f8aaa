// The one interface every algorithm implements, CUTLASS-style: can_implement, plans (candidates
// and their workspace), initialize (untimed), run (timed), release; the harness owns the rest. The
// registry (kernels/registry.def) holds one line per implementation; the name() it returns is the
// CLI name, the CSV `impl` column and the plot legend.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv {

class Context;

// Pointers to the operands, in the config's dtype and layout: device memory for Backend::gpu,
// host double for Backend::cpu. bias is null when the problem has none.
// Layouts: nchw  x (N,C_in,H_in,W_in)  w (C_in,C_out/g,k_h,k_w)  y (N,C_out,H_out,W_out)
//          nhwc  x (N,H_in,W_in,C_in)  w (C_in,k_h,k_w,C_out/g)  y (N,H_out,W_out,C_out)
// (the nhwc weight is cuDNN's KRSC filter format, K = C_in).
struct Tensors {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  void* y = nullptr;
};

// What an implementation answers the harness: ok, or why not. not_supported: this
// configuration cannot run with this library or kernel at all (no engine, a refused shape);
// skipped: it could, but not here and now (over the memory budget, out of memory); failed: an
// error of the implementation itself. The harness turns it into the row's status and reason.
enum class StatusCode { ok, not_supported, skipped, failed };
inline const char* to_string(StatusCode c) {
  switch (c) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::not_supported:
      return "not_supported";
    case StatusCode::skipped:
      return "skipped";
    case StatusCode::failed:
      return "failed";
  }
  return "?";
}

struct Status {
  StatusCode code = StatusCode::ok;
  std::string reason;  // empty when ok

  static Status ok() { return {}; }
  static Status not_supported(std::string why) {
    return {StatusCode::not_supported, std::move(why)};
  }
  static Status skipped(std::string why) { return {StatusCode::skipped, std::move(why)}; }
  static Status failed(std::string why) { return {StatusCode::failed, std::move(why)}; }
  bool is_ok() const { return code == StatusCode::ok; }
};

// Thrown deep inside library wrappers (kernels/cudnn's status checks, cuDNN frontend errors)
// where a refusal is found several calls down; an implementation hands the harness a Status,
// converting them with status_of(). Skipped: cannot run here and now.
class Skipped : public Error {
 public:
  using Error::Error;
};

// A library's "not supported" found at run time (no engine, no algorithm).
class NotSupported : public Skipped {
 public:
  using Skipped::Skipped;
};

// Runs f and returns ok, or the refusal it threw as a Status. Other errors propagate: the
// harness classifies them (bench/harness.hpp, classify_row_failure).
template <typename F>
Status status_of(F&& f) {
  try {
    f();
    return Status::ok();
  } catch (const NotSupported& e) {
    return Status::not_supported(e.what());
  } catch (const Skipped& e) {
    return Status::skipped(e.what());
  }
}

// One way to run a row that an implementation offers: a name (it goes into `algo`), the device
// workspace it needs, and the implementation's own handle for it (an engine configuration, a
// tile configuration, a chunk size). The harness allocates the workspace, not the
// implementation.
struct Plan {
  std::string name;
  size_t workspace_bytes = 0;
  int64_t index = 0;
};

// How the harness picks among the candidates that fit the memory budget: the first (a
// preference order, largest chunk first) or the fastest (each initialized and timed by one rule,
// kernels/common/autotune.hpp).
enum class PlanChoice { first_that_fits, fastest };

struct Plans {
  Status status;  // not ok: no plan at all, and why
  std::vector<Plan> candidates;
  PlanChoice choice = PlanChoice::first_that_fits;

  static Plans one(Plan p = {}) {
    Plans r;
    r.candidates.push_back(std::move(p));
    return r;
  }
  static Plans none(Status why) {
    Plans r;
    r.status = std::move(why);
    return r;
  }
};

// Device memory the harness lends an implementation from initialize() to release(): the plan's
// workspace_bytes, filled with 0xFF bytes (NaN in every floating dtype) each time it is handed
// out, so an implementation that reads workspace it never wrote fails its check.
class WorkspaceSource;
class Workspace {
 public:
  Workspace() = default;
  Workspace(void* ptr, size_t bytes, WorkspaceSource* source)
      : ptr_(ptr), bytes_(bytes), source_(source) {}
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  template <typename T>
  T* as(size_t offset_bytes = 0) const {
    return ptr_ ? reinterpret_cast<T*>(static_cast<char*>(ptr_) + offset_bytes) : nullptr;
  }
  // Workspace whose size is known only once initialize() built something (cuSPARSE's SpMM
  // buffer): `bytes` more, poisoned, held beside the first under the same budget until release.
  // Null, with *why set, when it would pass the budget or the device is out of memory.
  void* extend(size_t bytes, std::string* why);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  WorkspaceSource* source_ = nullptr;
};

// Where the harness takes workspace from: device memory in the bench (bench/lifecycle.hpp), host
// memory in the lifecycle's CPU tests. Every hand-out is poisoned and counted against one budget,
// the only place a row's memory budget is enforced.
class WorkspaceSource {
 public:
  explicit WorkspaceSource(size_t budget) : budget_(budget) {}
  virtual ~WorkspaceSource() = default;
  WorkspaceSource(const WorkspaceSource&) = delete;
  WorkspaceSource& operator=(const WorkspaceSource&) = delete;

  // `bytes` more poisoned bytes, held until release(); null with *why set when the total would
  // pass the budget or the memory is not there. Zero bytes: a non-null dummy, nothing held.
  void* take(size_t bytes, std::string* why) {
    static char none;
    if (bytes == 0) return &none;
    if (held_ + bytes > budget_ || held_ + bytes < held_) {
      if (why)
        *why = "needs " + mib_text(held_ + bytes) + " of workspace, over the memory budget of " +
               mib_text(budget_);
      return nullptr;
    }
    void* p = allocate_poisoned(bytes);
    if (!p) {
      if (why) *why = "out of memory allocating " + mib_text(bytes) + " of workspace";
      return nullptr;
    }
    held_ += bytes;
    return p;
  }
  // Frees everything taken so far.
  void release() {
    free_all();
    held_ = 0;
  }
  size_t held_bytes() const { return held_; }
  size_t budget() const { return budget_; }

  static std::string mib_text(size_t bytes) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
    return buf;
  }

 protected:
  // Null when the memory cannot be had (the error, if any, cleared).
  virtual void* allocate_poisoned(size_t bytes) = 0;
  virtual void free_all() = 0;

 private:
  size_t budget_;
  size_t held_ = 0;
};

inline void* Workspace::extend(size_t bytes, std::string* why) {
  if (!source_) {
    if (why) *why = "no workspace source";
    return nullptr;
  }
  return source_->take(bytes, why);
}

// The lifecycle, CUTLASS-style, driven by the harness (bench/lifecycle.hpp):
//   can_implement (static) -> plans (candidates and their workspace) -> the harness keeps those
//   within the memory budget, allocates the workspace -> initialize (untimed; for "fastest", once
//   per candidate, each timed) -> run (timed) ... -> release.
class Implementation {
 public:
  virtual ~Implementation() = default;

  // Registry name: snake_case, unique. Also the CLI name, CSV impl and plot legend.
  virtual std::string name() const = 0;
  // True for a framework's untimed default (cudnn_heuristic: PyTorch with cudnn.benchmark off):
  // the report sets such rows against the best row of their shape, with the break-even of
  // autotuning. Published in the contract (tconv_bench --print-contract, default_choice_impls).
  virtual bool default_choice() const { return false; }
  // One line for `tconv list`.
  virtual std::string summary() const = 0;
  virtual Backend backend() const { return Backend::gpu; }

  // Static answer (no GPU needed): can this implementation run this problem in this config?
  virtual Support can_implement(const Problem& p, const Config& cfg) const = 0;

  // The candidate plans for this row and the workspace each needs. May query libraries (cuDNN's
  // heuristics, workspace sizes) and keep what it built for initialize(); allocates nothing.
  // Called after release() or on a fresh instance.
  virtual Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) {
    (void)ctx, (void)p, (void)cfg, (void)t;
    return Plans::one();
  }
  // Untimed, once per candidate the harness tries: build what the plan keeps (explicit C in the
  // workspace, a library's parameters) on ctx.stream(). ws holds plan.workspace_bytes. A later
  // initialize() replaces the earlier one. May read the operands.
  virtual Status initialize(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                            const Plan& plan, Workspace ws) {
    (void)ctx, (void)p, (void)cfg, (void)t, (void)plan, (void)ws;
    return Status::ok();
  }
  // Workspace bytes the initialized plan uses, reported as the row's workspace_bytes: by default
  // what the plan declared; less when it searched with more than its choice needs (cudnn_find).
  virtual size_t workspace_in_use(const Plan& plan) const { return plan.workspace_bytes; }
  // Known before plans() from the problem alone (for `tconv_bench --dry-run`), or -1 when it
  // depends on the library or the free memory (cuDNN workspaces, chunked buffers).
  virtual int64_t planned_workspace_bytes(const Problem& p, const Config& cfg) const {
    (void)p, (void)cfg;
    return -1;
  }
  // Operations executed / useful operations (zero insertion: about stride_h*stride_w).
  virtual double work_ratio(const Problem& p) const {
    (void)p;
    return 1.0;
  }
  // The timed work: writes all of y. Enqueued on ctx.stream(), no host synchronization, no
  // allocation. Must not assume y was cleared.
  virtual void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) = 0;
  // What ran inside where it matters (cuDNN algorithm or engine, tile config). After initialize.
  virtual std::string algo() const { return ""; }
  // Drops what plans() and initialize() kept (library objects, pointers into the workspace).
  // The harness frees the workspace after it.
  virtual void release() {}
};

using ImplementationFactory = std::unique_ptr<Implementation> (*)();

// Registry names in registry order.
std::vector<std::string> implementation_names();
// A fresh instance by name; throws tconv::Error listing the known names if there is none.
std::unique_ptr<Implementation> create_implementation(const std::string& name);
// One fresh instance of every registered implementation, in registry order.
std::vector<std::unique_ptr<Implementation>> create_all_implementations();

// Helpers for can_implement.
inline Support require_fp32_nchw(const Config& cfg) {
  if (cfg.dtype != DType::fp32)
    return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                       " not implemented (fp32 only)");
  if (cfg.layout != Layout::nchw)
    return Support::no(std::string("layout ") + to_string(cfg.layout) +
                       " not implemented (nchw only)");
  return Support::yes();
}

}  // namespace tconv
