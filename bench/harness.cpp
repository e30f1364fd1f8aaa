// Verification and timing of one row. The order matters: can_implement (static) before any
// device work; the operand memory check before allocating; the lifecycle (plans, budget,
// workspace, initialize) untimed; two poisoned runs
// (compare, then bit-for-bit determinism) before any timing, so an incorrect row is never timed.
#include "bench/harness.hpp"

#include <cublas_v2.h>
#include <cusparse.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/cuda_event.hpp"
#include "kernels/ref/reference_gpu.hpp"
#include "reference/reference.hpp"
#include "tconv_commit.hpp"

namespace tconv {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string& lost_reason() {
  static std::string why;
  return why;
}

}  // namespace

void check_device_after_failure() {
  if (!lost_reason().empty()) return;
  cudaError_t e = cudaDeviceSynchronize();
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clears a non-sticky error
  e = cudaDeviceSynchronize();
  if (e != cudaSuccess)
    lost_reason() = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

namespace {

std::string problem_key(const Problem& p) {
  return p.to_string();
}

// fp32 and tf32 share storage and therefore inputs and reference.
DType storage_class(DType t) {
  return t == DType::tf32 ? DType::fp32 : t;
}

// The budget of one row's workspace: ctx's, lowered to 90% of what is free now (the operands
// are already allocated).
size_t row_budget(Context& ctx) {
  size_t free_b = 0, total_b = 0;
  TCONV_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return std::min(ctx.memory_budget(), free_b / 10 * 9);
}

}  // namespace

bool device_lost(std::string* why) {
  if (why) *why = lost_reason();
  return !lost_reason().empty();
}

const ReferenceData& ReferenceCache::get(Context& ctx, const Problem& p, DType t) {
  const std::string key = problem_key(p);
  if (key != problem_key_) {
    entries_.clear();
    problem_key_ = key;
  }
  const DType s = storage_class(t);
  auto it = entries_.find(s);
  if (it != entries_.end()) return it->second;

  // The reference's inputs and output and the row's decoded output beside them, as double:
  // checked before any of it is allocated, so that a problem too large for this host is a
  // skipped row with its sizes, not a std::bad_alloc (or the OOM killer) halfway through.
  const double host_need = 8.0 * (double(p.x_elems()) + double(p.w_elems()) +
                                  double(p.bias_elems()) + 2.0 * double(p.y_elems()));
  if (const uint64_t avail = host_memory_available(); host_need > double(avail))
    throw Skipped("the fp64 reference and the row's output need " + format_bytes(host_need) +
                  " of host memory, " + format_bytes(double(avail)) + " is available");
  ReferenceData ref;
  ref.in = random_inputs(p, seed_, s);
  const double* bias = p.has_bias ? ref.in.bias.data() : nullptr;
  if (p.flops() <= cpu_max_flops_) {
    ref.y.resize(size_t(p.y_elems()));
    ref::direct(p, ref.in.x.data(), ref.in.w.data(), bias, ref.y.data());
    ref.kind = "cpu_fp64";
  } else {
    const Config c64{DType::fp64, Layout::nchw};
    const size_t need = DeviceOperands::bytes_needed(p, c64);
    if (need > ctx.memory_budget())
      throw Skipped("the fp64 GPU reference needs " + format_bytes(double(need)) +
                    ", over the memory budget of " + format_bytes(double(ctx.memory_budget())));
    DeviceOperands ops(p, c64);
    ops.upload(ref.in.x.data(), ref.in.w.data(), bias);
    const Tensors d = ops.tensors();
    reference_gpu_fp64(ctx, p, static_cast<const double*>(d.x), static_cast<const double*>(d.w),
                       static_cast<const double*>(d.bias), static_cast<double*>(d.y));
    ctx.synchronize();
    ref.y = ops.download_y();
    ref.kind = "gpu_fp64";
  }
  return entries_.emplace(s, std::move(ref)).first->second;
}

RowOutcome::RowOutcome() : setup_ms(kNaN), work_ratio(kNaN) {}

RowOutcome verify_row(Context& ctx, Implementation& impl, const Problem& p, const Config& cfg,
                      ReferenceCache& refs, const VerifyOptions& opt,
                      std::unique_ptr<RowResources>* keep) {
  RowOutcome out;
  out.tol = tolerance(cfg.dtype, reduction_length(p));
  auto fail = [&out](const char* status, const std::string& reason) {
    out.status = status;
    out.reason = reason;
    return out;
  };
  try {
    out.work_ratio = impl.work_ratio(p);
    const Support s = impl.can_implement(p, cfg);
    if (!s.ok) return fail("not_supported", s.reason);
    if (impl.backend() != Backend::gpu)
      return fail("not_supported", "CPU reference implementation: not benchmarked");
    std::string lost;
    if (device_lost(&lost))
      return fail("skipped", "error: device unusable after an earlier failure (" + lost + ")");
    // A non-sticky error that a library left behind in an earlier row would otherwise fail the
    // first checked call of this one.
    clear_stale_cuda_error();

    const size_t need = DeviceOperands::bytes_needed(p, cfg);
    if (need > ctx.memory_budget())
      return fail("skipped", "operands need " + format_bytes(double(need)) +
                                 ", over the memory budget of " +
                                 format_bytes(double(ctx.memory_budget())));
    const ReferenceData& ref = refs.get(ctx, p, cfg.dtype);
    auto ops = std::make_unique<DeviceOperands>(p, cfg);
    ops->upload(ref.in.x.data(), ref.in.w.data(), p.has_bias ? ref.in.bias.data() : nullptr);
    const Tensors t = ops->tensors();

    auto res = std::make_unique<RowResources>();
    res->impl = &impl;
    res->workspace = std::make_unique<DeviceWorkspaceSource>(ctx, row_budget(ctx));
    Prepared prep;
    {
      EventPair ev;
      ev.record_start(ctx.stream());
      prep = prepare_implementation(ctx, impl, p, cfg, t, *res->workspace, autotune_timer(ctx));
      ev.record_stop(ctx.stream());
      out.setup_ms = ev.elapsed_ms();
    }
    if (prep.status.code == StatusCode::failed) {
      // The implementation's own failure: "failed" as a row status means a device left unusable
      // (the run stops there), so it is classified like any other error of a row.
      check_device_after_failure();
      const RowFailure f = classify_row_failure(prep.status.reason, device_lost());
      return fail(f.status.c_str(), f.reason);
    }
    if (!prep.status.is_ok()) return fail(to_string(prep.status.code), prep.status.reason);
    out.prepared = true;
    out.workspace_bytes = int64_t(prep.workspace_bytes);
    out.algo = impl.algo();
    if (!prep.note.empty()) out.algo += (out.algo.empty() ? "" : "; ") + prep.note;

    ops->poison_y(ctx.stream());
    impl.run(ctx, p, cfg, t);
    ctx.synchronize();
    const std::vector<unsigned char> first = ops->download_y_raw();
    const std::vector<double> y = ops->decode_y(first);
    out.err = compare(y.data(), ref.y.data(), y.size());
    out.compared = true;
    out.reference = ref.kind;
    const AccuracyVerdict verdict = judge_accuracy(out.err, out.tol);
    out.accuracy = verdict.accuracy;
    if (verdict.status != "passed") return fail("incorrect", verdict.reason);
    out.reason = verdict.reason;  // says "reduced accuracy: ..." when it is

    if (opt.check_determinism) {
      ops->poison_y(ctx.stream());
      impl.run(ctx, p, cfg, t);
      ctx.synchronize();
      const std::vector<unsigned char> second = ops->download_y_raw();
      out.deterministic = first == second ? "yes" : "no";
    }
    if (keep) {
      res->ops = std::move(ops);
      *keep = std::move(res);
    }
    return out;
  } catch (const FatalError&) {
    throw;  // a broken installation: the caller stops the run
  } catch (const NotSupported& e) {
    return fail("not_supported", e.what());
  } catch (const Skipped& e) {
    return fail("skipped", e.what());
  } catch (const std::bad_alloc&) {
    return fail("skipped", "error: host out of memory");
  } catch (const std::exception& e) {
    check_device_after_failure();
    const RowFailure f = classify_row_failure(e.what(), device_lost());
    return fail(f.status.c_str(), f.reason);
  }
}

RowResources::~RowResources() {
  // Never throws: this runs while unwinding from a failed row too.
  try {
    if (impl) impl->release();
  } catch (const std::exception&) {
  }
  if (workspace) workspace->release();
}

std::unique_ptr<RowResources> prepare_on_device(Context& ctx, Implementation& impl,
                                                const Problem& p, const Config& cfg,
                                                const Tensors& t, Prepared* out) {
  auto res = std::make_unique<RowResources>();
  res->impl = &impl;
  res->workspace = std::make_unique<DeviceWorkspaceSource>(ctx, row_budget(ctx));
  *out = prepare_implementation(ctx, impl, p, cfg, t, *res->workspace, autotune_timer(ctx));
  return res;
}

RowFailure classify_row_failure(const std::string& what, bool device_now_lost) {
  if (device_now_lost)
    return {"failed", "error: " + what +
                          " (this fault left the device unusable: the run stops here; rows "
                          "done are kept, and --resume continues after this row)"};
  return {"skipped", "error: " + what};
}

void clear_stale_cuda_error() {
  if (!device_lost()) cudaGetLastError();
}

L2Flusher::L2Flusher(Context& ctx) {
  int l2 = 0;
  TCONV_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, ctx.device()));
  buf_.resize(std::max<size_t>(size_t(2) * size_t(l2), size_t(1) << 20));
}

