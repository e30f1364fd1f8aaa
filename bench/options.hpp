// tconv_bench's command line: CLI11 parses the syntax, and every value is checked here so that
// each mistake is one tconv::Error line naming the option. Pure C++ (no CUDA, no Google
// Benchmark), so that the fuzz target of the option parsing (fuzz/) runs this same code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/shard.hpp"
#include "core/types.hpp"

namespace tconv {

struct Options {
  std::vector<std::string> suites, impls, shape_specs, shape_files;
  std::vector<DType> dtypes;
  std::vector<Layout> layouts;
  std::string csv = "results.csv";
  std::string list_format = "text";
  int reps = 20, warmup = 3;
  bool hot = false, no_ceilings = false, list_suites = false, help = false;
  bool resume = false, dry_run = false, verify_only = false, env = false;
  bool print_contract = false;
  double budget_gib = 0;
  uint64_t seed = 1;
  ShardSpec shard;
  bool sharded = false;  // --shard given (even 0/1)
  std::string help_text;
  std::vector<std::string> passthrough;  // for Google Benchmark
};

// The options of argv (argv[0] is the program). --help fills help and help_text and returns.
// Throws tconv::Error for any bad argument.
Options parse_args(int argc, char** argv);

}  // namespace tconv
