#include "bench/csv.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "core/npy.hpp"

namespace tconv {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

const std::vector<std::string>& csv_contract_columns() {
  static const std::vector<std::string> cols = {"suite",
                                                "shape",
                                                "n",
                                                "c_in",
                                                "h_in",
                                                "w_in",
                                                "c_out",
                                                "k_h",
                                                "k_w",
                                                "stride_h",
                                                "stride_w",
                                                "pad_h",
                                                "pad_w",
                                                "out_pad_h",
                                                "out_pad_w",
                                                "dil_h",
                                                "dil_w",
                                                "groups",
                                                "h_out",
                                                "w_out",
                                                "dtype",
                                                "layout",
                                                "impl",
                                                "algo",
                                                "status",
                                                "reason",
                                                "time_ms_median",
                                                "time_ms_min",
                                                "time_ms_stddev",
                                                "reps",
                                                "gflops",
                                                "gbps",
                                                "work_ratio",
                                                "workspace_bytes",
                                                "max_abs_err",
                                                "rel_l2_err",
                                                "deterministic",
                                                "cache",
                                                "gpu",
                                                "sm_count",
                                                "sm_clock_mhz",
                                                "mem_clock_mhz",
                                                "driver",
                                                "cuda",
                                                "cublas",
                                                "cudnn",
                                                "commit",
                                                "timestamp"};
  return cols;
}

// setup_ms: the lifecycle's time: plans, workspace, initialize and the timing of candidates
// (events on the stream, so host work inside it counts).
// flops, min_bytes: the numerators of gflops and gbps. tol_rel_l2: the bound rel_l2_err was
// held to; reference: cpu_fp64 (ref::direct) or gpu_fp64 (reference_gpu_fp64). count: how many
// layers of a model share the shape (the shapes file's `count` key, 1 by default), for
// weighting model totals (scripts/report.py). accuracy: full (within the dtype's bound) or
// reduced (within the documented reduced-precision bound, bench/tolerance.hpp), empty when not
// compared or incorrect. pad_begin_*, pad_end_*: begin and end padding per axis
// (core/problem.hpp); pad_* and out_pad_* hold begin and begin - end. sm_clock_mean_mhz ..
// throttled: the GPU while the row was timed (bench/power.hpp); nvml: their source, or why empty.
const std::vector<std::string>& csv_extra_columns() {
  static const std::vector<std::string> cols = {"setup_ms",
                                                "flops",
                                                "min_bytes",
                                                "bias",
                                                "tol_rel_l2",
                                                "reference",
                                                "seed",
                                                "cusparse",
                                                "ceiling_copy_gbps",
                                                "ceiling_sgemm_tflops",
                                                "ceiling_tf32_tflops",
                                                "ceiling_hgemm_tflops",
                                                "count",
                                                "accuracy",
                                                "pad_begin_h",
                                                "pad_begin_w",
                                                "pad_end_h",
                                                "pad_end_w",
                                                "sm_clock_mean_mhz",
                                                "power_mean_w",
                                                "energy_per_call_j",
                                                "throttle_reasons",
                                                "throttled",
                                                "nvml"};
  return cols;
}

std::vector<std::string> csv_columns() {
  std::vector<std::string> all = csv_contract_columns();
  const auto& extra = csv_extra_columns();
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

std::string csv_quote(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_quote(fields[i]);
  }
  line += '\n';
  return line;
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(cur);
      cur.clear();
    } else if (c != '\r' && c != '\n') {
      cur += c;
    }
  }
  fields.push_back(cur);
  return fields;
}

RunInfo::RunInfo()
    : ceiling_copy_gbps(kNaN),
      ceiling_sgemm_tflops(kNaN),
      ceiling_tf32_tflops(kNaN),
      ceiling_hgemm_tflops(kNaN) {}

ResultRow::ResultRow()
    : time_ms_median(kNaN),
      time_ms_min(kNaN),
      time_ms_stddev(kNaN),
      work_ratio(kNaN),
      max_abs_err(kNaN),
      rel_l2_err(kNaN),
      setup_ms(kNaN),
      tol_rel_l2(kNaN) {}