void L2Flusher::flush(cudaStream_t stream) {
  TCONV_CUDA_CHECK(cudaMemsetAsync(buf_.get(), 0, buf_.bytes(), stream));
}

RunTimer::RunTimer(Context& ctx, L2Flusher* flusher)
    : ctx_(ctx), flusher_(flusher), timer_(ctx.stream()) {}

void RunTimer::warmup(Implementation& impl, const Problem& p, const Config& cfg, const Tensors& t,
                      int n) {
  for (int i = 0; i < n; ++i) impl.run(ctx_, p, cfg, t);
  ctx_.synchronize();
}

double RunTimer::time_once(Implementation& impl, const Problem& p, const Config& cfg,
                           const Tensors& t) {
  // The flush goes before the stream hold, so it is neither timed nor delaying the start event.
  if (flusher_) flusher_->flush(ctx_.stream());
  return timer_.time_ms([&] { impl.run(ctx_, p, cfg, t); });
}

namespace {

std::string cuda_version_string(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

template <typename GetProperty>
std::string library_version(GetProperty get) {
  int major = 0, minor = 0, patch = 0;
  if (!get(MAJOR_VERSION, &major) || !get(MINOR_VERSION, &minor) || !get(PATCH_LEVEL, &patch))
    return "";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace

RunInfo query_run_info(Context& ctx) {
  RunInfo info;
  const int dev = ctx.device();
  info.gpu = ctx.props().name;
  int v = 0;
  if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) == cudaSuccess)
    info.sm_count = v;
  if (cudaDeviceGetAttribute(&v, cudaDevAttrClockRate, dev) == cudaSuccess)
    info.sm_clock_mhz = v / 1000;
  if (cudaDeviceGetAttribute(&v, cudaDevAttrMemoryClockRate, dev) == cudaSuccess)
    info.mem_clock_mhz = v / 1000;
  if (cudaDriverGetVersion(&v) == cudaSuccess) info.driver = cuda_version_string(v);
  if (cudaRuntimeGetVersion(&v) == cudaSuccess) info.cuda = cuda_version_string(v);
  cudaGetLastError();
  info.cublas = library_version([](libraryPropertyType t, int* out) {
    return cublasGetProperty(t, out) == CUBLAS_STATUS_SUCCESS;
  });
  info.cusparse = library_version([](libraryPropertyType t, int* out) {
    return cusparseGetProperty(t, out) == CUSPARSE_STATUS_SUCCESS;
  });
  info.cudnn = cudnn_version_text();
  info.commit = TCONV_GIT_COMMIT;
  return info;
}

}  // namespace tconv
