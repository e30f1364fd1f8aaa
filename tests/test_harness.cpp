// CPU tests of the harness's pure logic: suites, shape specs, the CSV contract and quoting,
// tolerances (calibrated on simulated fp32/tf32/fp16/bf16 errors against the fp64 references),
// statistics, host conversions and the seeded inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#if defined(TCONV_HAVE_HARNESS)

#include "bench/convert.hpp"
#include "bench/csv.hpp"
#include "bench/inputs.hpp"
#include "bench/shapes.hpp"
#include "bench/stats.hpp"
#include "bench/tolerance.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

// ---------------------------------------------------------------- suites

TEST(HarnessSuites, EveryShapeValidates) {
  std::set<std::string> suite_names;
  size_t total = 0;
  for (const Suite& s : builtin_suites()) {
    EXPECT_TRUE(suite_names.insert(s.name).second) << "duplicate suite " << s.name;
    EXPECT_FALSE(s.shapes.empty()) << s.name;
    std::set<std::string> names;
    for (const Shape& sh : s.shapes) {
      EXPECT_EQ(sh.suite, s.name);
      EXPECT_TRUE(names.insert(sh.name).second) << "duplicate shape " << s.name << "/" << sh.name;
      EXPECT_EQ(sh.problem.validate(), "") << s.name << "/" << sh.name;
      // Spec round trip: what --list-suites prints is a valid --shape.
      const Shape again = parse_shape_spec(format_shape_spec(sh.problem), "x");
      EXPECT_EQ(again.problem.to_string(), sh.problem.to_string()) << s.name << "/" << sh.name;
    }
    total += s.shapes.size();
  }
  EXPECT_EQ(select_suites({"all"}).size(), total);
  for (const char* name : {"dcgan", "networks", "matrix", "sweep_size", "sweep_stride", "grouped"})
    EXPECT_TRUE(suite_names.count(name)) << name;
}

TEST(HarnessSuites, KnownShapes) {
  auto find = [](const std::string& suite, const std::string& name) {
    for (const Shape& s : select_suites({suite}))
      if (s.name == name) return s.problem;
    ADD_FAILURE() << suite << "/" << name << " missing";
    return Problem{};
  };
  const Problem l2 = find("dcgan", "l2");
  EXPECT_EQ(l2.n, 64);
  EXPECT_EQ(l2.c_in, 512);
  EXPECT_EQ(l2.c_out, 256);
  EXPECT_EQ(l2.h_out(), 8);
  const Problem fsrcnn = find("networks", "fsrcnn_x4");
  EXPECT_EQ(fsrcnn.h_out(), 1080);
  EXPECT_EQ(fsrcnn.w_out(), 1920);
  EXPECT_EQ(find("networks", "fcn32s").h_out(), 544);
  EXPECT_EQ(find("networks", "cyclegan").h_out(), 128);
  EXPECT_EQ(find("grouped", "depthwise128_56x56_k3s2").groups, 128);
  // The explicit-C suite stays small.
  for (const Shape& s : select_suites({"matrix"})) {
    const Problem& p = s.problem;
    const double c = double(p.c_out * p.h_out() * p.w_out()) * double(p.c_in * p.h_in * p.w_in);
    EXPECT_LE(c, 1.0e8) << s.name;
  }
}

TEST(HarnessSuites, SelectionErrorsAndDuplicates) {
  EXPECT_THROW(select_suites({"nope"}), Error);
  try {
    select_suites({"nope"});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dcgan"), std::string::npos) << e.what();
  }
  EXPECT_EQ(select_suites({"dcgan", "dcgan"}).size(), 5u);
  EXPECT_EQ(select_suites({"dcgan", "all"}).size(), select_suites({"all"}).size());
}

// ---------------------------------------------------------------- shape specs

