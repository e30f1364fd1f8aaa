// How the suite survives a first GPU run: no driver vs a broken driver, broken cuDNN installs,
// a device fault in one row, the one accuracy policy, --resume, --dry-run, the cuDNN search's
// headroom, the threaded CPU reference and the timer that keeps host enqueue time out. All on
// the CPU except the Gpu* tests, which report skipped without a device.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include "bench/csv.hpp"
#include "bench/harness.hpp"
#include "bench/shapes.hpp"
#include "bench/tolerance.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/gpu_timer.hpp"
#include "kernels/cudnn/cudnn_common.hpp"
#include "reference/reference.hpp"
#include "test_programs.hpp"

namespace tconv {
namespace {

// The GPU test log (gpu_check.sh's tests.log) starts with the library files and versions the
// test binary actually loaded.
class PrintLibraries : public ::testing::Environment {
 public:
  void SetUp() override {
    std::printf("tconv_tests: GPU libraries loaded:\n%s", describe_libraries().c_str());
  }
};
[[maybe_unused]] ::testing::Environment* const kPrintLibraries =
    ::testing::AddGlobalTestEnvironment(new PrintLibraries);

// ---- no driver vs broken driver (gpu_context) ----------------------------------------------

TEST(DriverProbe, NoDriverIsAbsentEvenWhenTheRuntimeSaysInsufficientDriver) {
  // What this CI machine sees: no libcuda at all, and the runtime answers "insufficient driver".
  const GpuProbe g = classify_gpu_probe(DriverInfo{false, 0}, 13000, cudaErrorInsufficientDriver, 0);
  EXPECT_EQ(g.state, GpuState::absent);
  EXPECT_NE(g.why.find("no NVIDIA driver installed"), std::string::npos) << g.why;
}

TEST(DriverProbe, DriverOlderThanRuntimeIsBrokenAndNamesBothVersions) {
  const GpuProbe g = classify_gpu_probe(DriverInfo{true, 12040}, 13000, cudaErrorInsufficientDriver, 0);
  EXPECT_EQ(g.state, GpuState::broken);
  EXPECT_NE(g.why.find("older than"), std::string::npos) << g.why;
  EXPECT_NE(g.why.find("12.4"), std::string::npos) << g.why;
  EXPECT_NE(g.why.find("13.0"), std::string::npos) << g.why;
}

TEST(DriverProbe, NoDeviceIsAbsentOtherErrorsAreBroken) {
  EXPECT_EQ(classify_gpu_probe(DriverInfo{true, 13000}, 13000, cudaErrorNoDevice, 0).state,
            GpuState::absent);
  EXPECT_EQ(classify_gpu_probe(DriverInfo{true, 13000}, 13000, cudaSuccess, 0).state,
            GpuState::absent);
  const GpuProbe other = classify_gpu_probe(DriverInfo{true, 13000}, 13000, cudaErrorUnknown, 0);
  EXPECT_EQ(other.state, GpuState::broken);
  EXPECT_NE(other.why.find("cudaErrorUnknown"), std::string::npos) << other.why;
  EXPECT_EQ(classify_gpu_probe(DriverInfo{true, 13000}, 13000, cudaSuccess, 1).state,
            GpuState::available);
}

TEST(DriverProbe, ThisMachineAnswersWithoutThrowingWhenItHasNoDriver) {
  const GpuProbe g = probe_gpu();
  if (g.state == GpuState::available) GTEST_SKIP() << "a GPU is present";
  if (g.state == GpuState::broken) FAIL() << "GPU stack broken here: " << g.why;
  std::string why;
  EXPECT_FALSE(gpu_available(&why));
  EXPECT_EQ(why, g.why);
}

TEST(LoadedLibraries, NameAFileAndAVersionForEachGpuLibrary) {
  const auto libs = loaded_libraries();
  ASSERT_EQ(libs.size(), 5u);
  for (const auto& l : libs) {
    EXPECT_FALSE(l.version.empty()) << l.name;
    EXPECT_FALSE(l.file.empty()) << l.name;
  }
  // cuBLAS, cuSPARSE and cuDNN are shared libraries: their files are named after them.
  EXPECT_NE(libs[1].file.find("libcublas"), std::string::npos) << libs[1].file;
  EXPECT_NE(libs[2].file.find("libcusparse"), std::string::npos) << libs[2].file;
  EXPECT_NE(libs[3].file.find("libcudnn"), std::string::npos) << libs[3].file;
}

// ---- broken cuDNN installs stop the run --------------------------------------------------

TEST(CudnnFatal, InstallationStatusesAreFatalConfigurationOnesAreNot) {
  for (cudnnStatus_t s :
       {CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART,
        CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING,
        CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE, CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH,
        CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED})
    EXPECT_TRUE(cudnn_status_is_fatal(s)) << cudnnGetErrorString(s);
  for (cudnnStatus_t s : {CUDNN_STATUS_SUCCESS, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_STATUS_NOT_SUPPORTED_SHAPE,
                          CUDNN_STATUS_BAD_PARAM, CUDNN_STATUS_INTERNAL_ERROR,
                          CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT})
    EXPECT_FALSE(cudnn_status_is_fatal(s)) << cudnnGetErrorString(s);
}

cudnnStatus_t returns(cudnnStatus_t s) { return s; }

TEST(CudnnFatal, EveryPathFromAStatusToARowStopsOnAFatalOne) {
  const cudnnStatus_t fatal = CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART;
  EXPECT_THROW(TCONV_CUDNN_CHECK(returns(fatal)), FatalError);
  EXPECT_THROW(dnn::is_refusal(fatal), FatalError);
  EXPECT_THROW(dnn::describe_status(fatal), FatalError);
  EXPECT_THROW(dnn::throw_status(fatal, "x"), FatalError);
  // A configuration refusal stays a refusal, an ordinary failure an ordinary error.
  EXPECT_THROW(dnn::throw_status(CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "x"), NotSupported);
  try {
    TCONV_CUDNN_CHECK(returns(CUDNN_STATUS_BAD_PARAM));
    FAIL() << "no throw";
  } catch (const FatalError&) {
    FAIL() << "BAD_PARAM is not an installation problem";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("returns(CUDNN_STATUS_BAD_PARAM)"), std::string::npos);
  }
  try {
    TCONV_CUDNN_CHECK(returns(fatal));
  } catch (const FatalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("installation"), std::string::npos) << what;
    EXPECT_NE(what.find("test_failures.cpp"), std::string::npos) << what;
  }
}

