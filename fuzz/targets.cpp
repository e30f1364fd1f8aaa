#include "fuzz/targets.hpp"

#include <cstdlib>
#include <sstream>

#include "bench/csv.hpp"
#include "bench/options.hpp"
#include "bench/shapes.hpp"
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "cli/run_problem.hpp"
#include "core/npy.hpp"
#include "core/types.hpp"

namespace tconv::fuzz {

namespace {

// A broken contract: abort, so that libFuzzer saves the input and the test of the saved input
// fails (both print the message first).
[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz target contract broken: %s\n", what.c_str());
  std::abort();
}

std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

bool same_problem(const Problem& a, const Problem& b) {
  return a.n == b.n && a.c_in == b.c_in && a.h_in == b.h_in && a.w_in == b.w_in &&
         a.c_out == b.c_out && a.k_h == b.k_h && a.k_w == b.k_w && a.stride_h == b.stride_h &&
         a.stride_w == b.stride_w && a.pad_h == b.pad_h && a.pad_w == b.pad_w &&
         a.out_pad_h == b.out_pad_h && a.out_pad_w == b.out_pad_w && a.dil_h == b.dil_h &&
         a.dil_w == b.dil_w && a.groups == b.groups && a.has_bias == b.has_bias &&
         a.h_out() == b.h_out() && a.w_out() == b.w_out();
}

// What every problem a reader accepted must give without trouble: the sizes, the counters, the
// one-line description, and the spec that reads back as the same problem.
void check_problem(const Problem& p) {
  if (!p.validate().empty()) broken("a reader returned an invalid problem: " + p.validate());
  (void)p.flops();
  (void)p.min_bytes(4.0);
  (void)p.to_string();
  const std::string spec = format_shape_spec(p);
  Problem back;
  try {
    back = parse_shape_spec(spec, "x").problem;
  } catch (const Error& e) {
    broken("format_shape_spec wrote '" + spec + "', which reads back as: " + e.what());
  }
  if (!same_problem(p, back)) broken("'" + spec + "' reads back as another problem");
}

}  // namespace

std::vector<std::string> split_args(const uint8_t* data, size_t size) {
  std::vector<std::string> words;
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      words.push_back(cur);
      cur.clear();
    } else {
      cur += char(data[i]);
    }
  }
  if (!cur.empty()) words.push_back(cur);
  return words;
}

int npy(const uint8_t* data, size_t size) {
  try {
    const NpyArray a = read_npy_bytes(text_of(data, size), "fuzz.npy");
    // What was read must be what the header said, and its size what the file held.
    if (int64_t(a.data.size()) != a.elems()) broken("data size differs from the header's shape");
    if (a.data.size() * (a.is_float64 ? 8 : 4) > size) broken("more data than the file holds");
  } catch (const Error&) {
  }
  return 0;
}

int shape_spec(const uint8_t* data, size_t size) {
  try {
    check_problem(parse_shape_spec(text_of(data, size), "1").problem);
  } catch (const Error&) {
  }
  return 0;
}

int shapes_csv(const uint8_t* data, size_t size) {
  try {
    for (const Shape& s : parse_shapes_csv(text_of(data, size), "fuzz.csv")) check_problem(s.problem);
  } catch (const Error&) {
  }
  return 0;
}

int results_csv(const uint8_t* data, size_t size) {
  const std::string text = text_of(data, size);
  // csv_line undoes csv_split on any line without a line break.
  const std::string first = text.substr(0, text.find_first_of("\r\n"));
  const std::vector<std::string> fields = csv_split(first);
  const std::string line = csv_line(fields);
  if (csv_split(line.substr(0, line.size() - 1)) != fields) broken("csv_split(csv_line(f)) != f");
  try {
    CsvWriter writer("", RunInfo{});
    const auto keys = writer.resume_from(text, "fuzz.csv");
    // Every kept row is written back as it was read.
    const std::string out = writer.text();
    if (out.size() < keys.size()) broken("fewer bytes written than rows kept");
  } catch (const Error&) {
  }
  return 0;
}

int bench_options(const uint8_t* data, size_t size) {
  std::vector<std::string> words = split_args(data, size);
  words.insert(words.begin(), "tconv_bench");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  try {
    const Options o = parse_args(int(words.size()), argv.data());
    if (o.help) return 0;
    if (o.reps < 1 || o.warmup < 0 || o.dtypes.empty() || o.layouts.empty())
      broken("parse_args accepted reps/warmup/dtypes/layouts out of range");
    if (o.sharded && (o.shard.count < 1 || o.shard.index >= o.shard.count))
      broken("parse_args accepted a shard outside 0 <= I < N");
    // What a run then does with the shapes it names (files are not opened here).
    int index = 1;
    for (const auto& spec : o.shape_specs)
      check_problem(parse_shape_spec(spec, std::to_string(index++)).problem);
    (void)select_suites(o.suites);
  } catch (const Error&) {
  }
  return 0;
}

int tconv_args(const uint8_t* data, size_t size) {
  // The first line picks the command and the tensors' shapes, as .npy headers would give them:
  // "run 1,4,5,5 4,2,3,3 2" (x, w, optional bias) or "explain"; the other lines are the argv.
  std::vector<std::string> words = split_args(data, size);
  if (words.empty()) return 0;
  std::istringstream head(words.front());
  words.erase(words.begin());
  std::string command;
  head >> command;
  try {
    if (command == "explain") {
      // --dump-c writes a file: not from fuzzer input.
      for (const auto& w : words)
        if (w.find("dump") != std::string::npos) return 0;
      std::ostringstream out;
      cli::cmd_explain(words, out);
      return 0;
    }
    if (command != "run") return 0;
    std::vector<std::vector<int64_t>> shapes;
    std::string item;
    while (head >> item && shapes.size() < 3) {
      std::vector<int64_t> shape;
      std::stringstream dims(item);
      std::string d;
      while (std::getline(dims, d, ',') && shape.size() < 6) {
        char* end = nullptr;
        const long long v = std::strtoll(d.c_str(), &end, 10);
        if (d.empty() || *end != '\0' || v < 0 || v > 999999999999LL) return 0;  // as read_npy
        shape.push_back(v);
      }
      shapes.push_back(shape);
    }
    if (shapes.size() < 2) return 0;
    const cli::Args args(words, cli::run_value_options(), {});
    check_problem(cli::problem_from(args, shapes[0], shapes[1], shapes.size() > 2 ? &shapes[2] : nullptr));
    if (args.has("dtype")) (void)parse_dtype(args.require("dtype"));
    if (args.has("layout")) (void)parse_layout(args.require("layout"));
  } catch (const cli::HelpRequested&) {
  } catch (const Error&) {
  }
  return 0;
}

const std::vector<NamedTarget>& targets() {
  static const std::vector<NamedTarget> all = {
      {"npy", npy},
      {"shape_spec", shape_spec},
      {"shapes_csv", shapes_csv},
      {"results_csv", results_csv},
      {"bench_options", bench_options},
      {"tconv_args", tconv_args},
  };
  return all;
}

}  // namespace tconv::fuzz