TEST(HarnessShapes, ParsesFullSpec) {
  const Shape s = parse_shape_spec(
      "n=2, c_in=16,h_in=32,w_in=24,c_out=8,k=4:3,stride=2:3,pad=1:0,out_pad=1:2,dil=1:1,"
      "groups=4,bias=1,name=foo",
      "7");
  EXPECT_EQ(s.suite, "user");
  EXPECT_EQ(s.name, "foo");
  const Problem& p = s.problem;
  EXPECT_EQ(p.n, 2);
  EXPECT_EQ(p.c_in, 16);
  EXPECT_EQ(p.h_in, 32);
  EXPECT_EQ(p.w_in, 24);
  EXPECT_EQ(p.c_out, 8);
  EXPECT_EQ(p.k_h, 4);
  EXPECT_EQ(p.k_w, 3);
  EXPECT_EQ(p.stride_h, 2);
  EXPECT_EQ(p.stride_w, 3);
  EXPECT_EQ(p.pad_h, 1);
  EXPECT_EQ(p.pad_w, 0);
  EXPECT_EQ(p.out_pad_h, 1);
  EXPECT_EQ(p.out_pad_w, 2);
  EXPECT_EQ(p.groups, 4);
  EXPECT_TRUE(p.has_bias);
}

TEST(HarnessShapes, Defaults) {
  const Shape s = parse_shape_spec("c_in=3,h_in=5,w_in=6,c_out=2,k=3", "12");
  EXPECT_EQ(s.name, "12");
  const Problem& p = s.problem;
  EXPECT_EQ(p.n, 1);
  EXPECT_EQ(p.stride_h, 1);
  EXPECT_EQ(p.stride_w, 1);
  EXPECT_EQ(p.pad_h, 0);
  EXPECT_EQ(p.out_pad_w, 0);
  EXPECT_EQ(p.dil_h, 1);
  EXPECT_EQ(p.groups, 1);
  EXPECT_FALSE(p.has_bias);
  EXPECT_EQ(p.k_h, 3);
  EXPECT_EQ(p.k_w, 3);
}

TEST(HarnessShapes, RejectsBadSpecs) {
  const char* bad[] = {
      "",                                                        // empty
      "c_in=3,h_in=5,w_in=6,c_out=2",                            // missing k
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,foo=1",                  // unknown key
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,k=4",                    // repeated key
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3x3",                      // not a number
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3:3:3",                    // three values
      "c_in=3,h_in=5,w_in=6,c_out=2,k=",                         // empty value
      "c_in=3,h_in=5,w_in=6,c_out=2,k",                          // no '='
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,bias=2",                 // bias not 0/1
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,name=a/b",               // bad name
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,groups=2",               // c_in % groups
      "c_in=4,h_in=5,w_in=6,c_out=2,k=3,stride=2,out_pad=2",     // out_pad >= stride
      "c_in=4,h_in=2,w_in=6,c_out=2,k=1,pad=3",                  // h_out < 1
      "c_in=0,h_in=5,w_in=6,c_out=2,k=3",                        // c_in < 1
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,pad=-1",                 // negative
      "c_in=3,h_in=5,w_in=6,c_out=2,k=3,stride=0",               // stride 0
  };
  for (const char* spec : bad) {
    EXPECT_THROW(parse_shape_spec(spec, "1"), Error) << spec;
    try {
      parse_shape_spec(spec, "1");
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;  // one line
      EXPECT_NE(what.find("shape '"), std::string::npos) << what;
    }
  }
}

