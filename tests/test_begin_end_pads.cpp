// Begin/end padding (core/problem.hpp): the size formula and validate(), the three references
// against each other and against the full output cropped or extended by hand, which
// implementations refuse and why, shape specs and the results CSV's columns, and `tconv run`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/npy.hpp"
#include "kernels/common/implementation.hpp"
#include "reference/reference.hpp"
#include "test_programs.hpp"
#include "test_util.hpp"

#if defined(TCONV_HAVE_HARNESS)
#include "bench/csv.hpp"
#include "bench/shapes.hpp"
#endif

namespace tconv {
namespace {

Problem base() {
  Problem p;
  p.n = 1, p.c_in = 2, p.h_in = 3, p.w_in = 4, p.c_out = 3, p.k_h = 3, p.k_w = 2;
  p.stride_h = 2, p.stride_w = 3;
  return p;
}

TEST(BeginEndPads, SizeFormulaAndAccessors) {
  Problem p = base();
  // Full output: (3-1)*2 + 2 + 1 = 7 rows, (4-1)*3 + 1 + 1 = 11 columns.
  p.set_pads_h(0, 1);   // SAME_UPPER with kernel 3, stride 2: 6 rows
  p.set_pads_w(2, -3);  // 3 columns past the full output
  EXPECT_EQ(p.h_out(), 6);
  EXPECT_EQ(p.w_out(), 11 - 2 + 3);
  EXPECT_EQ(p.pad_begin_h(), 0);
  EXPECT_EQ(p.pad_end_h(), 1);
  EXPECT_EQ(p.pad_begin_w(), 2);
  EXPECT_EQ(p.pad_end_w(), -3);
  // The fields hold begin and begin - end.
  EXPECT_EQ(p.pad_h, 0);
  EXPECT_EQ(p.out_pad_h, -1);
  EXPECT_EQ(p.pad_w, 2);
  EXPECT_EQ(p.out_pad_w, 5);
  EXPECT_FALSE(p.pytorch_pads());
  EXPECT_EQ(p.validate(), "");
  EXPECT_NE(p.to_string().find("pad=0:1,2:-3 (begin:end)"), std::string::npos) << p.to_string();
  EXPECT_EQ(p.to_string().find("out_pad"), std::string::npos);

  // PyTorch's padding 1, output_padding 1 is begin 1, end 0: the same problem, the same text.
  Problem q = base();
  q.pad_h = 1, q.out_pad_h = 1;
  Problem r = base();
  r.set_pads_h(1, 0);
  EXPECT_TRUE(q.pytorch_pads());
  EXPECT_TRUE(r.pytorch_pads());
  EXPECT_EQ(q.h_out(), r.h_out());
  EXPECT_EQ(q.to_string(), r.to_string());
  EXPECT_NE(q.to_string().find("pad=1,0 out_pad=1,0"), std::string::npos) << q.to_string();
}

TEST(BeginEndPads, ValidateRules) {
  Problem p = base();
  p.set_pads_h(-1, 0);
  EXPECT_NE(p.validate().find("pad_h"), std::string::npos) << p.validate();
  p = base();
  p.set_pads_h(4, 3);  // 7 - 7 = 0 rows
  EXPECT_NE(p.validate().find("begin + end padding too large"), std::string::npos) << p.validate();
  p = base();
  p.set_pads_w(0, 11);
  EXPECT_NE(p.validate().find("w_out"), std::string::npos) << p.validate();
  p = base();
  p.set_pads_w(0, -(int64_t(1) << 25));
  EXPECT_NE(p.validate().find("pad_end_w"), std::string::npos) << p.validate();
  // Legal only as begin/end: out_pad below zero and out_pad >= max(stride, dil).
  p = base();
  p.set_pads_h(0, 3);
  EXPECT_EQ(p.validate(), "");
  p.set_pads_h(0, -5);
  EXPECT_EQ(p.validate(), "");
  // The same fields without the begin/end mark keep PyTorch's rules.
  p.begin_end_pads = false;
  EXPECT_NE(p.validate().find("out_pad_h"), std::string::npos);
}

// An independent statement of the semantics: output o is element o + begin of the full output
// (padding 0, end 0), and outside it only the bias.
TEST(BeginEndPads, ReferencesCropOrExtendTheFullOutput) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 200; ++i) {
    const Problem p = testing::random_begin_end_problem(rng, 5);
    Problem full = p;
    full.set_pads_h(0, 0);
    full.set_pads_w(0, 0);
    ASSERT_EQ(full.validate(), "");
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    const auto b = testing::random_data(rng, p.c_out);
    std::vector<double> yf(size_t(full.y_elems()));
    ref::direct(full, x.data(), w.data(), b.data(), yf.data());
    std::vector<double> expected(size_t(p.y_elems()));
    const int64_t ho = p.h_out(), wo = p.w_out(), hf = full.h_out(), wf = full.w_out();
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t c = 0; c < p.c_out; ++c)
        for (int64_t oy = 0; oy < ho; ++oy)
          for (int64_t ox = 0; ox < wo; ++ox) {
            const int64_t fy = oy + p.pad_begin_h(), fx = ox + p.pad_begin_w();
            const bool inside = fy < hf && fx < wf;
            expected[size_t(((n * p.c_out + c) * ho + oy) * wo + ox)] =
                inside ? yf[size_t(((n * p.c_out + c) * hf + fy) * wf + fx)]
                       : (p.has_bias ? b[size_t(c)] : 0.0);
          }
    using Fn = void (*)(const Problem&, const double*, const double*, const double*, double*);
    const std::pair<const char*, Fn> refs[] = {
        {"direct", ref::direct}, {"matrix", ref::matrix}, {"zero_insert", ref::zero_insert}};
    for (const auto& [name, fn] : refs) {
      std::vector<double> y(size_t(p.y_elems()), std::nan(""));
      fn(p, x.data(), w.data(), b.data(), y.data());
      for (size_t k = 0; k < y.size(); ++k)
        ASSERT_NEAR(y[k], expected[k], 1e-12) << name << " " << p.to_string() << " at " << k;
    }
  }
}

