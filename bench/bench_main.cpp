// tconv_bench: every (shape, dtype, layout, implementation) row as one Google Benchmark
// benchmark with manual (CUDA event) time. Each row is verified against the fp64 reference
// before its timed loop; rows that are not supported, skipped or incorrect are reported through
// state.SkipWithError and are never timed. The project CSV (bench/csv.hpp) is written by our own
// writer after every row; Google Benchmark's own reporters (--benchmark_out=...) keep working.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/csv.hpp"
#include "bench/options.hpp"
#include "bench/harness.hpp"
#include "bench/shard.hpp"
#include "bench/shapes.hpp"
#include "bench/stats.hpp"
#include "core/npy.hpp"

namespace tconv {
namespace {

void print_suites_csv() {
  std::printf("suite,shape,n,c_in,h_in,w_in,c_out,k_h,k_w,stride_h,stride_w,pad_h,pad_w,"
              "out_pad_h,out_pad_w,dil_h,dil_w,groups,bias\n");
  for (const Suite& s : builtin_suites())
    for (const Shape& sh : s.shapes) {
      const Problem& p = sh.problem;
      std::printf("%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%d\n",
                  s.name.c_str(), sh.name.c_str(), (long long)p.n, (long long)p.c_in,
                  (long long)p.h_in, (long long)p.w_in, (long long)p.c_out, (long long)p.k_h,
                  (long long)p.k_w, (long long)p.stride_h, (long long)p.stride_w,
                  (long long)p.pad_h, (long long)p.pad_w, (long long)p.out_pad_h,
                  (long long)p.out_pad_w, (long long)p.dil_h, (long long)p.dil_w,
                  (long long)p.groups, p.has_bias ? 1 : 0);
    }
}

void print_suites() {
  for (const Suite& s : builtin_suites()) {
    std::printf("%s: %s\n", s.name.c_str(), s.description.c_str());
    for (const Shape& sh : s.shapes) {
      const Problem& p = sh.problem;
      std::printf("  %-26s %s  -> %lldx%lld, %.3g GFLOP\n", sh.name.c_str(),
                  format_shape_spec(p).c_str(), (long long)p.h_out(), (long long)p.w_out(),
                  p.flops() * 1e-9);
    }
  }
}

struct RowSpec {
  Shape shape;
  Config cfg;
  std::string impl;
};

// Everything the benchmark bodies share. One instance, alive for the whole run.
struct Bench {
  Options opt;
  std::vector<RowSpec> rows;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<ReferenceCache> refs;
  std::unique_ptr<L2Flusher> flusher;
  std::unique_ptr<CsvWriter> csv;
};

std::string row_name(const RowSpec& r) {
  return r.shape.suite + "/" + r.shape.name + "/" + r.impl + "/" + to_string(r.cfg.dtype) + "/" +
         to_string(r.cfg.layout);
}

void progress(const Bench& b, size_t index, const ResultRow& row) {
  std::ostringstream line;
  line << "[" << index + 1 << "/" << b.rows.size() << "] " << row.suite << "/" << row.shape << " "
       << row.impl << " " << to_string(row.dtype) << " " << to_string(row.layout) << ": "
       << row.status;
  if (row.status == "passed" && !(row.time_ms_median == row.time_ms_median)) {
    line << " (verified, not timed)";
    if (row.accuracy == "reduced") line << " (" << row.reason << ")";
  } else if (row.status == "passed") {
    char buf[128];
    std::snprintf(buf, sizeof buf, " %.4g ms %.4g GFLOP/s", row.time_ms_median,
                  row.problem.flops() / (row.time_ms_median * 1e-3) * 1e-9);
    line << buf;
    if (row.deterministic == "no") line << " (nondeterministic)";
    if (row.accuracy == "reduced") line << " (" << row.reason << ")";
  } else if (!row.reason.empty()) {
    line << " (" << row.reason << ")";
  }
  std::cerr << line.str() << std::endl;
}

constexpr int kExitNoGpu = 2;
constexpr int kExitBroken = 3;
constexpr int kExitDeviceFault = 4;

// A sticky CUDA error cannot be cleared in this process: every later row would fail. The row is
// in the CSV (written atomically); a fresh process continues with --resume.
[[noreturn]] void stop_after_device_fault(const Bench& b, const ResultRow& row) {
  std::cerr << "tconv_bench: stopping after a device fault in " << row.suite << "/" << row.shape
            << " " << row.impl << " " << to_string(row.dtype) << " " << to_string(row.layout)
            << "; " << b.opt.csv << " holds every row done; rerun the same command with --resume"
            << std::endl;
  std::exit(kExitDeviceFault);
}

void run_row(benchmark::State& state, Bench& b, size_t index) {
  const RowSpec& spec = b.rows[index];
  const Problem& p = spec.shape.problem;
  ResultRow row;
  row.suite = spec.shape.suite;
  row.shape = spec.shape.name;
  row.problem = p;
  row.dtype = spec.cfg.dtype;
  row.layout = spec.cfg.layout;
  row.impl = spec.impl;
  row.cache = b.opt.hot ? "hot" : "cold";
  row.seed = b.opt.seed;
  row.count = spec.shape.count;

  auto finish = [&](const char* skip_message) {
    row.timestamp = utc_timestamp();
    try {
      b.csv->set(index, row);
    } catch (const Error& e) {
      std::cerr << "tconv_bench: " << e.what() << std::endl;
    }
    progress(b, index, row);
    if (skip_message) state.SkipWithError(skip_message);
  };

  std::unique_ptr<Implementation> impl;
  try {
    impl = create_implementation(spec.impl);
  } catch (const std::exception& e) {
    row.status = "skipped";
    row.reason = std::string("error: ") + e.what();
    const std::string msg = row.status + ": " + row.reason;
    finish(msg.c_str());
    return;
  }
  std::unique_ptr<DeviceOperands> ops;
  RowOutcome o;
  try {
    o = verify_row(*b.ctx, *impl, p, spec.cfg, *b.refs, VerifyOptions{}, &ops);
  } catch (const FatalError& e) {
    row.status = "failed";
    row.reason = std::string("error: ") + e.what();
    finish(nullptr);
    std::cerr << "tconv_bench: stopping: " << e.what() << std::endl;
    std::exit(kExitBroken);
  }
  row.algo = o.algo;
  row.status = o.status;
  row.reason = o.reason;
  row.work_ratio = o.work_ratio;
  row.workspace_bytes = o.workspace_bytes;
  row.setup_ms = o.setup_ms;
  row.tol_rel_l2 = o.tol.rel_l2;
  if (o.compared) {
    row.max_abs_err = o.err.max_abs_err;
    row.rel_l2_err = o.err.rel_l2_err;
    row.reference = o.reference;
  }
  row.deterministic = o.deterministic;
  row.accuracy = o.accuracy;
  if (o.status != "passed" || !ops || b.opt.verify_only) {
    try {
      impl->release();
    } catch (const std::exception&) {
    }
    if (o.status == "passed") {
      finish("verified only (--verify-only): not timed");
      return;
    }
    const std::string msg = row.status + ": " + row.reason;
    finish(msg.c_str());
    if (row.status == "failed") stop_after_device_fault(b, row);
    return;
  }

  std::vector<double> times;
  std::string timing_error;
  try {
    RunTimer timer(*b.ctx, b.opt.hot ? nullptr : b.flusher.get());
    const Tensors t = ops->tensors();
    timer.warmup(*impl, p, spec.cfg, t, b.opt.warmup);
    for (auto _ : state) {
      double ms = 0;
      try {
        ms = timer.time_once(*impl, p, spec.cfg, t);
      } catch (const std::exception& e) {
        timing_error = e.what();
        break;
      }
      state.SetIterationTime(ms * 1e-3);
      times.push_back(ms);
    }
  } catch (const std::exception& e) {
    timing_error = e.what();
  }
  try {
    impl->release();
  } catch (const std::exception&) {
  }
  if (!timing_error.empty()) {
    check_device_after_failure();
    const RowFailure f = classify_row_failure("while timing: " + timing_error, device_lost());
    row.status = f.status;
    row.reason = f.reason;
    const std::string msg = row.status + ": " + row.reason;
    finish(msg.c_str());
    if (row.status == "failed") stop_after_device_fault(b, row);
    return;
  }
  const Stats s = compute_stats(times);
  row.time_ms_median = s.median;
  row.time_ms_min = s.min;
  row.time_ms_stddev = s.stddev;
  row.reps = s.count;
  state.counters["FLOPS"] = benchmark::Counter(p.flops(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["BYTES"] = benchmark::Counter(p.min_bytes(double(storage_bytes(spec.cfg.dtype))),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(row.algo.empty() ? std::string(o.deterministic == "no" ? "nondeterministic" : "")
                                  : row.algo);
  finish(nullptr);
}

std::string indent(const std::string& lines) {
  std::string out;
  std::istringstream in(lines);
  std::string line;
  while (std::getline(in, line)) out += "  " + line + "\n";
  return out;
}

int print_env() {
  std::cout << "libraries loaded by this binary:\n" << indent(describe_libraries());
  GpuProbe probe = probe_gpu();
  if (probe.state == GpuState::available) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
      std::cout << "gpu: " << prop.name << ", sm_" << prop.major << prop.minor << ", "
                << prop.multiProcessorCount << " SMs, " << format_bytes(double(prop.totalGlobalMem))
                << "\n";
    else
      std::cout << "gpu: available\n";
    return 0;
  }
  std::cout << (probe.state == GpuState::absent ? "gpu: none: " : "gpu: broken: ") << probe.why
            << "\n";
  return probe.state == GpuState::absent ? kExitNoGpu : kExitBroken;
}

// --dry-run: the plan, from static information only (can_implement, the problem's sizes, what
// an implementation knows it will allocate). No GPU, no allocation.
int print_dry_run(const std::vector<RowSpec>& rows, bool csv, const std::string& shard_note) {
  std::map<std::string, std::unique_ptr<Implementation>> impls;
  size_t runnable = 0;
  double gflop = 0, bytes = 0;
  int64_t peak_mem = 0;
  if (csv)
    std::printf("suite,shape,dtype,layout,impl,can_implement,reason,gflop,min_bytes,operand_bytes,"
                "extra_bytes\n");
  else
    std::printf("%-10s %-24s %-5s %-5s %-24s %-4s %10s %12s %12s %12s  %s\n", "suite", "shape",
                "dtype", "lay", "impl", "ok", "GFLOP", "min_bytes", "operands", "extra", "reason");
  for (const RowSpec& r : rows) {
    auto& impl = impls[r.impl];
    if (!impl) impl = create_implementation(r.impl);
    const Problem& p = r.shape.problem;
    const Support sup = impl->can_implement(p, r.cfg);
    const double g = p.flops() * 1e-9;
    const double mb = p.min_bytes(double(storage_bytes(r.cfg.dtype)));
    const int64_t ops = int64_t(DeviceOperands::bytes_needed(p, r.cfg));
    const int64_t extra = sup.ok ? impl->planned_workspace_bytes(p, r.cfg) : -1;
    if (sup.ok) {
      ++runnable;
      gflop += g;
      bytes += mb;
      peak_mem = std::max(peak_mem, ops + std::max<int64_t>(extra, 0));
    }
    const std::string extra_s = extra >= 0 ? std::to_string(extra) : "";
    if (csv) {
      std::printf("%s", csv_line({r.shape.suite, r.shape.name, to_string(r.cfg.dtype),
                                  to_string(r.cfg.layout), r.impl, sup.ok ? "yes" : "no",
                                  sup.reason, csv_number(g, 6), csv_number(mb, 12),
                                  std::to_string(ops), extra_s})
                            .c_str());
    } else {
      std::printf("%-10s %-24s %-5s %-5s %-24s %-4s %10.4g %12.4g %12s %12s  %s\n",
                  r.shape.suite.c_str(), r.shape.name.c_str(), to_string(r.cfg.dtype),
                  to_string(r.cfg.layout), r.impl.c_str(), sup.ok ? "yes" : "no", g, mb,
                  format_bytes(double(ops)).c_str(),
                  extra >= 0 ? format_bytes(double(extra)).c_str() : "?", sup.reason.c_str());
    }
  }
  if (!shard_note.empty()) std::fprintf(csv ? stderr : stdout, "%s\n", shard_note.c_str());
  std::fprintf(csv ? stderr : stdout,
               "total: %zu rows, %zu runnable (%zu not supported); %.4g useful GFLOP and %s "
               "minimum traffic per repetition of the runnable rows; largest known device "
               "memory of one row %s\n",
               rows.size(), runnable, rows.size() - runnable, gflop, format_bytes(bytes).c_str(),
               format_bytes(double(peak_mem)).c_str());
  return 0;
}

std::string fmt(double v, const char* unit) {
  if (v != v) return "not measured";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", v, unit);
  return buf;
}

int main_impl(int argc, char** argv) {
  Bench b;
  try {
    b.opt = parse_args(argc, argv);
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }
  Options& opt = b.opt;
  if (opt.help) {
    std::cout << opt.help_text;
    return 0;
  }
  if (opt.list_suites) {
    if (opt.list_format == "csv")
      print_suites_csv();
    else
      print_suites();
    return 0;
  }
  if (opt.env) return print_env();

  // Shapes and implementations: every error here comes before anything runs.
  std::vector<Shape> shapes;
  std::vector<std::string> impls;
  try {
    const bool user_shapes = !opt.shape_specs.empty() || !opt.shape_files.empty();
    if (!opt.suites.empty() || !user_shapes)
      shapes = select_suites(opt.suites.empty() ? std::vector<std::string>{"all"} : opt.suites);
    int index = 1;
    std::set<std::string> user_names;
    std::vector<Shape> user;
    for (const auto& spec : opt.shape_specs) user.push_back(parse_shape_spec(spec, std::to_string(index++)));
    for (const auto& file : opt.shape_files) {
      auto more = read_shapes_file(file, index);
      index += int(more.size());
      user.insert(user.end(), more.begin(), more.end());
    }
    for (const auto& s : user)
      if (!user_names.insert(s.name).second) throw Error("duplicate user shape name '" + s.name + "'");
    shapes.insert(shapes.end(), user.begin(), user.end());

    const auto all_impls = create_all_implementations();
    if (opt.impls.empty()) {
      for (const auto& i : all_impls)
        if (i->backend() == Backend::gpu) impls.push_back(i->name());
    } else {
      for (const auto& name : opt.impls) {
        const auto impl = create_implementation(name);  // throws listing the known names
        if (impl->backend() != Backend::gpu)
          throw Error("--impl " + name + ": a CPU reference, not benchmarked");
        impls.push_back(name);
      }
    }
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }
  for (const Shape& s : shapes)
    for (DType t : opt.dtypes)
      for (Layout l : opt.layouts)
        for (const auto& name : impls) b.rows.push_back({s, Config{t, l}, name});
  // Google Benchmark's flags: unknown ones are an error, before any GPU work (and in a dry run).
  std::vector<char*> gb_argv = {argv[0]};
  for (auto& a : opt.passthrough) gb_argv.push_back(a.data());
  int gb_argc = int(gb_argv.size());
  gb_argv.push_back(nullptr);
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (gb_argc > 1) {
    std::cerr << "tconv_bench: unknown argument '" << gb_argv[1]
              << "': not a Google Benchmark flag (see --help)" << std::endl;
    return 1;
  }

  std::string shard_note;
  if (opt.sharded) {
    std::map<std::string, std::unique_ptr<Implementation>> by_name;
    std::vector<double> work;
    work.reserve(b.rows.size());
    for (const RowSpec& r : b.rows) {
      auto& impl = by_name[r.impl];
      if (!impl) impl = create_implementation(r.impl);
      const bool runnable = impl->can_implement(r.shape.problem, r.cfg).ok;
      work.push_back(estimated_row_work(r.shape.problem, r.cfg.dtype, runnable));
    }
    const std::vector<int64_t> assigned = assign_shards(work, opt.shard.count);
    std::vector<RowSpec> mine;
    double total = 0, share = 0;
    for (size_t i = 0; i < b.rows.size(); ++i) {
      total += work[i];
      if (assigned[i] != opt.shard.index) continue;
      share += work[i];
      mine.push_back(b.rows[i]);
    }
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "shard %lld/%lld: %zu of %zu rows; estimated work %.6g of %.6g (%.4g%%)",
                  (long long)opt.shard.index, (long long)opt.shard.count, mine.size(),
                  b.rows.size(), share, total, total > 0 ? 100.0 * share / total : 0.0);
    shard_note = buf;
    b.rows = std::move(mine);
  }
  if (opt.dry_run) return print_dry_run(b.rows, opt.list_format == "csv", shard_note);

  std::set<std::string> done;
  std::string resumed_text;
  if (opt.resume) {
    // A missing file is a fresh start (the first try of a resumable job); anything else there
    // must be a results CSV that fits in memory.
    std::error_code ec;
    if (std::filesystem::exists(opt.csv, ec)) resumed_text = read_file_text(opt.csv, "results CSV to resume");
  }

  bool list_only = false;
  for (const auto& a : opt.passthrough)
    list_only = list_only || a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true";

  RunInfo info;
  if (!list_only) {
    std::string why;
    try {
      if (!gpu_available(&why)) {
        std::cerr << "tconv_bench: " << why << std::endl;
        return kExitNoGpu;
      }
    } catch (const FatalError& e) {
      std::cerr << "tconv_bench: " << e.what() << std::endl;
      return kExitBroken;
    }
    std::cerr << "tconv_bench: libraries loaded:\n" << indent(describe_libraries());
    try {
      b.ctx = std::make_unique<Context>();
      if (opt.budget_gib > 0) b.ctx->set_memory_budget(size_t(opt.budget_gib * 1073741824.0));
      info = query_run_info(*b.ctx);
      if (!opt.no_ceilings) {
        std::cerr << "tconv_bench: measuring ceilings..." << std::endl;
        measure_ceilings(*b.ctx, info);
        std::cerr << "tconv_bench: ceilings on " << info.gpu << ": copy "
                  << fmt(info.ceiling_copy_gbps, "GB/s") << ", sgemm "
                  << fmt(info.ceiling_sgemm_tflops, "TFLOP/s") << ", tf32 "
                  << fmt(info.ceiling_tf32_tflops, "TFLOP/s") << ", hgemm "
                  << fmt(info.ceiling_hgemm_tflops, "TFLOP/s") << std::endl;
      }
      if (!opt.hot) b.flusher = std::make_unique<L2Flusher>(*b.ctx);
    } catch (const FatalError& e) {
      std::cerr << "tconv_bench: " << e.what() << std::endl;
      return kExitBroken;
    } catch (const Error& e) {
      std::cerr << "tconv_bench: " << e.what() << std::endl;
      return 1;
    }
    b.refs = std::make_unique<ReferenceCache>(opt.seed);
    b.csv = std::make_unique<CsvWriter>(opt.csv, info);
    if (!resumed_text.empty()) {
      try {
        done = b.csv->resume_from(resumed_text, opt.csv);
      } catch (const Error& e) {
        std::cerr << "tconv_bench: " << e.what() << std::endl;
        return 1;
      }
      std::vector<RowSpec> left;
      for (const RowSpec& r : b.rows)
        if (!done.count(row_key(r.shape.suite, r.shape.name, to_string(r.cfg.dtype),
                                to_string(r.cfg.layout), r.impl)))
          left.push_back(r);
      std::cerr << "tconv_bench: --resume: " << (b.rows.size() - left.size())
                << " rows already in " << opt.csv << ", " << left.size() << " to run" << std::endl;
      b.rows = std::move(left);
    }

    benchmark::AddCustomContext("gpu", info.gpu);
    benchmark::AddCustomContext("sm_count", std::to_string(info.sm_count));
    benchmark::AddCustomContext("sm_clock_mhz", std::to_string(info.sm_clock_mhz));
    benchmark::AddCustomContext("mem_clock_mhz", std::to_string(info.mem_clock_mhz));
    benchmark::AddCustomContext("driver", info.driver);
    benchmark::AddCustomContext("cuda_runtime", info.cuda);
    benchmark::AddCustomContext("cublas", info.cublas);
    benchmark::AddCustomContext("cusparse", info.cusparse);
    benchmark::AddCustomContext("cudnn", info.cudnn);
    benchmark::AddCustomContext("commit", info.commit);
    benchmark::AddCustomContext("cache", opt.hot ? "hot" : "cold");
    benchmark::AddCustomContext("ceiling_copy_gbps", csv_number(info.ceiling_copy_gbps));
    benchmark::AddCustomContext("ceiling_sgemm_tflops", csv_number(info.ceiling_sgemm_tflops));
    benchmark::AddCustomContext("ceiling_tf32_tflops", csv_number(info.ceiling_tf32_tflops));
    benchmark::AddCustomContext("ceiling_hgemm_tflops", csv_number(info.ceiling_hgemm_tflops));
    if (!shard_note.empty()) std::cerr << "tconv_bench: " << shard_note << std::endl;
    std::cerr << "tconv_bench: " << b.rows.size() << " rows, CSV -> " << opt.csv << std::endl;
  }

  for (size_t i = 0; i < b.rows.size(); ++i) {
    Bench* bp = &b;
    benchmark::RegisterBenchmark(row_name(b.rows[i]).c_str(),
                                 [bp, i](benchmark::State& st) { run_row(st, *bp, i); })
        ->UseManualTime()
        ->Iterations(opt.reps)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace tconv

int main(int argc, char** argv) { return tconv::main_impl(argc, argv); }