// ---- one fault loses nothing --------------------------------------------------------------

TEST(RowFailure, AStickyFaultFailsItsRowAndSaysHowToResume) {
  const RowFailure lost = classify_row_failure("CUDA call x failed: cudaErrorIllegalAddress", true);
  EXPECT_EQ(lost.status, "failed");
  EXPECT_NE(lost.reason.find("cudaErrorIllegalAddress"), std::string::npos);
  EXPECT_NE(lost.reason.find("--resume"), std::string::npos);
  const RowFailure other = classify_row_failure("cuBLAS call y failed", false);
  EXPECT_EQ(other.status, "skipped");
  EXPECT_EQ(other.reason, "error: cuBLAS call y failed");
}

ResultRow sample_row(const std::string& impl, const std::string& status) {
  ResultRow r;
  r.suite = "smoke";
  r.shape = "stride2";
  r.problem.n = 1, r.problem.c_in = 4, r.problem.c_out = 2, r.problem.h_in = r.problem.w_in = 3;
  r.problem.k_h = r.problem.k_w = 3;
  r.impl = impl;
  r.status = status;
  r.reason = status == "passed" ? "" : "error: something, with a comma";
  r.time_ms_median = status == "passed" ? 0.5 : std::numeric_limits<double>::quiet_NaN();
  return r;
}

TEST(Resume, KeepsTheEarlierRowsVerbatimAndReportsTheirKeys) {
  CsvWriter first("", RunInfo{});
  first.set(0, sample_row("gather", "passed"));
  first.set(1, sample_row("scatter", "failed"));
  const std::string earlier = first.text();

  CsvWriter second("", RunInfo{});
  const std::set<std::string> done = second.resume_from(earlier, "bench.csv");
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(done.count(row_key("smoke", "stride2", "fp32", "nchw", "gather")));
  EXPECT_TRUE(done.count(row_key("smoke", "stride2", "fp32", "nchw", "scatter")));
  EXPECT_FALSE(done.count(row_key("smoke", "stride2", "fp32", "nchw", "phase_gemm")));
  second.set(0, sample_row("phase_gemm", "passed"));
  const std::string now = second.text();
  // The earlier file is a prefix: nothing of it changed, the new row follows.
  EXPECT_EQ(now.substr(0, earlier.size()), earlier);
  EXPECT_NE(now.find("phase_gemm", earlier.size()), std::string::npos);
}

