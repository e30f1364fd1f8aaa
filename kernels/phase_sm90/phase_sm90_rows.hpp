// What phase_sm90 and gemm_shuffle_sm90 share: a Plan (phase_sm90_map.hpp) of CUTLASS 3 sm90
// fprops, fills and packs, run through one Runner (phase_sm90_runner.hpp) of the dtype. The two
// rows differ only in their plan and their extra rule; each is one file (phase_sm90.cu,
// gemm_shuffle_sm90.cu) deriving from Sm90Rows.
//
// plans: the sm_90 check, the plan, the workspace (packed filters in y's dtype, then CUTLASS's);
// with more than one launch, two schedules for the harness to time: serial on the context's
// stream, or forked over side streams (one launch each, joined by events). initialize
// (untimed): the packed filters, one set of CUTLASS parameters per launch (TMA descriptors).
// run (timed): the fills, then the launches. The packed filters (and gemm_shuffle's tiled bias)
// are built from initialize's weight and bias, as explicit_gemm builds C: run takes new x and y
// pointers, not new weights.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/common/bias_add.cuh"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/phase_sm90/phase_sm90_kernel.cuh"
#include "kernels/phase_sm90/phase_sm90_map.hpp"
#include "kernels/phase_sm90/phase_sm90_runner.hpp"

namespace tconv::phase_sm90 {

// Stand-in device addresses for the host-side can_implement, aligned like cudaMalloc's (256
// bytes), so that only the plan's offsets decide TMA's 16-byte rule.
inline Operands operands_at(const Launch& l, size_t elem, const char* x, const char* filter,
                            const char* bias, char* y) {
  Operands o;
  o.x = x + size_t(l.x_offset) * elem;
  o.filter = filter + size_t(l.filter_offset) * elem;
  o.bias = bias ? (l.bias_offset >= 0 ? filter + size_t(l.bias_offset) * elem : bias) : nullptr;
  o.y = y + size_t(l.y_offset) * elem;
  return o;
}

// "" when `r` (CUTLASS's can_implement, on the host) accepts every launch of the plan, else the
// first refusal with the launch it refused.
inline std::string plan_refusal(const Runner& r, const Plan& plan, size_t elem, bool bias) {
  const char* x = reinterpret_cast<const char*>(uintptr_t(1) << 32);
  const char* packed = reinterpret_cast<const char*>(uintptr_t(2) << 32);
  const char* b = bias ? reinterpret_cast<const char*>(uintptr_t(3) << 32) : nullptr;
  char* y = reinterpret_cast<char*>(uintptr_t(4) << 32);
  for (const Launch& l : plan.launches) {
    const std::string why = r.can_implement(l, operands_at(l, elem, x, packed, b, y));
    if (!why.empty()) {
      char where[64];
      std::snprintf(where, sizeof(where), " (launch %d,%d)", l.ry, l.rx);
      return r.name() + ": " + why + where;
    }
  }
  return "";
}

class Sm90Rows : public Implementation {
 public:
  ~Sm90Rows() override { release(); }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    if (const std::string why = p.validate(); !why.empty()) return Support::no(why);
    if (const std::string why = static_reason(p, cfg); !why.empty()) return Support::no(why);
    if (const std::string why = extra_reason(p); !why.empty()) return Support::no(why);
    const Plan plan = make_plan(p);
    std::string reasons;
    for (const auto& r : runners_for(cfg.dtype)) {
      const std::string why = plan_refusal(*r, plan, storage_bytes(cfg.dtype), p.has_bias);
      if (why.empty()) return Support::yes();
      reasons += (reasons.empty() ? "" : "; ") + why;
    }
    return Support::no("CUTLASS can_implement refuses: " + reasons + hint(p, cfg));
  }

  int64_t planned_workspace_bytes(const Problem& p, const Config& cfg) const override {
    if (!can_implement(p, cfg).ok) return -1;
    return make_plan(p).packed_elems * int64_t(storage_bytes(cfg.dtype));
  }

  // One plan per schedule: with more than one launch, serial on the context's stream (index 0)
  // or forked over side streams (index 1), timed by the harness (PlanChoice::fastest). The
  // workspace holds the packed filters, then CUTLASS's own.
  Plans plans(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    const cudaDeviceProp& dev = ctx.props();
    if (dev.major != 9 || dev.minor != 0)
      return Plans::none(
          Status::not_supported(name() + ": built for sm_90a (wgmma, TMA) only; this GPU is sm_" +
                                std::to_string(dev.major * 10 + dev.minor)));
    if (const Support s = can_implement(p, cfg); !s.ok)
      return Plans::none(Status::not_supported(s.reason));
    plan_ = make_plan(p);
    sm_count_ = dev.multiProcessorCount;
    elem_ = storage_bytes(cfg.dtype);
    runners_ = runners_for(cfg.dtype);
    runner_ = nullptr;
    for (size_t i = 0; i < runners_.size() && !runner_; ++i)
      if (plan_refusal(*runners_[i], plan_, elem_, p.has_bias).empty()) runner_ = runners_[i].get();
    if (!runner_) return Plans::none(Status::not_supported(can_implement(p, cfg).reason));

    size_t cutlass_ws = 0;
    for (const Launch& l : plan_.launches)
      cutlass_ws = std::max(cutlass_ws, runner_->workspace_bytes(l));
    packed_bytes_ = size_t(plan_.packed_elems) * elem_;
    const size_t total = packed_bytes_ + cutlass_ws;
    if (plan_.launches.size() <= 1) return Plans::one({"", total, 0});
    Plans ps;
    ps.choice = PlanChoice::fastest;
    ps.candidates.push_back({"serial", total, 0});
    ps.candidates.push_back({std::to_string(plan_.launches.size()) + " streams", total, 1});
    return ps;
  }