std::string csv_number(double v, int digits) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> csv_fields(const ResultRow& r, const RunInfo& info) {
  const Problem& p = r.problem;
  auto i64 = [](int64_t v) { return std::to_string(v); };
  const double flops = p.flops();
  const double bytes = p.min_bytes(double(storage_bytes(r.dtype)));
  const double sec = r.time_ms_median * 1e-3;  // NaN when not timed
  std::vector<std::string> f = {
      r.suite, r.shape, i64(p.n), i64(p.c_in), i64(p.h_in), i64(p.w_in), i64(p.c_out), i64(p.k_h),
      i64(p.k_w), i64(p.stride_h), i64(p.stride_w), i64(p.pad_h), i64(p.pad_w), i64(p.out_pad_h),
      i64(p.out_pad_w), i64(p.dil_h), i64(p.dil_w), i64(p.groups), i64(p.h_out()), i64(p.w_out()),
      to_string(r.dtype), to_string(r.layout), r.impl, r.algo, r.status, r.reason,
      csv_number(r.time_ms_median), csv_number(r.time_ms_min), csv_number(r.time_ms_stddev),
      r.reps > 0 ? std::to_string(r.reps) : "", csv_number(flops / sec * 1e-9),
      csv_number(bytes / sec * 1e-9), csv_number(r.work_ratio, 4),
      r.workspace_bytes >= 0 ? i64(r.workspace_bytes) : "", csv_number(r.max_abs_err, 3),
      csv_number(r.rel_l2_err, 3), r.deterministic, r.cache, info.gpu,
      info.sm_count ? std::to_string(info.sm_count) : "",
      info.sm_clock_mhz ? std::to_string(info.sm_clock_mhz) : "",
      info.mem_clock_mhz ? std::to_string(info.mem_clock_mhz) : "", info.driver, info.cuda,
      info.cublas, info.cudnn, info.commit, r.timestamp,
      // extras
      csv_number(r.setup_ms), csv_number(flops, 12), csv_number(bytes, 12), p.has_bias ? "1" : "0",
      csv_number(r.tol_rel_l2, 3), r.reference, std::to_string(r.seed), info.cusparse,
      csv_number(info.ceiling_copy_gbps, 5), csv_number(info.ceiling_sgemm_tflops, 4),
      csv_number(info.ceiling_tf32_tflops, 4), csv_number(info.ceiling_hgemm_tflops, 4),
      std::to_string(r.count), r.accuracy, i64(p.pad_begin_h()), i64(p.pad_begin_w()),
      i64(p.pad_end_h()), i64(p.pad_end_w()), csv_number(r.power.sm_clock_mean_mhz, 5),
      csv_number(r.power.power_mean_w, 4), csv_number(r.power.energy_per_call_j, 4),
      r.power.throttle_reasons, r.power.throttled, info.nvml};
  return f;
}

CsvWriter::CsvWriter(std::string path, RunInfo info)
    : path_(std::move(path)), info_(std::move(info)) {}

void CsvWriter::set(size_t index, const ResultRow& row) {
  if (lines_.size() <= index) lines_.resize(index + 1);
  lines_[index] = csv_line(csv_fields(row, info_));
  flush();
}

std::string CsvWriter::text() const {
  std::string out = csv_line(csv_columns());
  for (const auto& l : kept_) out += l;
  for (const auto& l : lines_) out += l;
  return out;
}

std::string row_key(const std::string& suite, const std::string& shape, const std::string& dtype,
                    const std::string& layout, const std::string& impl) {
  return suite + "/" + shape + "/" + dtype + "/" + layout + "/" + impl;
}

std::set<std::string> CsvWriter::resume_from(const std::string& text, const std::string& source) {
  std::set<std::string> done;
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty()) throw Error("--resume: " + source + " is empty (no header)");
  const std::vector<std::string> header = csv_split(lines[0]);
  if (header != csv_columns())
    throw Error("--resume: " + source + " has other columns than this tconv_bench writes (" +
                std::to_string(header.size()) + " vs " + std::to_string(csv_columns().size()) +
                "): it was written by another version; resume into a new file instead");
  auto col = [&](const char* name) {
    return size_t(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t c_suite = col("suite"), c_shape = col("shape"), c_dtype = col("dtype"),
               c_layout = col("layout"), c_impl = col("impl");
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = csv_split(lines[i]);
    if (f.size() != header.size())
      throw Error("--resume: " + source + " line " + std::to_string(i + 1) + " has " +
                  std::to_string(f.size()) + " fields, the header " +
                  std::to_string(header.size()));
    done.insert(row_key(f[c_suite], f[c_shape], f[c_dtype], f[c_layout], f[c_impl]));
    kept_.push_back(lines[i] + "\n");
  }
  return done;
}

void CsvWriter::flush() const {
  if (!path_.empty()) write_file_atomic(path_, text());
}

}  // namespace tconv