TEST(Resume, RefusesAnotherSchemaOrABrokenLine) {
  CsvWriter w("", RunInfo{});
  EXPECT_THROW(w.resume_from("suite,shape\nsmoke,x\n", "old.csv"), Error);
  EXPECT_THROW(w.resume_from("", "empty.csv"), Error);
  CsvWriter first("", RunInfo{});
  first.set(0, sample_row("gather", "passed"));
  std::string text = first.text();
  text += "smoke,truncated,row\n";
  CsvWriter third("", RunInfo{});
  try {
    third.resume_from(text, "cut.csv");
    FAIL() << "a truncated line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.csv line 3"), std::string::npos) << e.what();
  }
}

// ---- the one accuracy policy -------------------------------------------------------------

ErrorMetrics metrics(double rel_l2, double max_abs, double max_ref = 1.0) {
  ErrorMetrics m;
  m.rel_l2_err = rel_l2;
  m.max_abs_err = max_abs;
  m.max_abs_ref = max_ref;
  return m;
}

TEST(Accuracy, FullReducedOrIncorrectWithTheBoundsSaid) {
  const Tolerance tol = tolerance(DType::fp32, 64);
  const AccuracyVerdict full = judge_accuracy(metrics(tol.rel_l2 / 2, 0), tol);
  EXPECT_EQ(full.status, "passed");
  EXPECT_EQ(full.accuracy, "full");
  EXPECT_EQ(full.reason, "");
  const AccuracyVerdict reduced = judge_accuracy(metrics(tol.rel_l2 * 3, 0), tol);
  EXPECT_EQ(reduced.status, "passed");
  EXPECT_EQ(reduced.accuracy, "reduced");
  EXPECT_NE(reduced.reason.find("reduced accuracy"), std::string::npos) << reduced.reason;
  const AccuracyVerdict wrong = judge_accuracy(metrics(tol.rel_l2 * kReducedPrecisionFactor * 1.5, 0), tol);
  EXPECT_EQ(wrong.status, "incorrect");
  EXPECT_EQ(wrong.accuracy, "");
  // A few wrong pixels that the L2 norm averages away are caught pointwise at both levels.
  const AccuracyVerdict spike =
      judge_accuracy(metrics(tol.rel_l2 / 2, tol.max_abs_rel * kReducedPrecisionFactor * 2), tol);
  EXPECT_EQ(spike.status, "incorrect");
  ErrorMetrics nan = metrics(std::numeric_limits<double>::quiet_NaN(), 0);
  nan.nonfinite = 3;
  EXPECT_EQ(judge_accuracy(nan, tol).status, "incorrect");
}

TEST(Accuracy, TheCsvHasItsOwnColumn) {
  const auto cols = csv_columns();
  ASSERT_NE(std::find(cols.begin(), cols.end(), "accuracy"), cols.end());
  ResultRow r = sample_row("cudnn_fft", "passed");
  r.accuracy = "reduced";
  const auto fields = csv_fields(r, RunInfo{});
  ASSERT_EQ(fields.size(), cols.size());
  EXPECT_EQ(fields[size_t(std::find(cols.begin(), cols.end(), "accuracy") - cols.begin())], "reduced");
}

// ---- cudnnFind leaves cuDNN room ----------------------------------------------------------

TEST(CudnnSearch, WorkspaceLeavesHeadroomForCudnnItself) {
  const size_t gib = size_t(1) << 30;
  // A 141 GB card with 100 GiB free and a 90 GiB budget: 5% of the card stays free.
  const size_t total = size_t(141) * 1000 * 1000 * 1000;
  EXPECT_EQ(dnn::search_workspace_cap(90 * gib, 100 * gib, total), 90 * gib);
  EXPECT_EQ(dnn::search_workspace_cap(200 * gib, 100 * gib, total), 100 * gib - total / 20);
  // A small card: at least 1 GiB stays free; nothing left means no workspace, not a wrap-around.
  EXPECT_EQ(dnn::search_workspace_cap(8 * gib, 4 * gib, 8 * gib), 3 * gib);
  EXPECT_EQ(dnn::search_workspace_cap(8 * gib, gib / 2, 8 * gib), 0u);
}

