// tconv_bench's GPU session: what it prints of the machine (--env, the libraries, the ceilings)
// and what it sets up before the first row (the context, the memory budget, the L2 flusher, the
// references, the CSV and what --resume found in it).
#pragma once

#include <string>

#include "bench/bench_run.hpp"

namespace tconv {

// --env: the libraries this binary loaded and the GPU, or why there is none. An exit code.
int print_env();

// Everything before the first row: a GPU check, the context and its budget, the ceilings, the
// flusher, the reference cache and the CSV writer, and --resume's rows dropped from b.rows
// (resumed_text: the CSV read before, "" for a fresh start). Returns 0, or the exit code to stop
// with after one error line.
int start_session(Bench& b, const std::string& resumed_text, const std::string& shard_note);

}  // namespace tconv
