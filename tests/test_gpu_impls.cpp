// GPU tests through the harness's own verification path (verify_row), so that what the tests
// accept is exactly what tconv_bench reports as passed:
//   GpuReference  reference_gpu_fp64 against the CPU ref::direct, to 1e-12.
//   GpuHarness    DeviceOperands round trips and the harness's verdicts on fake implementations
//                 (correct, unwritten, wrong, nondeterministic, skipping, failing).
//   GpuAll/GpuImpls  every registered GPU implementation, in every dtype and layout it claims,
//                 on 25 small problems covering groups, depthwise, dilation, output_padding,
//                 bias, asymmetric h/w, stride > k and k not divisible by stride.
// Without a CUDA device every test here is skipped (never passed).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <sstream>

#if defined(TCONV_HAVE_HARNESS)

#include "bench/convert.hpp"
#include "bench/harness.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/ref/reference_gpu.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

#define TCONV_REQUIRE_GPU()                          \
  do {                                               \
    std::string why_;                                \
    if (!gpu_available(&why_)) GTEST_SKIP() << why_; \
  } while (0)

// One context for the whole binary: handles are expensive to create.
Context& shared_context() {
  static std::unique_ptr<Context> ctx = std::make_unique<Context>();
  return *ctx;
}

Problem make(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t s,
             int64_t pad, int64_t op = 0, int64_t dil = 1, int64_t groups = 1, bool bias = false) {
  Problem p;
  p.n = n, p.c_in = c_in, p.h_in = h, p.w_in = w, p.c_out = c_out;
  p.k_h = p.k_w = k, p.stride_h = p.stride_w = s, p.pad_h = p.pad_w = pad;
  p.out_pad_h = p.out_pad_w = op, p.dil_h = p.dil_w = dil, p.groups = groups, p.has_bias = bias;
  return p;
}

// The 25 problems of the implementation tests: hand-picked coverage, then random ones.
std::vector<Problem> test_problems() {
  std::vector<Problem> ps = {
      make(2, 32, 10, 9, 32, 3, 2, 1, 1, 1, 32, true),  // depthwise, output_padding, bias
      make(2, 24, 9, 7, 12, 4, 2, 1, 0, 1, 3),          // grouped
      make(1, 8, 8, 8, 6, 3, 1, 2, 0, 2),               // dilation
      make(2, 6, 7, 5, 4, 3, 2, 1, 1, 2),               // dilation and stride, output_padding
      make(2, 5, 6, 6, 7, 2, 3, 0, 2),                  // stride > k
      make(1, 4, 9, 9, 4, 5, 2, 2, 1, 1, 1, true),      // k not divisible by stride
      make(4, 16, 1, 1, 8, 4, 1, 0),                    // 1x1 input (DCGAN l1 style)
      make(2, 64, 16, 12, 48, 4, 2, 1, 0, 1, 1, true),  // several tiles
      make(2, 64, 12, 12, 64, 3, 2, 1, 1, 1, 8),        // grouped, several tiles
      make(1, 32, 20, 20, 32, 4, 2, 1, 0, 1, 32),       // depthwise, larger
      make(2, 16, 7, 7, 16, 1, 1, 0),                   // pointwise
      make(1, 4, 4, 4, 4, 8, 4, 2),                     // large kernel and stride
      make(1, 128, 6, 6, 64, 3, 2, 1, 1),               // long reduction
  };
  Problem asym = make(2, 3, 5, 11, 5, 3, 1, 0);
  asym.k_w = 5, asym.stride_w = 2, asym.pad_w = 2, asym.dil_w = 2, asym.out_pad_w = 1;
  asym.has_bias = true;
  ps.push_back(asym);
  std::mt19937_64 rng(2024);
  while (ps.size() < 25) ps.push_back(testing::random_problem(rng, 9));
  for (const Problem& p : ps) EXPECT_EQ(p.validate(), "") << p.to_string();
  return ps;
}

// ---------------------------------------------------------------- reference