TEST(BeginEndPads, AdjointIdentity) {
  std::mt19937_64 rng(32);
  for (int i = 0; i < 50; ++i) {
    Problem p = testing::random_begin_end_problem(rng, 5);
    p.has_bias = false;
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    const auto yv = testing::random_data(rng, p.y_elems());
    std::vector<double> y(size_t(p.y_elems())), xf(size_t(p.x_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, y.data());
    ref::conv_forward(p, yv.data(), w.data(), xf.data());
    double lhs = 0, rhs = 0;
    for (size_t k = 0; k < y.size(); ++k) lhs += y[k] * yv[k];
    for (size_t k = 0; k < x.size(); ++k) rhs += x[k] * xf[k];
    ASSERT_NEAR(lhs, rhs, 1e-9 * (1 + std::fabs(lhs))) << p.to_string();
  }
}

// Libraries with one padding per axis (cuDNN's legacy backward-data, CUTLASS 2.x) refuse begin/end
// padding outside PyTorch's form, and say so; the cuDNN frontend row takes it as pre/post padding
// while the end stays above -stride; our own kernels take it (tests/test_cpu_run_asymmetric.cpp
// runs them).
TEST(BeginEndPads, WhoRefusesAndWhy) {
  Problem p = base();
  p.set_pads_h(0, 1);
  Problem far_end = base();
  far_end.set_pads_w(0, -3);  // stride_w 3
  Problem torch_form = base();
  torch_form.set_pads_h(1, 0);
  int refused = 0, accepted = 0;
  for (const auto& impl : create_all_implementations()) {
    const std::string name = impl->name();
    // The sm90 rows: 16-bit NHWC with whole 16-byte channel rows (TMA).
    const bool sm90 = name == "phase_sm90" || name == "gemm_shuffle_sm90";
    const Config cfg{impl->backend() == Backend::cpu ? DType::fp64
                     : sm90                          ? DType::fp16
                                                     : DType::fp32,
                     name == "cutlass_dgrad" || sm90 ? Layout::nhwc : Layout::nchw};
    if (sm90) {
      for (Problem* q : {&p, &far_end, &torch_form}) q->c_in = q->c_out = 8;
    } else {
      for (Problem* q : {&p, &far_end, &torch_form}) q->c_in = 2, q->c_out = 3;
    }
    if (name == "gemm_shuffle_sm90") {  // kernel != stride here: refused for that, not the pads
      const Support s = impl->can_implement(p, cfg);
      EXPECT_FALSE(s.ok);
      EXPECT_NE(s.reason.find("kernel != stride"), std::string::npos) << s.reason;
      continue;
    }
    const Support s = impl->can_implement(p, cfg);
    const Support t = impl->can_implement(torch_form, cfg);
    EXPECT_TRUE(t.ok || t.reason.find("begin:end") == std::string::npos)
        << name << ": " << t.reason;
    // The frontend graph rows (autotuned or not) take pre and post padding of their own.
    const bool graph = name == "cudnn_graph" || name == "cudnn_graph_heuristic";
    const bool one_pad = (name.rfind("cudnn_", 0) == 0 && !graph) || name == "cutlass_dgrad";
    if (one_pad) {
      EXPECT_FALSE(s.ok) << name;
      EXPECT_NE(s.reason.find("symmetric padding"), std::string::npos) << name << ": " << s.reason;
      EXPECT_NE(s.reason.find("0:1,0:0"), std::string::npos) << name << ": " << s.reason;
      ++refused;
    } else if (graph) {
      EXPECT_TRUE(s.ok) << name << ": " << s.reason;
      const Support f = impl->can_implement(far_end, cfg);
      EXPECT_FALSE(f.ok);
      EXPECT_NE(f.reason.find("0:0,0:-3"), std::string::npos) << f.reason;
    } else {
      EXPECT_TRUE(s.ok) << name << ": " << s.reason;
      EXPECT_TRUE(impl->can_implement(far_end, cfg).ok) << name;
      ++accepted;
    }
  }
  EXPECT_GE(refused, 7);    // the cuDNN backward-data rows
  EXPECT_GE(accepted, 11);  // the references and our kernels
}

#if defined(TCONV_HAVE_HARNESS)
TEST(BeginEndPads, ShapeSpecs) {
  const Shape s =
      parse_shape_spec("c_in=2,h_in=3,w_in=4,c_out=3,k=3:2,stride=2:3,pad=0:2,pad_end=1:-3", "a");
  EXPECT_EQ(s.problem.pad_begin_h(), 0);
  EXPECT_EQ(s.problem.pad_end_h(), 1);
  EXPECT_EQ(s.problem.pad_begin_w(), 2);
  EXPECT_EQ(s.problem.pad_end_w(), -3);
  const std::string spec = format_shape_spec(s.problem);
  EXPECT_NE(spec.find(",pad=0:2,pad_end=1:-3"), std::string::npos) << spec;
  EXPECT_EQ(spec.find("out_pad"), std::string::npos) << spec;
  const Problem back = parse_shape_spec(spec, "b").problem;
  EXPECT_EQ(back.to_string(), s.problem.to_string());
  // 1-D: one value each, on W.
  const Shape one = parse_shape_spec("c_in=2,l=5,c_out=3,k=3,stride=2,pad=0,pad_end=1", "c");
  EXPECT_EQ(one.problem.h_out(), 1);
  EXPECT_EQ(one.problem.w_out(), 4 * 2 + 3 - 1);
  EXPECT_EQ(one.problem.pad_end_h(), 0);
  EXPECT_THROW(parse_shape_spec("c_in=2,l=5,c_out=3,k=3,pad_end=1:2", "d"), Error);
  EXPECT_THROW(parse_shape_spec("c_in=2,h_in=3,w_in=3,c_out=3,k=3,out_pad=1,pad_end=1", "e"),
               Error);
  EXPECT_THROW(parse_shape_spec("c_in=2,h_in=3,w_in=3,c_out=3,k=3,pad=3,pad_end=2", "f"), Error);
  // PyTorch-form specs are written as before.
  const Shape t =
      parse_shape_spec("c_in=2,h_in=3,w_in=4,c_out=3,k=3,stride=2,pad=1,out_pad=1", "g");
  EXPECT_EQ(format_shape_spec(t.problem).find("pad_end"), std::string::npos);
  EXPECT_NE(format_shape_spec(t.problem).find(",pad=1,out_pad=1"), std::string::npos);
}

TEST(BeginEndPads, CsvColumnsAfterTheOthers) {
  const auto cols = csv_columns();
  const auto& contract = csv_contract_columns();
  ASSERT_TRUE(std::equal(contract.begin(), contract.end(), cols.begin()));
  const auto at = [&](const char* c) {
    return size_t(std::find(cols.begin(), cols.end(), c) - cols.begin());
  };
  for (const char* c : {"pad_begin_h", "pad_begin_w", "pad_end_h", "pad_end_w"}) {
    ASSERT_LT(at(c), cols.size()) << c;
    EXPECT_GT(at(c), at("accuracy")) << c;
  }
  ResultRow r;
  r.suite = "user";
  r.shape = "s";
  r.impl = "x";
  r.status = "not_supported";
  r.problem = base();
  r.problem.set_pads_h(0, 1);
  r.problem.set_pads_w(2, -3);
  RunInfo info;
  const auto f = csv_fields(r, info);
  ASSERT_EQ(f.size(), cols.size());
  EXPECT_EQ(f[at("pad_h")], "0");
  EXPECT_EQ(f[at("out_pad_h")], "-1");
  EXPECT_EQ(f[at("pad_w")], "2");
  EXPECT_EQ(f[at("out_pad_w")], "5");
  EXPECT_EQ(f[at("pad_begin_h")], "0");
  EXPECT_EQ(f[at("pad_end_h")], "1");
  EXPECT_EQ(f[at("pad_begin_w")], "2");
  EXPECT_EQ(f[at("pad_end_w")], "-3");
  EXPECT_EQ(f[at("h_out")], "6");
  // PyTorch's form: end = pad - out_pad.
  r.problem = base();
  r.problem.pad_h = 1, r.problem.out_pad_h = 1;
  const auto g = csv_fields(r, info);
  EXPECT_EQ(g[at("pad_begin_h")], "1");
  EXPECT_EQ(g[at("pad_end_h")], "0");
}
#endif

// tconv run --padding B:E[,B:E]: the same output as ref::direct of the problem.
TEST(BeginEndPads, TconvRunTakesBeginEnd) {
  if (!testing::program_built("tconv")) GTEST_SKIP() << "tconv not built";
  std::mt19937_64 rng(33);
  const std::string d = testing::test_temp_prefix("begin_end");
  const std::string xp = d + "x.npy", wp = d + "w.npy", yp = d + "y.npy";
  for (bool one_d : {false, true}) {
    Problem p = base();
    if (one_d) p.h_in = 1, p.k_h = 1, p.stride_h = 1;
    if (!one_d) p.set_pads_h(0, 1);
    p.set_pads_w(1, -2);
    ASSERT_EQ(p.validate(), "");
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    if (one_d) {
      write_npy(xp, {p.n, p.c_in, p.w_in}, x, true);
      write_npy(wp, {p.c_in, p.c_out, p.k_w}, w, true);
    } else {
      write_npy(xp, {p.n, p.c_in, p.h_in, p.w_in}, x, true);
      write_npy(wp, {p.c_in, p.c_out, p.k_h, p.k_w}, w, true);
    }
    std::vector<double> expected(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, expected.data());
    const std::string opts =
        " --input " + xp + " --weight " + wp + " --output " + yp +
        (one_d ? " --stride 3 --padding 1:-2" : " --stride 2,3 --padding 0:1,1:-2");
    for (const char* impl : {"ref_direct", "ref_matrix", "ref_zero_insert"}) {
      const auto r = testing::run_program("tconv", std::string("run --impl ") + impl + opts, "be");
      ASSERT_EQ(r.code, 0) << r.err;
      const NpyArray y = read_npy(yp);
      EXPECT_EQ(y.shape.size(), one_d ? 3u : 4u);
      ASSERT_EQ(y.data.size(), expected.size());
      for (size_t k = 0; k < expected.size(); ++k)
        ASSERT_NEAR(y.data[k], expected[k], 1e-12) << impl;
    }
    // Begin/end with --output-padding: one line, exit 1.
    const auto bad =
        testing::run_program("tconv", "run --impl ref_direct" + opts + " --output-padding 1", "be");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("--output-padding cannot be given"), std::string::npos) << bad.err;
  }
  const auto bad2 = testing::run_program("tconv",
                                         "run --impl ref_direct --input " + xp + " --weight " + wp +
                                             " --output " + yp + " --padding 1:2:3",
                                         "be");
  EXPECT_EQ(bad2.code, 1);
  EXPECT_NE(bad2.err.find("B:E"), std::string::npos) << bad2.err;
}