  Status initialize(Context& ctx, const Problem&, const Config& cfg, const Tensors& t,
                    const tconv::Plan& schedule, Workspace ws) override {
    workspace_ = ws.get();
    dispatch_storage(cfg.dtype, name(), [&](auto tag) {
      using T = decltype(tag);
      for (const Pack& pk : plan_.packs) {
        if (pk.from_bias && !t.bias) continue;
        const T* src = static_cast<const T*>(pk.from_bias ? t.bias : t.w);
        phase_sm90_kernels::pack_launch<T>(ctx.stream(), pk, src, static_cast<T*>(workspace_));
      }
    });
    cutlass_ws_ =
        ws.bytes() > packed_bytes_ ? static_cast<char*>(workspace_) + packed_bytes_ : nullptr;
    bind(t);
    has_bias_ = t.bias != nullptr;
    streams_ = schedule.index == 1;
    if (streams_ && side_.empty()) {
      for (size_t i = 1; i < plan_.launches.size(); ++i) {
        cudaStream_t s = nullptr;
        TCONV_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        side_.push_back(s);
        cudaEvent_t e = nullptr;
        TCONV_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        joins_.push_back(e);
      }
      TCONV_CUDA_CHECK(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming));
    }
    return Status::ok();
  }

  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!runner_ || !workspace_) throw Error(name() + ": run() before initialize()");
    if (t.x != x_ || t.y != y_ || (t.bias != nullptr) != has_bias_) bind(t);  // host work only
    enqueue(ctx.stream(), p, cfg, t);
  }

  std::string algo() const override {
    if (!runner_) return "";
    char buf[160];
    const int n = int(plan_.launches.size());
    if (n > 1)
      std::snprintf(buf, sizeof(buf), ", %d launches %s", n, streams_ ? "on streams" : "serial");
    else
      std::snprintf(buf, sizeof(buf), ", 1 launch");
    std::string a = runner_->name() + buf;
    if (!plan_.fills.empty()) a += ", " + std::to_string(plan_.fills.size()) + " bias-only phases";
    return a;
  }

  void release() override {
    for (cudaStream_t s : side_) cudaStreamDestroy(s);
    for (cudaEvent_t e : joins_) cudaEventDestroy(e);
    if (fork_) cudaEventDestroy(fork_);
    side_.clear(), joins_.clear(), fork_ = nullptr;
    runners_.clear();
    runner_ = nullptr;
    workspace_ = nullptr;
    plan_ = Plan{};
    streams_ = false;
    x_ = nullptr, y_ = nullptr;
  }

 protected:
  virtual Plan make_plan(const Problem& p) const = 0;
  virtual std::string extra_reason(const Problem& p) const = 0;

 private:
  void bind(const Tensors& t) {
    const char* packed = static_cast<const char*>(workspace_);
    for (size_t i = 0; i < plan_.launches.size(); ++i) {
      const Launch& l = plan_.launches[i];
      const Operands o = operands_at(l, elem_, static_cast<const char*>(t.x), packed,
                                     static_cast<const char*>(t.bias), static_cast<char*>(t.y));
      const std::string why = runner_->initialize(int(i), l, o, cutlass_ws_, sm_count_);
      if (!why.empty()) throw NotSupported(name() + ": CUTLASS initialize: " + why);
    }
    x_ = t.x, y_ = t.y;
  }

  void enqueue(cudaStream_t main, const Problem& p, const Config& cfg, const Tensors& t) {
    (void)p;
    dispatch_storage(cfg.dtype, name(), [&](auto tag) {
      using T = decltype(tag);
      for (const Fill& f : plan_.fills)
        phase_sm90_kernels::fill_launch<T>(main, f, static_cast<const T*>(t.bias),
                                           static_cast<T*>(t.y));
    });
    if (!streams_) {
      for (size_t i = 0; i < plan_.launches.size(); ++i) runner_->run(int(i), main);
      return;
    }
    TCONV_CUDA_CHECK(cudaEventRecord(fork_, main));
    for (size_t i = 1; i < plan_.launches.size(); ++i) {
      TCONV_CUDA_CHECK(cudaStreamWaitEvent(side_[i - 1], fork_, 0));
      runner_->run(int(i), side_[i - 1]);
      TCONV_CUDA_CHECK(cudaEventRecord(joins_[i - 1], side_[i - 1]));
    }
    runner_->run(0, main);
    for (cudaEvent_t e : joins_) TCONV_CUDA_CHECK(cudaStreamWaitEvent(main, e, 0));
  }

  // CUTLASS's status strings are generic ("Operand misaligned"...): say which rule of ours hit.
  static std::string hint(const Problem& p, const Config& cfg) {
    const int vec = cfg.dtype == DType::tf32 ? 4 : 8;
    if (p.c_in % vec || p.c_out % vec)
      return "; TMA needs 16-byte rows: C_in and C_out multiples of " + std::to_string(vec) +
             " for " + to_string(cfg.dtype);
    return "";
  }

  Plan plan_;
  size_t elem_ = 0;
  Runners runners_;
  Runner* runner_ = nullptr;
  void* workspace_ = nullptr;  // the harness's: packed filters, then CUTLASS's workspace
  size_t packed_bytes_ = 0;
  char* cutlass_ws_ = nullptr;
  int sm_count_ = 0;
  std::vector<cudaStream_t> side_;
  std::vector<cudaEvent_t> joins_;
  cudaEvent_t fork_ = nullptr;
  bool streams_ = false, has_bias_ = false;
  const void* x_ = nullptr;
  void* y_ = nullptr;
};

}  // namespace tconv::phase_sm90
