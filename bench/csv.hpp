// The project's results CSV (docs/results-csv.md is the contract): the contract columns
// in their order, then extra columns. Pure C++: formatting, quoting and the file writer, which
// rewrites the whole file atomically after every row so that a crash leaves the last complete
// file, never half a one.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "bench/power.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv {

// The contract columns, in order.
const std::vector<std::string>& csv_contract_columns();
// What follows them: setup_ms, flops, min_bytes, bias, ... (see csv.cpp).
const std::vector<std::string>& csv_extra_columns();
// Contract then extras.
std::vector<std::string> csv_columns();

// RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled.
std::string csv_quote(const std::string& field);
std::string csv_line(const std::vector<std::string>& fields);  // with a trailing '\n'
// Splits one line (no newline inside fields) into fields, undoing csv_quote.
std::vector<std::string> csv_split(const std::string& line);

// The context columns shared by every row of one run.
struct RunInfo {
  std::string gpu;
  int sm_count = 0;
  int sm_clock_mhz = 0;
  int mem_clock_mhz = 0;
  std::string driver, cuda, cublas, cudnn, cusparse;
  std::string commit;
  // Ceilings measured at start; NaN when not measured (--no-ceilings): empty cells.
  double ceiling_copy_gbps, ceiling_sgemm_tflops, ceiling_tf32_tflops, ceiling_hgemm_tflops;
  // Where the clock and power columns come from: "nvml <version>", or "unavailable: why".
  std::string nvml;
  RunInfo();
};

// One row. Doubles that are NaN are written as empty cells (not timed, not compared).
struct ResultRow {
  std::string suite, shape;
  Problem problem;
  DType dtype = DType::fp32;
  Layout layout = Layout::nchw;
  std::string impl, algo;
  std::string status;  // passed, incorrect, not_supported, skipped
  std::string reason;
  double time_ms_median, time_ms_min, time_ms_stddev;
  int reps = 0;
  double work_ratio;
  int64_t workspace_bytes = -1;  // -1: empty (never prepared)
  double max_abs_err, rel_l2_err;
  std::string deterministic = "na";  // yes, no, na
  std::string cache;                 // cold or hot
  std::string timestamp;             // UTC ISO-8601
  // Extras.
  double setup_ms;
  double tol_rel_l2;
  std::string reference;  // cpu_fp64 or gpu_fp64, empty when not compared
  uint64_t seed = 0;
  int64_t count = 1;     // layers of a model with this shape (the shape's `count` key)
  std::string accuracy;  // full, reduced, or empty (not compared / incorrect)
  PowerSummary power;    // clocks and power while timed; empty when not timed or no NVML
  ResultRow();
};

std::vector<std::string> csv_fields(const ResultRow& row, const RunInfo& info);

// Identifies a row across runs (for --resume): suite/shape/dtype/layout/impl.
std::string row_key(const std::string& suite, const std::string& shape, const std::string& dtype,
                    const std::string& layout, const std::string& impl);

// Formats a double for the CSV: empty for NaN, else shortest-ish with `digits` significant.
std::string csv_number(double v, int digits = 6);
// Current UTC time as 2024-05-01T12:34:56Z.
std::string utc_timestamp();

class CsvWriter {
 public:
  CsvWriter(std::string path, RunInfo info);
  // Sets row `index` (rows grow as needed; unset rows are not written) and rewrites the file.
  void set(size_t index, const ResultRow& row);
  // The file's text as it stands.
  std::string text() const;
  // --resume: keeps the rows of an earlier run's file text (written before every row of this
  // run) and returns their row_key()s, so the caller skips those rows. Throws tconv::Error when
  // the header is not this version's or a line is malformed: a resume never mixes schemas.
  std::set<std::string> resume_from(const std::string& text, const std::string& source);
  const std::string& path() const { return path_; }

 private:
  void flush() const;
  std::string path_;
  RunInfo info_;
  std::vector<std::string> kept_;   // rows of the resumed file, verbatim
  std::vector<std::string> lines_;  // empty string: row not set
};

}  // namespace tconv