TEST(GpuReference, MatchesCpuDirect) {
  TCONV_REQUIRE_GPU();
  Context& ctx = shared_context();
  std::mt19937_64 rng(99);
  for (int i = 0; i < 20; ++i) {
    const Problem p = i < 5 ? test_problems()[size_t(i)] : testing::random_problem(rng, 8);
    SCOPED_TRACE(p.to_string());
    const HostInputs in = random_inputs(p, uint64_t(i) + 1, DType::fp64);
    const double* bias = p.has_bias ? in.bias.data() : nullptr;
    std::vector<double> ref(size_t(p.y_elems()));
    ref::direct(p, in.x.data(), in.w.data(), bias, ref.data());
    DeviceOperands ops(p, Config{DType::fp64, Layout::nchw});
    ops.upload(in.x.data(), in.w.data(), bias);
    ops.poison_y(ctx.stream());
    const Tensors t = ops.tensors();
    reference_gpu_fp64(ctx, p, static_cast<const double*>(t.x), static_cast<const double*>(t.w),
                       static_cast<const double*>(t.bias), static_cast<double*>(t.y));
    ctx.synchronize();
    const std::vector<double> y = ops.download_y();
    const ErrorMetrics m = compare(y.data(), ref.data(), y.size());
    EXPECT_EQ(m.nonfinite, 0);
    EXPECT_LE(m.rel_l2_err, 1e-12);
    EXPECT_LE(m.max_abs_err, 1e-12 * std::max(1.0, m.max_abs_ref));
  }
}

// ---------------------------------------------------------------- harness

TEST(GpuHarness, OperandsRoundTripInEveryDtypeAndLayout) {
  TCONV_REQUIRE_GPU();
  Context& ctx = shared_context();
  // Depthwise 1x1, stride 1: y has x's shape in both layouts, so copying x into y on the
  // device and downloading y must give back x as uploaded (rounded to the dtype).
  const Problem p = make(2, 6, 5, 7, 6, 1, 1, 0, 0, 1, 6, true);
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp64})
    for (Layout l : {Layout::nchw, Layout::nhwc}) {
      SCOPED_TRACE(std::string(to_string(t)) + " " + to_string(l));
      const HostInputs in = random_inputs(p, 3, t);
      DeviceOperands ops(p, Config{t, l});
      EXPECT_EQ(ops.bytes(), DeviceOperands::bytes_needed(p, Config{t, l}));
      ops.upload(in.x.data(), in.w.data(), in.bias.data());
      ops.poison_y(ctx.stream());
      for (double v : ops.download_y()) ASSERT_TRUE(std::isnan(v));
      const Tensors d = ops.tensors();
      ASSERT_NE(d.bias, nullptr);
      TCONV_CUDA_CHECK(
          cudaMemcpy(d.y, d.x, size_t(p.x_elems()) * storage_bytes(t), cudaMemcpyDeviceToDevice));
      EXPECT_EQ(ops.download_y(), in.x);
    }
}

// Fake implementations: fp64 NCHW, the GPU reference inside, with a twist each.
enum class Fake { correct, no_write, zeros, nondeterministic, skip, not_supported, error, refuse };

class FakeImpl : public Implementation {
 public:
  explicit FakeImpl(Fake kind) : kind_(kind) {}
  std::string name() const override { return "fake"; }
  std::string summary() const override { return "test double"; }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (kind_ == Fake::refuse) return Support::no("refused by the fake");
    if (cfg.dtype != DType::fp64 || cfg.layout != Layout::nchw)
      return Support::no("fp64 nchw only");
    return Support::yes();
  }
  Plans plans(Context&, const Problem&, const Config&, const Tensors&) override {
    if (kind_ == Fake::skip) return Plans::none(Status::skipped("over the fake budget"));
    if (kind_ == Fake::not_supported) throw NotSupported("no engine for the fake");
    return Plans::one({"fake plan", 123, 0});
  }
  void run(Context& ctx, const Problem& p, const Config&, const Tensors& t) override {
    if (kind_ == Fake::error) throw Error("the fake failed");
    if (kind_ == Fake::no_write) return;
    if (kind_ == Fake::zeros) {
      TCONV_CUDA_CHECK(cudaMemsetAsync(t.y, 0, size_t(p.y_elems()) * 8, ctx.stream()));
      return;
    }
    reference_gpu_fp64(ctx, p, static_cast<const double*>(t.x), static_cast<const double*>(t.w),
                       static_cast<const double*>(t.bias), static_cast<double*>(t.y));
    if (kind_ == Fake::nondeterministic)  // lowest mantissa byte of y[0]: far below tolerance
      TCONV_CUDA_CHECK(cudaMemsetAsync(t.y, (calls_++ % 2) ? 0x00 : 0xFF, 1, ctx.stream()));
  }
  std::string algo() const override { return "fake-algo"; }

 private:
  Fake kind_;
  int calls_ = 0;
};