TEST(HarnessShapes, ShapesFile) {
  const std::string text =
      "# user shapes\n"
      "name,n,c_in,h_in,w_in,c_out,k,stride,pad,out_pad,groups,bias\n"
      "a,1,16,8,8,8,4,2,1,,1,1\n"
      "\n"
      ",2,4,5,7,4,3:5,1:2,,,2,\n";
  const auto shapes = parse_shapes_csv(text, "f.csv", 3);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].name, "a");
  EXPECT_TRUE(shapes[0].problem.has_bias);
  EXPECT_EQ(shapes[0].problem.stride_h, 2);
  EXPECT_EQ(shapes[1].name, "4");  // default: index
  EXPECT_EQ(shapes[1].problem.k_w, 5);
  EXPECT_EQ(shapes[1].problem.stride_w, 2);
  EXPECT_EQ(shapes[1].problem.groups, 2);
  EXPECT_FALSE(shapes[1].problem.has_bias);

  EXPECT_THROW(parse_shapes_csv("c_in,h_in,w_in,c_out,k,color\n1,2,2,1,1,red\n", "f.csv"), Error);
  EXPECT_THROW(parse_shapes_csv("c_in,h_in,w_in,c_out,k\n1,2,2,1\n", "f.csv"), Error);
  EXPECT_THROW(parse_shapes_csv("c_in,h_in,w_in,c_out\n1,2,2,1\n", "f.csv"), Error);
  EXPECT_THROW(parse_shapes_csv("# nothing\n", "f.csv"), Error);
  try {
    parse_shapes_csv("c_in,h_in,w_in,c_out,k\n1,2,2,1,1\n3,2,2,1,1,\n", "f.csv");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv:3"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- CSV

// THE contract (docs/results-csv.md), written out here on purpose: a change to the
// writer's columns must show up as a failing test.
const std::vector<std::string> kContract = {
    "suite", "shape", "n", "c_in", "h_in", "w_in", "c_out", "k_h", "k_w", "stride_h", "stride_w",
    "pad_h", "pad_w", "out_pad_h", "out_pad_w", "dil_h", "dil_w", "groups", "h_out", "w_out",
    "dtype", "layout", "impl", "algo", "status", "reason", "time_ms_median", "time_ms_min",
    "time_ms_stddev", "reps", "gflops", "gbps", "work_ratio", "workspace_bytes", "max_abs_err",
    "rel_l2_err", "deterministic", "cache", "gpu", "sm_count", "sm_clock_mhz", "mem_clock_mhz",
    "driver", "cuda", "cublas", "cudnn", "commit", "timestamp"};

TEST(HarnessCsv, ContractColumnsFirstInOrder) {
  const auto cols = csv_columns();
  ASSERT_GE(cols.size(), kContract.size());
  for (size_t i = 0; i < kContract.size(); ++i) EXPECT_EQ(cols[i], kContract[i]) << "column " << i;
  std::set<std::string> unique(cols.begin(), cols.end());
  EXPECT_EQ(unique.size(), cols.size()) << "duplicate column";
  for (const char* extra : {"setup_ms", "flops", "min_bytes", "cusparse", "ceiling_copy_gbps",
                            "ceiling_sgemm_tflops", "ceiling_tf32_tflops", "ceiling_hgemm_tflops"})
    EXPECT_TRUE(unique.count(extra)) << extra;
  CsvWriter w("", RunInfo{});
  EXPECT_EQ(csv_split(w.text().substr(0, w.text().find('\n'))), cols);
}

TEST(HarnessCsv, Quoting) {
  EXPECT_EQ(csv_quote("plain"), "plain");
  EXPECT_EQ(csv_quote(""), "");
  EXPECT_EQ(csv_quote("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_quote("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_quote("two\nlines"), "\"two\nlines\"");
  const std::vector<std::string> fields = {"a", "b,c", "\"q\"", "", "x \"y\", z"};
  const std::string line = csv_line(fields);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(csv_split(line.substr(0, line.size() - 1)), fields);
}

TEST(HarnessCsv, RowsAndAtomicFile) {
  RunInfo info;
  info.gpu = "NVIDIA H100 80GB HBM3";
  info.sm_count = 132;
  info.commit = "abc-dirty";
  info.ceiling_sgemm_tflops = 51.2;
  ResultRow r;
  r.suite = "dcgan";
  r.shape = "l2";
  r.problem = select_suites({"dcgan"})[1].problem;
  r.impl = "phase_gemm";
  r.algo = "tile 128x128, split 1";
  r.status = "passed";
  r.time_ms_median = 0.5;
  r.time_ms_min = 0.4;
  r.time_ms_stddev = 0.01;
  r.reps = 20;
  r.work_ratio = 1;
  r.workspace_bytes = 0;
  r.max_abs_err = 1e-6;
  r.rel_l2_err = 2e-7;
  r.deterministic = "yes";
  r.cache = "cold";
  r.timestamp = "2024-01-01T00:00:00Z";
  ResultRow bad = r;
  bad.status = "not_supported";
  bad.reason = "dtype fp16, \"not\" implemented";
  bad.time_ms_median = bad.time_ms_min = bad.time_ms_stddev = std::nan("");
  bad.reps = 0;

  const std::string path = ::testing::TempDir() + "tconv_harness_test.csv";
  std::remove(path.c_str());
  {
    CsvWriter w(path, info);
    w.set(0, r);
    w.set(2, bad);  // row 1 not set yet: not written
    w.set(1, r);
  }
  std::ifstream f(path);
  ASSERT_TRUE(f.good());
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) rows.push_back(csv_split(line));
  ASSERT_EQ(rows.size(), 4u);
  const auto cols = csv_columns();
  auto col = [&](const std::string& name) {
    return size_t(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  for (const auto& row : rows) EXPECT_EQ(row.size(), cols.size());
  EXPECT_EQ(rows[1][col("algo")], "tile 128x128, split 1");
  EXPECT_EQ(rows[1][col("gpu")], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(rows[1][col("h_out")], "8");
  EXPECT_EQ(rows[1][col("status")], "passed");
  EXPECT_EQ(rows[1][col("reps")], "20");
  // gflops = flops / median: 4.295e9 / 0.5 ms.
  EXPECT_NEAR(std::stod(rows[1][col("gflops")]), r.problem.flops() / 0.5e-3 * 1e-9, 1e-2);
  EXPECT_NEAR(std::stod(rows[1][col("gbps")]), r.problem.min_bytes(4) / 0.5e-3 * 1e-9, 1e-2);
  EXPECT_EQ(rows[1][col("ceiling_sgemm_tflops")], "51.2");
  EXPECT_EQ(rows[1][col("ceiling_copy_gbps")], "");  // not measured
  EXPECT_EQ(rows[3][col("status")], "not_supported");
  EXPECT_EQ(rows[3][col("reason")], "dtype fp16, \"not\" implemented");
  EXPECT_EQ(rows[3][col("time_ms_median")], "");
  EXPECT_EQ(rows[3][col("gflops")], "");
  EXPECT_EQ(rows[3][col("reps")], "");
  std::ifstream tmp(path + ".tmp");
  EXPECT_FALSE(tmp.good()) << "temporary file left behind";
  std::remove(path.c_str());
}

TEST(HarnessCsv, Numbers) {
  EXPECT_EQ(csv_number(std::nan("")), "");
  EXPECT_EQ(csv_number(0.125), "0.125");
  EXPECT_EQ(csv_number(1.0 / 3.0, 3), "0.333");
  EXPECT_EQ(csv_number(2e-7, 3), "2e-07");
  const std::string ts = utc_timestamp();
  ASSERT_EQ(ts.size(), 20u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
}

// ---------------------------------------------------------------- statistics

TEST(HarnessStats, MedianMinStddev) {
  Stats s = compute_stats({3, 1, 2});
  EXPECT_DOUBLE_EQ(s.median, 2);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.stddev, 1);  // sample stddev of 1,2,3
  EXPECT_EQ(s.count, 3);
  s = compute_stats({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_NEAR(s.stddev, std::sqrt(5.0 / 3.0), 1e-12);
  s = compute_stats({7});
  EXPECT_DOUBLE_EQ(s.median, 7);
  EXPECT_DOUBLE_EQ(s.stddev, 0);
  s = compute_stats({});
  EXPECT_EQ(s.count, 0);
  s = compute_stats({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.median, 4.5);
}

// ---------------------------------------------------------------- tolerance

std::vector<double> run_direct(const Problem& p, const std::vector<double>& x,
                               const std::vector<double>& w, const std::vector<double>& b) {
  std::vector<double> y(size_t(p.y_elems()));
  ref::direct(p, x.data(), w.data(), p.has_bias ? b.data() : nullptr, y.data());
  return y;
}

// The scatter definition with float accumulation: what an honest fp32 kernel may produce.
std::vector<double> direct_float_accumulate(const Problem& p, const std::vector<double>& x,
                                            const std::vector<double>& w) {
  std::vector<float> y(size_t(p.y_elems()), 0.0f);
  const int64_t ho = p.h_out(), wo = p.w_out(), cig = p.c_in_per_group(), cog = p.c_out_per_group();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t ci = 0; ci < p.c_in; ++ci)
      for (int64_t iy = 0; iy < p.h_in; ++iy)
        for (int64_t ix = 0; ix < p.w_in; ++ix)
          for (int64_t j = 0; j < cog; ++j)
            for (int64_t ky = 0; ky < p.k_h; ++ky)
              for (int64_t kx = 0; kx < p.k_w; ++kx) {
                const int64_t oy = iy * p.stride_h - p.pad_h + ky * p.dil_h;
                const int64_t ox = ix * p.stride_w - p.pad_w + kx * p.dil_w;
                if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                const int64_t co = (ci / cig) * cog + j;
                y[size_t(((n * p.c_out + co) * ho + oy) * wo + ox)] +=
                    float(x[size_t(((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix)]) *
                    float(w[size_t(((ci * cog + j) * p.k_h + ky) * p.k_w + kx)]);
              }
  return std::vector<double>(y.begin(), y.end());
}

// fp32 -> tf32 rounding (10 explicit mantissa bits, round to nearest even), as a tensor core
// sees its inputs.
double to_tf32(double v) {
  float f = float(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t lsb = (u >> 13) & 1u;
  u = (u + 0x0FFFu + lsb) & ~0x1FFFu;
  std::memcpy(&f, &u, 4);
  return f;
}

Problem big_reduction_problem() {
  Problem p;
  p.n = 2, p.c_in = 256, p.h_in = 6, p.w_in = 5, p.c_out = 8, p.k_h = p.k_w = 4;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
  return p;
}

TEST(HarnessTolerance, ReductionLength) {
  // max_taps_1d equals the most (input, tap) pairs any output receives when the input is large.
  std::mt19937_64 rng(7);
  for (int it = 0; it < 200; ++it) {
    const int64_t k = 1 + int64_t(rng() % 7), s = 1 + int64_t(rng() % 5), d = 1 + int64_t(rng() % 3);
    const int64_t in = 40;
    int64_t best = 0;
    for (int64_t o = 0; o < in * s; ++o) {
      int64_t count = 0;
      for (int64_t i = 0; i < in; ++i)
        for (int64_t t = 0; t < k; ++t) count += (i * s + t * d == o + d * (k - 1));
      best = std::max(best, count);
    }
    EXPECT_EQ(max_taps_1d(k, s, d), best) << "k=" << k << " s=" << s << " d=" << d;
  }
  Problem p = big_reduction_problem();
  EXPECT_EQ(reduction_length(p), 256 * 2 * 2);
  p.groups = 4;
  EXPECT_EQ(reduction_length(p), 64 * 2 * 2);
}

TEST(HarnessTolerance, NonFiniteNeverPasses) {
  const std::vector<double> ref = {1, 2, 3, 4};
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    std::vector<double> y = ref;
    y[2] = bad;
    const ErrorMetrics m = compare(y.data(), ref.data(), y.size());
    EXPECT_EQ(m.nonfinite, 1);
    EXPECT_EQ(m.first_nonfinite, 2);
    for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
      EXPECT_NE(check_tolerance(m, tolerance(t, 16)), "");
  }
}

TEST(HarnessTolerance, ExactPasses) {
  const std::vector<double> ref = {1, -2, 3, 0};
  const ErrorMetrics m = compare(ref.data(), ref.data(), ref.size());
  EXPECT_EQ(m.max_abs_err, 0);
  EXPECT_EQ(m.rel_l2_err, 0);
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp64})
    EXPECT_EQ(check_tolerance(m, tolerance(t, 1)), "");
  // All-zero reference: only an all-zero output passes.
  const std::vector<double> zeros(4, 0.0), small = {0, 1e-30, 0, 0};
  EXPECT_EQ(check_tolerance(compare(zeros.data(), zeros.data(), 4), tolerance(DType::fp32, 1)), "");
  EXPECT_NE(check_tolerance(compare(small.data(), zeros.data(), 4), tolerance(DType::fp32, 1)), "");
}

TEST(HarnessTolerance, OrderingAcrossDtypes) {
  for (int64_t k : {1, 16, 1024, 65536}) {
    EXPECT_LT(tolerance(DType::fp32, k).rel_l2, 2e-4) << k;  // tf32 errors must fail fp32
    EXPECT_LT(tolerance(DType::fp32, k).rel_l2, tolerance(DType::tf32, k).rel_l2);
    EXPECT_LE(tolerance(DType::tf32, k).rel_l2, tolerance(DType::fp16, k).rel_l2);
    EXPECT_LT(tolerance(DType::fp16, k).rel_l2, tolerance(DType::bf16, k).rel_l2);
  }
}

// Simulated implementations on real problems: honest errors of each dtype pass that dtype and
// tf32-sized errors fail fp32.
TEST(HarnessTolerance, CalibratedOnSimulatedErrors) {
  std::mt19937_64 rng(11);
  std::vector<Problem> problems = {big_reduction_problem()};
  for (int i = 0; i < 60; ++i) problems.push_back(testing::random_problem(rng, 6));
  for (const Problem& p : problems) {
    const int64_t K = reduction_length(p);
    HostInputs in = random_inputs(p, 5, DType::fp32);
    const auto ref = run_direct(p, in.x, in.w, in.bias);
    auto check = [&](const std::vector<double>& y, DType t) {
      return check_tolerance(compare(y.data(), ref.data(), y.size()), tolerance(t, K));
    };
    SCOPED_TRACE(p.to_string());
    // fp32: float accumulation (bias added in double; it is exact in the test data's scale).
    auto yf = direct_float_accumulate(p, in.x, in.w);
    if (p.has_bias) {
      const int64_t hw = p.h_out() * p.w_out();
      for (size_t i = 0; i < yf.size(); ++i) yf[i] = float(yf[i] + in.bias[(i / size_t(hw)) % size_t(p.c_out)]);
    }
    EXPECT_EQ(check(yf, DType::fp32), "");
    // tf32: inputs rounded to 10 mantissa bits, exact accumulation, fp32 output.
    auto xt = in.x, wt = in.w;
    for (double& v : xt) v = to_tf32(v);
    for (double& v : wt) v = to_tf32(v);
    auto yt = run_direct(p, xt, wt, in.bias);
    for (double& v : yt) v = float(v);
    EXPECT_EQ(check(yt, DType::tf32), "");
    // Needs enough nonzero outputs for the error to be near its expected size.
    if (std::count_if(ref.begin(), ref.end(), [](double v) { return v != 0; }) >= 16) {
      EXPECT_NE(check(yt, DType::fp32), "") << "tf32-sized error passed fp32, K=" << K;
    }
    // fp16 and bf16: inputs in storage precision (reference on those), output rounded.
    for (DType t : {DType::fp16, DType::bf16}) {
      HostInputs h = random_inputs(p, 5, t);
      const auto r = run_direct(p, h.x, h.w, h.bias);
      auto y = r;
      for (double& v : y) v = convert::round_to(t, v);
      EXPECT_EQ(check_tolerance(compare(y.data(), r.data(), y.size()), tolerance(t, K)), "")
          << to_string(t);
    }
  }
}

TEST(HarnessTolerance, DroppedTapFailsFp32) {
  const Problem p = big_reduction_problem();
  HostInputs in = random_inputs(p, 9, DType::fp32);
  const auto ref = run_direct(p, in.x, in.w, in.bias);
  // One input pixel of one channel not scattered: a handful of outputs off by one product.
  auto x2 = in.x;
  x2[5] = 0;
  const auto y = run_direct(p, x2, in.w, in.bias);
  const ErrorMetrics m = compare(y.data(), ref.data(), y.size());
  EXPECT_NE(check_tolerance(m, tolerance(DType::fp32, reduction_length(p))), "")
      << "rel_l2 " << m.rel_l2_err << " max_abs " << m.max_abs_err;
  // A single wrong output element far beyond rounding also fails through max_abs.
  auto y3 = ref;
  y3[17] += 0.05 * m.max_abs_ref;
  EXPECT_NE(check_tolerance(compare(y3.data(), ref.data(), y3.size()), tolerance(DType::tf32, 1)), "");
}

// ---------------------------------------------------------------- conversions and inputs

TEST(HarnessConvert, LayoutPermutations) {
  const int64_t a = 2, b = 3, c = 4, d = 5;
  std::vector<double> v(size_t(a * b * c * d));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  const auto nhwc = convert::nchw_to_nhwc(v.data(), a, b, c, d);
  // Element (i, j, k, l) of NCHW sits at ((i*c + k)*d + l)*b + j in NHWC.
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k)
        for (int64_t l = 0; l < d; ++l)
          EXPECT_EQ(nhwc[size_t(((i * c + k) * d + l) * b + j)], v[size_t(((i * b + j) * c + k) * d + l)]);
  EXPECT_EQ(convert::nhwc_to_nchw(nhwc.data(), a, b, c, d), v);
}

TEST(HarnessConvert, StorageRounding) {
  EXPECT_EQ(convert::round_to(DType::fp16, 1.0 + std::ldexp(1.0, -11)), 1.0);  // tie to even
  EXPECT_EQ(convert::round_to(DType::fp16, 1.0 + 3 * std::ldexp(1.0, -11)), 1.0 + std::ldexp(1.0, -9));
  EXPECT_EQ(convert::round_to(DType::bf16, 1.0 + std::ldexp(1.0, -9)), 1.0);
  EXPECT_EQ(convert::round_to(DType::bf16, 1.0 + 3 * std::ldexp(1.0, -9)), 1.0 + std::ldexp(1.0, -7));
  EXPECT_EQ(convert::round_to(DType::fp32, 0.1), double(0.1f));
  EXPECT_EQ(convert::round_to(DType::tf32, 0.1), double(0.1f));  // tf32 is stored as fp32
  EXPECT_EQ(convert::round_to(DType::fp16, 70000.0), std::numeric_limits<double>::infinity());
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp64}) {
    std::vector<double> v = random_uniform(1000, 3, 1);
    convert::round_all(t, v);
    const auto bytes = convert::to_storage(t, v.data(), v.size());
    EXPECT_EQ(bytes.size(), v.size() * storage_bytes(t));
    EXPECT_EQ(convert::from_storage(t, bytes.data(), v.size()), v) << to_string(t);
    // The poison pattern (all bytes 0xFF) reads back as NaN in every dtype.
    const std::vector<unsigned char> poison(storage_bytes(t) * 3, 0xFF);
    for (double e : convert::from_storage(t, poison.data(), 3)) EXPECT_TRUE(std::isnan(e)) << to_string(t);
  }
}

TEST(HarnessInputs, SeededUniformNonzero) {
  Problem p = big_reduction_problem();
  p.has_bias = true;
  const HostInputs a = random_inputs(p, 42, DType::fp32), b = random_inputs(p, 42, DType::fp32),
                   c = random_inputs(p, 43, DType::fp32);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_NE(a.x, c.x);
  EXPECT_EQ(a.x.size(), size_t(p.x_elems()));
  EXPECT_EQ(a.w.size(), size_t(p.w_elems()));
  EXPECT_EQ(a.bias.size(), size_t(p.c_out));
  double mean = 0;
  int nonzero = 0;
  for (double v : a.x) {
    EXPECT_GE(v, -1.0);
    EXPECT_LT(v, 1.0);
    mean += v;
    nonzero += v != 0;
  }
  mean /= double(a.x.size());
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_GT(nonzero, int(a.x.size()) - 5);
  for (DType t : {DType::fp16, DType::bf16}) {
    const HostInputs h = random_inputs(p, 42, t);
    for (double v : h.w) EXPECT_EQ(convert::round_to(t, v), v);
  }
  p.has_bias = false;
  EXPECT_TRUE(random_inputs(p, 1, DType::fp32).bias.empty());
}

}  // namespace
}  // namespace tconv

#endif  // TCONV_HAVE_HARNESS