// ---- the fp64 CPU reference uses every core, with the same bits ---------------------------

TEST(ReferenceThreads, LargeProblemsUseSeveralThreadsAndGiveTheSameBits) {
  Problem p;
  p.n = 2, p.c_in = 32, p.c_out = 24, p.h_in = 24, p.w_in = 20, p.k_h = p.k_w = 5;
  p.stride_h = 2, p.stride_w = 3, p.pad_h = 1, p.pad_w = 2, p.groups = 2, p.has_bias = true;
  ASSERT_EQ(p.validate(), "");
  ASSERT_GT(p.flops(), 1e7);
  if (std::thread::hardware_concurrency() > 1) {
    EXPECT_GT(ref::reference_threads(p), 1);
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(size_t(p.x_elems())), w(size_t(p.w_elems())), b(size_t(p.c_out));
  for (auto* v : {&x, &w, &b})
    for (auto& e : *v) e = u(rng);
  std::vector<double> y1(size_t(p.y_elems())), y2(size_t(p.y_elems())), yz(size_t(p.y_elems()));
  ref::direct(p, x.data(), w.data(), b.data(), y1.data());
  ref::direct(p, x.data(), w.data(), b.data(), y2.data());
  EXPECT_EQ(y1, y2);  // bit for bit, whatever thread took which plane
  ref::zero_insert(p, x.data(), w.data(), b.data(), yz.data());
  double worst = 0;
  for (size_t i = 0; i < y1.size(); ++i) worst = std::max(worst, std::abs(y1[i] - yz[i]));
  EXPECT_LT(worst, 1e-11);
}

// ---- the smoke suite covers every feature --------------------------------------------------

TEST(SmokeSuite, OneTinyShapePerFeature) {
  const auto shapes = select_suites({"smoke"});
  ASSERT_GE(shapes.size(), 10u);
  bool s1 = false, s2 = false, s4 = false, k_not_mult = false, dil = false, groups = false,
       depthwise = false, out_pad = false, bias = false, odd = false, one_by_one = false;
  for (const Shape& s : shapes) {
    const Problem& p = s.problem;
    EXPECT_EQ(p.validate(), "") << s.name;
    EXPECT_LT(p.flops(), 2e7) << s.name << ": smoke shapes stay tiny";
    s1 |= p.stride_h == 1;
    s2 |= p.stride_h == 2;
    s4 |= p.stride_h == 4;
    k_not_mult |= p.k_h % p.stride_h != 0;
    dil |= p.dil_h > 1;
    groups |= p.groups > 1 && p.groups < p.c_in;
    depthwise |= p.groups == p.c_in && p.groups > 1;
    out_pad |= p.out_pad_h > 0;
    bias |= p.has_bias;
    odd |= p.h_in % 2 == 1 && p.w_in % 2 == 1 && p.c_in % 2 == 1 && p.h_in != p.w_in;
    one_by_one |= p.h_in == 1 && p.w_in == 1;
  }
  EXPECT_TRUE(s1 && s2 && s4 && k_not_mult && dil && groups && depthwise && out_pad && bias && odd &&
              one_by_one);
}

// ---- tconv_bench without a GPU: --dry-run, --env, the exit codes ---------------------------

using BenchRun = testing::ProgramRun;

std::string tmp(const std::string& what) { return testing::test_temp_prefix("failures") + what; }

BenchRun bench(const std::string& args) { return testing::run_program("tconv_bench", args, "failures"); }

bool have_bench() { return testing::program_built("tconv_bench"); }

TEST(BenchDryRun, EveryBuiltInSuitePlansWithoutAGpu) {
  if (!have_bench()) GTEST_SKIP() << "tconv_bench not built (no Google Benchmark)";
  for (const Suite& s : builtin_suites()) {
    const BenchRun r = bench("--dry-run --suite " + s.name + " --dtype all --layout all");
    ASSERT_EQ(r.code, 0) << s.name << ": " << r.err;
    const std::string total = r.out.substr(r.out.rfind("total: "));
    const size_t rows = s.shapes.size() * 4 * 2 * (implementation_names().size() - 3);
    EXPECT_EQ(total.rfind("total: " + std::to_string(rows) + " rows", 0), 0u) << total;
    EXPECT_NE(r.out.find(s.shapes.front().name), std::string::npos);
  }
}

TEST(BenchDryRun, CsvFormatSaysCanImplementAndTheKnownMemory) {
  if (!have_bench()) GTEST_SKIP() << "tconv_bench not built";
  const BenchRun r = bench("--dry-run --format csv --suite matrix --impl explicit_gemm --impl scatter "
                      "--dtype fp16");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "suite,shape,dtype,layout,impl,can_implement,reason,gflop,min_bytes,"
                  "operand_bytes,extra_bytes");
  int rows = 0, scatter_refused = 0, gemm_known = 0;
  while (std::getline(in, line)) {
    const auto f = csv_split(line);
    ASSERT_EQ(f.size(), 11u) << line;
    ++rows;
    if (f[4] == "scatter" && f[5] == "no" && f[6].find("fp32") != std::string::npos) ++scatter_refused;
    if (f[4] == "explicit_gemm" && f[5] == "yes" && !f[10].empty() && std::stod(f[10]) > 0) ++gemm_known;
  }
  EXPECT_EQ(rows, int(2 * select_suites({"matrix"}).size()));
  EXPECT_EQ(scatter_refused, rows / 2);  // scatter is fp32 only: every fp16 row refused
  EXPECT_EQ(gemm_known, rows / 2);       // the explicit C's size is known before running
  EXPECT_NE(r.err.find("total: "), std::string::npos);
}