TEST(GpuHarness, VerdictsOnFakeImplementations) {
  TCONV_REQUIRE_GPU();
  Context& ctx = shared_context();
  const Problem p = make(2, 8, 6, 5, 4, 3, 2, 1, 1, 1, 2, true);
  const Config cfg{DType::fp64, Layout::nchw};
  ReferenceCache refs(7);
  struct Case {
    Fake kind;
    const char* status;
    const char* reason_part;
  };
  const Case cases[] = {
      {Fake::correct, "passed", ""},
      {Fake::no_write, "incorrect", "non-finite"},
      {Fake::zeros, "incorrect", "rel_l2_err"},
      {Fake::nondeterministic, "passed", ""},
      {Fake::skip, "skipped", "over the fake budget"},
      {Fake::not_supported, "not_supported", "no engine"},
      {Fake::error, "skipped", "error: the fake failed"},
      {Fake::refuse, "not_supported", "refused by the fake"},
  };
  for (const Case& c : cases) {
    FakeImpl impl(c.kind);
    std::unique_ptr<RowResources> ops;
    const RowOutcome o = verify_row(ctx, impl, p, cfg, refs, VerifyOptions{}, &ops);
    SCOPED_TRACE(std::string(c.status) + " / " + c.reason_part);
    EXPECT_EQ(o.status, c.status) << o.reason;
    EXPECT_NE(o.reason.find(c.reason_part), std::string::npos) << o.reason;
    EXPECT_EQ(ops != nullptr, o.status == "passed");
    if (o.status == "passed") {
      EXPECT_EQ(o.reference, "cpu_fp64");
      EXPECT_EQ(o.algo, "fake-algo");
      EXPECT_EQ(o.workspace_bytes, 123);
      EXPECT_GE(o.setup_ms, 0.0);
      EXPECT_EQ(o.deterministic, c.kind == Fake::correct ? "yes" : "no");
    }
  }
  EXPECT_FALSE(device_lost());

  // The GPU reference path (forced by a zero CPU bound) and timing.
  ReferenceCache gpu_refs(7, 0.0);
  FakeImpl impl(Fake::correct);
  std::unique_ptr<RowResources> ops;
  const RowOutcome o = verify_row(ctx, impl, p, cfg, gpu_refs, VerifyOptions{}, &ops);
  EXPECT_EQ(o.status, "passed") << o.reason;
  EXPECT_EQ(o.reference, "gpu_fp64");
  ASSERT_TRUE(ops);
  L2Flusher flusher(ctx);
  EXPECT_GE(flusher.bytes(), size_t(1) << 20);
  RunTimer timer(ctx, &flusher);
  timer.warmup(impl, p, cfg, ops->tensors(), 2);
  for (int i = 0; i < 3; ++i) EXPECT_GT(timer.time_once(impl, p, cfg, ops->tensors()), 0.0);
}

TEST(GpuHarness, RunInfoAndCeilings) {
  TCONV_REQUIRE_GPU();
  Context& ctx = shared_context();
  RunInfo info = query_run_info(ctx);
  EXPECT_FALSE(info.gpu.empty());
  EXPECT_GT(info.sm_count, 0);
  EXPECT_GT(info.sm_clock_mhz, 0);
  EXPECT_FALSE(info.driver.empty());
  EXPECT_FALSE(info.cuda.empty());
  EXPECT_FALSE(info.cublas.empty());
  EXPECT_FALSE(info.cusparse.empty());
  EXPECT_FALSE(info.cudnn.empty());
  EXPECT_FALSE(info.commit.empty());
  measure_ceilings(ctx, info);
  for (double v : {info.ceiling_copy_gbps, info.ceiling_sgemm_tflops, info.ceiling_tf32_tflops,
                   info.ceiling_hgemm_tflops}) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GT(v, 0.0);
  }
  // Tensor cores beat plain fp32 FMA on every GPU with them.
  EXPECT_GT(info.ceiling_tf32_tflops, info.ceiling_sgemm_tflops);
  std::printf("ceilings on %s: copy %.0f GB/s, sgemm %.1f, tf32 %.1f, hgemm %.1f TFLOP/s\n",
              info.gpu.c_str(), info.ceiling_copy_gbps, info.ceiling_sgemm_tflops,
              info.ceiling_tf32_tflops, info.ceiling_hgemm_tflops);
}

// ---------------------------------------------------------------- every implementation

std::vector<std::string> gpu_implementation_names() {
  std::vector<std::string> names;
  for (const auto& impl : create_all_implementations())
    if (impl->backend() == Backend::gpu) names.push_back(impl->name());
  return names;
}

