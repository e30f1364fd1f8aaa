#include "bench/bench_run.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "bench/stats.hpp"

namespace tconv {
namespace {

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
  std::unique_ptr<RowResources> res;
  RowOutcome o;
  try {
    o = verify_row(*b.ctx, *impl, p, spec.cfg, *b.refs, VerifyOptions{}, &res);
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
  if (o.status != "passed" || !res || b.opt.verify_only) {
    res.reset();  // releases the implementation, then frees its workspace
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
  PowerRecorder power(b.power.get());
  try {
    RunTimer timer(*b.ctx, b.opt.hot ? nullptr : b.flusher.get());
    const Tensors t = res->tensors();
    timer.warmup(*impl, p, spec.cfg, t, b.opt.warmup);
    power.begin();
    for (auto _ : state) {
      double ms = 0;
      try {
        ms = timer.time_once(*impl, p, spec.cfg, t);
      } catch (const std::exception& e) {
        timing_error = e.what();
        break;
      }
      // After the run's stop event was waited for, outside the timed interval.
      power.after_run();
      state.SetIterationTime(ms * 1e-3);
      times.push_back(ms);
    }
  } catch (const std::exception& e) {
    timing_error = e.what();
  }
  res.reset();
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
  row.power = power.end(s.median);
  state.counters["FLOPS"] =
      benchmark::Counter(p.flops(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["BYTES"] = benchmark::Counter(p.min_bytes(double(storage_bytes(spec.cfg.dtype))),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(row.algo.empty() ? std::string(o.deterministic == "no" ? "nondeterministic" : "")
                                  : row.algo);
  finish(nullptr);
}

}  // namespace

void register_rows(Bench& b) {
  for (size_t i = 0; i < b.rows.size(); ++i) {
    Bench* bp = &b;
    benchmark::RegisterBenchmark(row_name(b.rows[i]).c_str(),
                                 [bp, i](benchmark::State& st) { run_row(st, *bp, i); })
        ->UseManualTime()
        ->Iterations(b.opt.reps)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace tconv
