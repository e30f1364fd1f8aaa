// tconv_bench: every (shape, dtype, layout, implementation) row as one Google Benchmark
// benchmark with manual (CUDA event) time. Each row is verified against the fp64 reference
// before its timed loop; rows that are not supported, skipped or incorrect are reported through
// state.SkipWithError and are never timed. The project CSV (docs/results-csv.md) is written by
// our own writer after every row; Google Benchmark's own reporters (--benchmark_out=...) keep
// working.
//
// The concerns live apart: the options (bench/options.cpp), the row plan, shards and dry run
// (bench/plan.cpp), the session set up before the first row (bench/bench_session.cpp), one
// row's verification, timing and CSV line (bench/bench_run.cpp), the CSV contract
// (bench/contract.cpp). This file is the order they run in and the exit codes.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_run.hpp"
#include "bench/bench_session.hpp"
#include "bench/contract.hpp"
#include "bench/options.hpp"
#include "bench/plan.hpp"
#include "core/npy.hpp"

namespace tconv {
namespace {

// Google Benchmark's flags: unknown ones are an error, before any GPU work (and in a dry run).
bool init_google_benchmark(const Options& opt, char* argv0) {
  std::vector<std::string> args = opt.passthrough;
  std::vector<char*> gb_argv = {argv0};
  for (auto& a : args) gb_argv.push_back(a.data());
  int gb_argc = int(gb_argv.size());
  gb_argv.push_back(nullptr);
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (gb_argc > 1) {
    std::cerr << "tconv_bench: unknown argument '" << gb_argv[1]
              << "': not a Google Benchmark flag (see --help)" << std::endl;
    return false;
  }
  return true;
}

// --benchmark_list_tests: Google Benchmark prints the rows' names and runs nothing.
bool list_only(const Options& opt) {
  for (const auto& a : opt.passthrough)
    if (a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true") return true;
  return false;
}

int main_impl(int argc, char** argv) {
  Bench b;
  try {
    b.opt = parse_args(argc, argv);
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }
  const Options& opt = b.opt;
  if (opt.help) {
    std::cout << opt.help_text;
    return 0;
  }
  if (opt.print_contract) {
    std::cout << contract_json();
    return 0;
  }
  if (opt.list_suites) {
    print_suites(opt.list_format == "csv");
    return 0;
  }
  if (opt.env) return print_env();

  // Shapes and implementations: every error here comes before anything runs.
  try {
    b.rows = plan_rows(opt);
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }
  if (!init_google_benchmark(opt, argv[0])) return 1;
  const std::string shard_note = apply_shard(opt, b.rows);
  if (opt.dry_run) return print_dry_run(b.rows, opt.list_format == "csv", shard_note);

  // A missing file is a fresh start (the first try of a resumable job); anything else there
  // must be a results CSV that fits in memory.
  std::string resumed_text;
  std::error_code ec;
  try {
    if (opt.resume && std::filesystem::exists(opt.csv, ec))
      resumed_text = read_file_text(opt.csv, "results CSV to resume");
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }

  if (!list_only(opt))
    if (const int rc = start_session(b, resumed_text, shard_note); rc != 0) return rc;
  register_rows(b);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace tconv

int main(int argc, char** argv) {
  return tconv::main_impl(argc, argv);
}