// Begin/end padding outside PyTorch's form (core/problem.hpp): SAME_UPPER-like ends above the
// begin, outputs past the full output, sizes for several GEMM tiles, then random ones.
std::vector<Problem> begin_end_problems() {
  std::vector<Problem> ps;
  Problem same_upper = make(2, 8, 7, 6, 8, 3, 2, 0, 0, 1, 1, true);
  same_upper.set_pads_h(0, 1), same_upper.set_pads_w(0, 1);
  ps.push_back(same_upper);
  Problem past_end = make(2, 64, 12, 10, 48, 4, 2, 1, 0, 1, 1, true);
  past_end.set_pads_h(1, -3), past_end.set_pads_w(2, 3);
  ps.push_back(past_end);
  Problem grouped = make(1, 32, 9, 9, 32, 3, 3, 0, 0, 2, 4);
  grouped.set_pads_h(3, 0), grouped.set_pads_w(0, -2);
  ps.push_back(grouped);
  std::mt19937_64 rng(2025);
  while (ps.size() < 12) ps.push_back(testing::random_begin_end_problem(rng, 9));
  for (const Problem& p : ps) {
    EXPECT_EQ(p.validate(), "") << p.to_string();
    EXPECT_FALSE(p.pytorch_pads()) << p.to_string();
  }
  return ps;
}

class GpuImpls : public ::testing::TestWithParam<std::string> {};

// Every (problem, dtype, layout) the implementation claims, verified against the fp64 reference.
// require_pass: at least one claimed row must pass, else the test fails (an implementation that
// claims nothing on the test problems, or whose every row was refused at run time), unless every
// refusal was not_supported at run time (the GPU lacks what it needs: an sm_90a row on another
// GPU), which skips the test with the implementation's reason.
void verify_claimed(const std::string& name, const std::vector<Problem>& problems,
                    bool require_pass) {
  Context& ctx = shared_context();
  ReferenceCache refs(17);
  int passed = 0, other = 0, claimed = 0, runtime_unsupported = 0;
  std::string first_unsupported;
  for (const Problem& p : problems)
    for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
      for (Layout l : {Layout::nchw, Layout::nhwc}) {
        const Config cfg{t, l};
        auto impl = create_implementation(name);
        if (!impl->can_implement(p, cfg).ok) continue;
        ++claimed;
        const RowOutcome o = verify_row(ctx, *impl, p, cfg, refs);
        impl->release();
        std::ostringstream where;
        where << name << " " << to_string(t) << " " << to_string(l) << " on " << p.to_string();
        if (o.status == "passed") {
          ++passed;
        } else if (o.status == "incorrect") {
          ADD_FAILURE() << "incorrect: " << where.str() << ": " << o.reason << " (max_abs_err "
                        << o.err.max_abs_err << ", rel_l2_err " << o.err.rel_l2_err << ", max|ref| "
                        << o.err.max_abs_ref << ")";
        } else if (o.status == "skipped" && o.reason.rfind("error:", 0) == 0) {
          ADD_FAILURE() << "failed: " << where.str() << ": " << o.reason;
        } else {
          ++other;  // not_supported at prepare time, or skipped for memory
          if (o.status == "not_supported" && runtime_unsupported++ == 0)
            first_unsupported = where.str() + ": " + o.reason;
        }
      }
  std::printf("%s: %d rows passed, %d not supported/skipped at run time\n", name.c_str(), passed,
              other);
  ASSERT_FALSE(device_lost()) << "the device is unusable after " << name;
  if (!require_pass || passed > 0) return;
  if (claimed == 0)
    FAIL() << name << " claims no configuration (can_implement) on any test problem";
  if (runtime_unsupported == claimed)
    GTEST_SKIP() << name << ": the GPU lacks what it needs: every claimed row was not_supported "
                 << "at run time (first: " << first_unsupported << ")";
  FAIL() << name << ": none of its " << claimed << " claimed rows passed (" << other
         << " skipped or not supported at run time)";
}

TEST_P(GpuImpls, VerifiedInEveryClaimedConfig) {
  TCONV_REQUIRE_GPU();
  verify_claimed(GetParam(), test_problems(), /*require_pass=*/true);
}

TEST_P(GpuImpls, BeginEndPaddingVerifiedWhereClaimed) {
  TCONV_REQUIRE_GPU();
  verify_claimed(GetParam(), begin_end_problems(), /*require_pass=*/false);
}

INSTANTIATE_TEST_SUITE_P(GpuAll, GpuImpls, ::testing::ValuesIn(gpu_implementation_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tconv

#endif  // TCONV_HAVE_HARNESS
