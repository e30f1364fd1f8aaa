// The one interface every algorithm implements, CUTLASS-style: can_implement, prepare (untimed),
// workspace_bytes, run (timed), release. The registry (kernels/registry.def) holds one line per
// implementation; the name() it returns is the CLI name, the CSV `impl` column and the plot legend.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
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

// Thrown by prepare() when a valid problem cannot be run here and now (explicit C over the
// memory budget, a library refusing the configuration): the row becomes "skipped: reason".
class Skipped : public Error {
 public:
  using Error::Error;
};

// Thrown by prepare() when a library says at run time that it does not support this
// configuration at all (no engine, no algorithm): the row becomes "not_supported: reason".
class NotSupported : public Skipped {
 public:
  using Skipped::Skipped;
};

class Implementation {
 public:
  virtual ~Implementation() = default;

  // Registry name: snake_case, unique. Also the CLI name, CSV impl and plot legend.
  virtual std::string name() const = 0;
  // One line for `tconv list`.
  virtual std::string summary() const = 0;
  virtual Backend backend() const { return Backend::gpu; }

  // Static answer (no GPU needed): can this implementation run this problem in this config?
  virtual Support can_implement(const Problem& p, const Config& cfg) const = 0;

  // Untimed, once per (problem, config), before run: allocate and build what the algorithm keeps
  // (explicit C, cuDNN plans and workspaces), pick an algorithm. May read the operands.
  // Throws Skipped when it cannot run here (memory budget), tconv::Error on failure.
  virtual void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) {
    (void)ctx, (void)p, (void)cfg, (void)t;
  }
  // Device bytes held beyond x, w, bias and y (explicit C, column buffer, cuDNN workspace...).
  // Valid after prepare.
  virtual size_t workspace_bytes() const { return 0; }
  // The same, known before prepare from the problem alone (for `tconv_bench --dry-run`), or -1
  // when it depends on the library or the free memory (cuDNN workspaces, chunked buffers).
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
  // What ran inside where it matters (cuDNN algorithm or engine, tile config). After prepare.
  virtual std::string algo() const { return ""; }
  // Frees what prepare kept. Also called by the destructor of implementations that hold memory.
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
    return Support::no(std::string("dtype ") + to_string(cfg.dtype) + " not implemented (fp32 only)");
  if (cfg.layout != Layout::nchw)
    return Support::no(std::string("layout ") + to_string(cfg.layout) + " not implemented (nchw only)");
  return Support::yes();
}

}  // namespace tconv
