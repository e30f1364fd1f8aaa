// The tconv binary, run as a user would: output, files, exit codes and one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "core/npy.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "reference/reference.hpp"
#include "test_programs.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

using Result = testing::ProgramRun;
using testing::slurp;

std::string dir() { return testing::test_temp_prefix("cli"); }

Result tconv(const std::string& args) { return testing::run_program("tconv", args, "cli"); }

bool exists(const std::string& path) { return std::ifstream(path).good(); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, ListShowsEveryRegisteredImplementationNameFirst) {
  const Result r = tconv("list");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> names;
  while (std::getline(lines, line)) names.push_back(line.substr(0, line.find('\t')));
  EXPECT_EQ(names, implementation_names());
  for (const char* ref : {"ref_direct", "ref_matrix", "ref_zero_insert"})
    EXPECT_NE(std::find(names.begin(), names.end(), ref), names.end()) << ref;
}

TEST(Cli, ExplainDefaultShowsTheMatrixView) {
  const Result r = tconv("explain");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* part : {"C: row r", "(16x4)", "36 nonzeros of 64", "y = x * C^T, reshaped (4x4)",
                           "(they agree)", "C * C^T (16x16)", "||C * C^T - I||_F =",
                           "kernel flipped up-down and left-right"})
    EXPECT_NE(r.out.find(part), std::string::npos) << "missing: " << part << "\n" << r.out;
  // The worked example's centre value appears in the product.
  EXPECT_NE(r.out.find("   23   33"), std::string::npos) << r.out;
}

TEST(Cli, ExplainDumpsC) {
  const std::string npy = dir() + "c.npy", csv = dir() + "c.csv";
  Result r = tconv("explain --size 5,4 --kernel 3,2 --stride 2 --padding 1 --dump-c " + npy);
  ASSERT_EQ(r.code, 0) << r.err;
  const NpyArray c = read_npy(npy);
  ASSERT_EQ(c.shape.size(), 2u);
  EXPECT_EQ(c.shape[0], 5 * 4);  // rows: the forward conv's input pixels
  int nnz = 0;
  for (double v : c.data) nnz += v != 0.0;
  EXPECT_GT(nnz, 0);
  r = tconv("explain --dump-c " + csv);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count_lines(slurp(csv)), 16);
  r = tconv("explain --dump-c " + dir() + "c.txt");
  EXPECT_NE(r.code, 0);
}

class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(5);
    p.n = 2, p.c_in = 4, p.h_in = 5, p.w_in = 3, p.c_out = 6, p.k_h = 3, p.k_w = 4;
    p.stride_h = 2, p.stride_w = 3, p.pad_h = 1, p.pad_w = 2, p.out_pad_h = 1, p.out_pad_w = 0;
    p.dil_h = 1, p.dil_w = 2, p.groups = 2, p.has_bias = true;
    ASSERT_EQ(p.validate(), "");
    x = testing::random_data(rng, p.x_elems());
    w = testing::random_data(rng, p.w_elems());
    b = testing::random_data(rng, p.c_out);
    write_npy(xp, {p.n, p.c_in, p.h_in, p.w_in}, x, true);
    write_npy(wp, {p.c_in, p.c_out / p.groups, p.k_h, p.k_w}, w, true);
    write_npy(bp, {p.c_out}, b, true);
    std::remove(yp.c_str());
  }
  std::string options() const {
    return " --input " + xp + " --weight " + wp + " --bias " + bp +
           " --stride 2,3 --padding 1,2 --output-padding 1,0 --dilation 1,2 --groups 2 --output " + yp;
  }
  Problem p;
  std::vector<double> x, w, b;
  std::string xp = dir() + "x.npy", wp = dir() + "w.npy", bp = dir() + "b.npy",
              yp = dir() + "y.npy";
};

TEST_F(CliRun, EveryReferenceMatchesOnUserTensors) {
  std::vector<double> expected(size_t(p.y_elems()));
  ref::direct(p, x.data(), w.data(), b.data(), expected.data());
  for (const char* impl : {"ref_direct", "ref_matrix", "ref_zero_insert"}) {
    std::remove(yp.c_str());
    const Result r = tconv(std::string("run --impl ") + impl + options());
    ASSERT_EQ(r.code, 0) << impl << ": " << r.err;
    const NpyArray y = read_npy(yp);
    EXPECT_TRUE(y.is_float64);  // written in the input's dtype
    EXPECT_EQ(y.shape, (std::vector<int64_t>{p.n, p.c_out, p.h_out(), p.w_out()}));
    ASSERT_EQ(y.data.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(y.data[i], expected[i], 1e-12) << impl;
  }
}

TEST_F(CliRun, Float32InFloat32Out) {
  write_npy(xp, {p.n, p.c_in, p.h_in, p.w_in}, x, false);
  const Result r = tconv("run --impl ref_direct" + options());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(read_npy(yp).is_float64);
}

// Every kind of bad input: one line on stderr, non-zero exit, no output file.
TEST_F(CliRun, BadInputGivesOneLineAndNoOutput) {
  const std::string bad = dir() + "bad.npy";
  std::ofstream(bad) << "not an npy file";
  const std::string wrong_c = dir() + "wrong_c.npy";
  write_npy(wrong_c, {3, 3, 3, 4}, std::vector<double>(108, 1.0), false);
  const std::string three_d = dir() + "three_d.npy";
  write_npy(three_d, {4, 5, 3}, std::vector<double>(60, 1.0), false);
  const std::string short_bias = dir() + "short_bias.npy";
  write_npy(short_bias, {5}, std::vector<double>(5, 1.0), false);
  const std::string base = " --weight " + wp + " --groups 2 --output " + yp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing file", "run --impl ref_direct --input " + dir() + "nope.npy" + base},
      {"malformed file", "run --impl ref_direct --input " + bad + base},
      {"3-D input", "run --impl ref_direct --input " + three_d + base},
      {"channel mismatch", "run --impl ref_direct --input " + xp + " --weight " + wrong_c + " --output " + yp},
      {"bias length", "run --impl ref_direct --input " + xp + base + " --bias " + short_bias},
      {"groups do not divide", "run --impl ref_direct --input " + xp + " --weight " + wp + " --groups 3 --output " + yp},
      {"output padding too large", "run --impl ref_direct --input " + xp + base + " --output-padding 1"},
      {"padding too large", "run --impl ref_direct --input " + xp + base + " --padding 9"},
      {"unknown implementation", "run --impl no_such_impl --input " + xp + base},
      {"unknown option", "run --impl ref_direct --input " + xp + base + " --frobnicate 3"},
      {"not an integer", "run --impl ref_direct --input " + xp + base + " --stride two"},
      {"missing output", "run --impl ref_direct --input " + xp + " --weight " + wp + " --groups 2"},
      {"bad dtype", "run --impl ref_direct --input " + xp + base + " --dtype fp8"},
      {"unknown command", "frobnicate"},
  };
  for (const auto& [what, args] : cases) {
    std::remove(yp.c_str());
    const Result r = tconv(args);
    EXPECT_NE(r.code, 0) << what;
    EXPECT_EQ(count_lines(r.err), 1) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("tconv: error: ", 0), 0u) << what << ": " << r.err;
    EXPECT_FALSE(exists(yp)) << what << " wrote an output file";
  }
}

TEST_F(CliRun, GpuImplementationWithoutGpuIsOneLineError) {
  if (gpu_available()) GTEST_SKIP() << "a GPU is present: the no-GPU error path is not reachable";
  const Result r = tconv("run --impl gather" + options());
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no CUDA device"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(yp));
}

}  // namespace
}  // namespace tconv
