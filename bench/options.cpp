#include "bench/options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace tconv {
namespace {

constexpr const char* kDescription =
    "Runs every (shape, dtype, layout, implementation) row: verification against an fp64\n"
    "reference, then CUDA-event timing; writes the results CSV (docs/results-csv.md) after every\n"
    "row. Rows go in the order shape (suite order) > dtype > layout > implementation (registry\n"
    "order).";

constexpr const char* kFooter = R"(
Shape keys (--shape, --shapes-file header): n c_in h_in w_in l c_out k stride pad out_pad dil
groups bias count name; required c_in h_in w_in c_out k; k/stride/pad/out_pad/dil take N or H:W;
bias 0/1; defaults n=1 stride=1 pad=0 out_pad=0 dil=1 groups=1 bias=0; 1-D: l=L instead of
h_in, w_in (H = 1, one value each, applied to W). Begin/end padding (ONNX pads, TensorFlow
'same'): pad_end=E (N or H:W) makes pad the begin and E the end padding, E < 0 adds outputs at the
end; not with out_pad.

Sharding: --shard I/N keeps shard I (0 <= I < N) of the rows, balanced by estimated work (useful
FLOPs + 20 x minimum bytes per runnable row, see bench/shard.hpp); the N shards of the same
arguments partition the rows exactly. scripts/run_local_gpus.sh and scripts/slurm/ run them.

Every argument that starts with --benchmark_ goes to Google Benchmark (--benchmark_filter=REGEX,
--benchmark_out=FILE.json, --benchmark_out_format=json|console|csv, --benchmark_list_tests, ...;
the value after '='). Benchmark names are SUITE/SHAPE/IMPL/DTYPE/LAYOUT.

Exit status: 0 done; 1 bad arguments; 2 no CUDA device (no driver, or no device); 3 a broken
installation (driver older than the runtime, cuDNN for another CUDA...): fix it, no row is
trustworthy; 4 a fault left the device unusable: the faulting row reads "failed", the rows done
are in the CSV, and the same command with --resume continues after it.
)";

long long parse_number(const std::string& flag, const std::string& v, long long min,
                       long long max = 1000000) {
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != v.size() || n < min || n > max)
    throw Error(flag + " " + v + ": expected an integer from " + std::to_string(min) + " to " +
                std::to_string(max));
  return n;
}

}  // namespace