// The bench's plan for a begin/end shape (--dry-run, no GPU): the one-padding libraries are
// not_supported with their reason, our kernels runnable, the output size the problem's.
TEST(BeginEndPads, BenchDryRunFollows) {
  if (!testing::program_built("tconv_bench")) GTEST_SKIP() << "tconv_bench not built";
  const auto r = testing::run_program(
      "tconv_bench",
      "--shape c_in=4,h_in=5,w_in=6,c_out=4,k=3,stride=2,pad=0,pad_end=1:0,name=same_upper "
      "--dry-run --format csv",
      "dry");
  ASSERT_EQ(r.code, 0) << r.err;
  int rows = 0;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("user,same_upper,", 0) != 0) continue;
    ++rows;
    const bool library = line.find(",cudnn_algo") != std::string::npos ||
                         line.find(",cudnn_find,") != std::string::npos;
    if (library) {
      EXPECT_NE(line.find(",no,"), std::string::npos) << line;
      EXPECT_NE(line.find("symmetric padding"), std::string::npos) << line;
    }
    for (const char* own : {",gather,", ",scatter,", ",phase_gemm,", ",gemm_col2im,"}) {
      if (line.find(own) != std::string::npos) {
        EXPECT_NE(line.find(",yes,"), std::string::npos) << line;
      }
    }
  }
  EXPECT_GT(rows, 10) << r.out;
  const auto bad = testing::run_program(
      "tconv_bench", "--shape c_in=4,h_in=5,w_in=6,c_out=4,k=3,out_pad=1,pad_end=1 --dry-run", "dry");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("pad_end"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace tconv
