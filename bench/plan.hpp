// tconv_bench's row plan: which (shape, dtype, layout, implementation) rows a command line asks
// for, this shard's share of them, and the static views of it (--list-suites, --dry-run). Pure
// host code: nothing here touches a GPU or allocates device memory.
#pragma once

#include <string>
#include <vector>

#include "bench/options.hpp"
#include "bench/shapes.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {

struct RowSpec {
  Shape shape;
  Config cfg;
  std::string impl;
};

// "suite/shape/impl/dtype/layout": the row's Google Benchmark name.
std::string row_name(const RowSpec& r);

// Every row of the options' shapes (suites, --shape, --shapes-file), dtypes, layouts and
// implementations, in that nesting order. Throws tconv::Error for an unknown suite or
// implementation, a CPU reference asked for by --impl, or a duplicate user shape name.
std::vector<RowSpec> plan_rows(const Options& opt);

// Keeps the rows of shard opt.shard (balanced by estimated work) and returns the note that says
// which share that is; with no --shard, keeps every row and returns "".
std::string apply_shard(const Options& opt, std::vector<RowSpec>& rows);

// The built-in suites, as text or as CSV (--list-suites [--format csv]).
void print_suites(bool csv);

// --dry-run: the plan from static information only (can_implement, the problem's sizes, what an
// implementation knows it will allocate). Text, or CSV with the totals on stderr.
int print_dry_run(const std::vector<RowSpec>& rows, bool csv, const std::string& shard_note);

}  // namespace tconv