// CLI11 parses the syntax (--name value, --name=value, repeatable and comma-list options, help);
// the values are then checked here so that every mistake is one line naming the option.
Options parse_args(int argc, char** argv) {
  Options o;
  CLI::App app{kDescription, "tconv_bench"};
  app.set_help_flag("-h,--help", "this text");
  app.footer(kFooter);
  app.get_formatter()->column_width(34);
  // Everything CLI11 does not know is either a Google Benchmark flag or an error (below).
  app.allow_extras();

  std::vector<std::string> dtypes, layouts;
  std::string reps, warmup, seed, budget, shard;
  // A value that is itself one of our options means the value was forgotten ("--csv --hot").
  const CLI::Validator not_an_option(
      [&app](std::string& v) -> std::string {
        if (v.rfind("--", 0) != 0) return "";
        const std::string name = v.substr(0, v.find('='));
        for (const CLI::Option* opt : app.get_options())
          if (opt->check_lname(name.substr(2))) return "needs a value (got the option " + name + ")";
        return name.rfind("--benchmark_", 0) == 0 ? "needs a value (got " + name + ")" : "";
      },
      "", "not an option");
  auto single = [&](const std::string& name, std::string& into, const std::string& type,
                    const std::string& help, const std::string& group) {
    return app.add_option(name, into, help)->type_name(type)->check(not_an_option)->group(group);
  };
  auto repeatable = [&](const std::string& name, std::vector<std::string>& into, const std::string& type,
                        const std::string& help, const std::string& group) {
    return app.add_option(name, into, help)
        ->type_name(type)
        ->allow_extra_args(false)
        ->check(not_an_option)
        ->group(group);
  };

  const std::string shapes = "Shapes", rows = "Rows", meas = "Measurement", out = "Output",
                    plan = "Planning and environment (no GPU needed)";
  repeatable("--suite", o.suites, "NAME",
             "built-in suite, repeatable; \"all\" = every suite (the default,\n"
             "unless --shape or --shapes-file is given: those then run alone)",
             shapes);
  repeatable("--shape", o.shape_specs, "SPEC",
             "a user shape, repeatable (keys below), e.g.\n"
             "\"n=1,c_in=16,h_in=32,w_in=32,c_out=8,k=4,stride=2,pad=1\"",
             shapes);
  repeatable("--shapes-file", o.shape_files, "PATH",
             "CSV with a header of those keys, repeatable", shapes);
  app.add_flag("--list-suites", o.list_suites,
               "print the built-in suites and their shapes, then exit")
      ->group(shapes);
  single("--format", o.list_format, "text|csv",
         "with --list-suites or --dry-run: text (default) or CSV", shapes)
      ->check(CLI::IsMember({"text", "csv"}).description(""));
  repeatable("--impl", o.impls, "NAME", "implementation, repeatable (default: every GPU one)",
             rows);
  repeatable("--dtype", dtypes, "LIST", "fp32,tf32,fp16,bf16 or all (default fp32); repeatable",
             rows)
      ->delimiter(',');
  repeatable("--layout", layouts, "LIST", "nchw,nhwc or all (default nchw); repeatable", rows)
      ->delimiter(',');
  single("--shard", shard, "I/N",
         "run only shard I of N (0 <= I < N) of the rows (below)", rows);
  single("--reps", reps, "N", "timed repetitions per row (default 20)", meas);
  single("--warmup", warmup, "N", "untimed runs before them (default 3)", meas);
  app.add_flag("--hot", o.hot, "do not flush L2 before each timed run (cache column: hot)")->group(meas);
  app.add_flag("--no-ceilings", o.no_ceilings, "skip the copy/GEMM ceiling measurements at start")
      ->group(meas);
  single("--memory-budget-gib", budget, "X",
         "device memory an implementation may take for itself\n"
         "(default: 80% of the free memory)", meas);
  single("--seed", seed, "N", "seed of the random inputs (default 1)", meas);
  app.add_flag("--verify-only", o.verify_only,
               "verify every row, time none (sanitizers, quick checks)")
      ->group(meas);
  single("--csv", o.csv, "PATH", "results CSV (default results.csv), rewritten after each row", out);
  app.add_flag("--resume", o.resume,
               "keep the rows already in --csv, run only the others")
      ->group(out);
  app.add_flag("--dry-run", o.dry_run,
               "the rows a run would make (can_implement and its reason,\n"
               "useful GFLOP, minimum bytes, known device memory), then a total")
      ->group(plan);
  app.add_flag("--env", o.env,
               "the GPU libraries this binary loaded and whether a GPU is usable")
      ->group(plan);
  app.add_flag("--print-contract", o.print_contract,
               "the results CSV's contract as JSON (its columns in order with their\n"
               "meanings, the accuracy policy), which the scripts read; then exit")
      ->group(out);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    o.help = true;
    o.help_text = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    // CLI11 says "--csv: At Most 1 required but received 2"; in our words:
    if (const size_t at = what.find(": At Most 1 required but received"); at != std::string::npos)
      what = what.substr(0, at) + " given more than once (it takes one value)";
    throw Error(what + " (see --help)");
  }
  std::string previous;
  for (const std::string& arg : app.remaining()) {
    if (arg.rfind("--benchmark_", 0) == 0) {
      // Each row is verified and written once; Google Benchmark's repetitions would re-run and
      // overwrite it. Repetitions inside a row are --reps.
      if (arg.rfind("--benchmark_repetitions", 0) == 0 && arg != "--benchmark_repetitions=1")
        throw Error("--benchmark_repetitions is not supported: use --reps N (timed repetitions per row)");
      o.passthrough.push_back(arg);
    } else if (previous.rfind("--benchmark_", 0) == 0 && previous.find('=') == std::string::npos &&
               arg.rfind("-", 0) != 0) {
      throw Error("'" + previous + " " + arg + "': a Google Benchmark flag takes its value after '=' (" +
                  previous + "=" + arg + ")");
    } else if (arg.rfind("--benchmark", 0) == 0 || arg.rfind("-benchmark", 0) == 0) {
      throw Error("unknown argument '" + arg + "' (Google Benchmark flags are spelled "
                  "--benchmark_NAME=VALUE; see --help)");
    } else {
      throw Error("unknown argument '" + arg + "' (see --help)");
    }
    previous = arg;
  }

  for (const auto& d : dtypes) {
    if (d == "all") {
      for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) o.dtypes.push_back(t);
      continue;
    }
    const DType t = parse_dtype(d);
    if (t == DType::fp64) throw Error("--dtype fp64: fp64 is for the references, not benchmarked");
    o.dtypes.push_back(t);
  }
  for (const auto& l : layouts) {
    if (l == "all") {
      o.layouts.push_back(Layout::nchw);
      o.layouts.push_back(Layout::nhwc);
    } else {
      o.layouts.push_back(parse_layout(l));
    }
  }
  if (app.count("--reps")) o.reps = int(parse_number("--reps", reps, 1));
  if (app.count("--warmup")) o.warmup = int(parse_number("--warmup", warmup, 0));
  if (app.count("--seed")) o.seed = uint64_t(parse_number("--seed", seed, 0, LLONG_MAX));
  if (app.count("--memory-budget-gib")) {
    char* end = nullptr;
    o.budget_gib = std::strtod(budget.c_str(), &end);
    if (budget.empty() || *end != '\0' || !(o.budget_gib > 0))
      throw Error("--memory-budget-gib " + budget + ": expected a positive number");
  }
  if (app.count("--shard")) {
    o.shard = parse_shard(shard);
    o.sharded = true;
  }
  // Remove duplicates, keep order.
  auto dedup = [](auto& v) {
    auto copy = v;
    v.clear();
    for (const auto& e : copy)
      if (std::find(v.begin(), v.end(), e) == v.end()) v.push_back(e);
  };
  if (o.dtypes.empty()) o.dtypes.push_back(DType::fp32);
  if (o.layouts.empty()) o.layouts.push_back(Layout::nchw);
  dedup(o.dtypes);
  dedup(o.layouts);
  dedup(o.impls);
  return o;
}

}  // namespace tconv