TEST(BenchDryRun, AShapesFileWithNoShapeIsAnError) {
  if (!have_bench()) GTEST_SKIP() << "tconv_bench not built";
  const std::string path = tmp("empty.csv");
  std::ofstream(path) << "c_in,h_in,w_in,c_out,k\n";
  const BenchRun r = bench("--dry-run --shapes-file " + path);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no shape"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(BenchNoGpu, ExitsTwoWithOneLineAndEnvStillPrintsTheLibraries) {
  if (!have_bench()) GTEST_SKIP() << "tconv_bench not built";
  if (probe_gpu().state != GpuState::absent) GTEST_SKIP() << "this machine has a GPU";
  const BenchRun r = bench("--suite smoke --csv " + tmp("none.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("no CUDA device"), std::string::npos) << r.err;
  EXPECT_FALSE(std::ifstream(tmp("none.csv")).good()) << "no CSV without a GPU";
  const BenchRun env = bench("--env");
  EXPECT_EQ(env.code, 2);
  for (const char* lib : {"cublas", "cusparse", "cudnn", "libcublas", "libcudnn"})
    EXPECT_NE(env.out.find(lib), std::string::npos) << lib << "\n" << env.out;
}

// ---- the timer keeps host enqueue time out (GPU) --------------------------------------------


TEST(GpuTimerTest, HostTimeBetweenEnqueuesIsNotCounted) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  Context ctx;
  GpuTimer timer(ctx.stream());
  DeviceBuffer buf(1 << 20);
  const double ms = timer.time_ms([&] {
    TCONV_CUDA_CHECK(cudaMemsetAsync(buf.get(), 0, buf.bytes(), ctx.stream()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // host work between enqueues
    TCONV_CUDA_CHECK(cudaMemsetAsync(buf.get(), 1, buf.bytes(), ctx.stream()));
  });
  EXPECT_LT(ms, 10.0) << "the 50 ms of host time leaked into the GPU time";
  EXPECT_GE(ms, 0.0);
}

TEST(GpuTimerTest, WorkThatSynchronizesEndsInAnErrorNotAHang) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  Context ctx;
  GpuTimer timer(ctx.stream(), 0.2);
  EXPECT_THROW(timer.time_ms([&] { cudaStreamSynchronize(ctx.stream()); }), Error);
  // The timer is usable again afterwards.
  EXPECT_GE(timer.time_ms([] {}), 0.0);
}

}  // namespace
}  // namespace tconv
