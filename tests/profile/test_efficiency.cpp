// Efficiency floors that follow from our kernels' designs, checked with the CPU profiler's
// counters on built-in shapes where each kernel is meant to win (tests/cpu_cuda/profiler.hpp). A
// floor is a property of the access pattern, never a time. Where today's kernel is below its
// floor, the test holds today's value (so that a change either way is seen) and names the floor
// it waits for: the phase_gemm performance work switches it to the floor.
#include <gtest/gtest.h>

#include <string>

#include "bench/shapes.hpp"
#include "tests/profile/profile_report.hpp"
#include "tests/profile/profile_run.hpp"

namespace tconv {
namespace {

namespace prof = ::cpu_cuda::prof;
using profile::by_line;
using profile::total;
using profile::Kind;
using profile::Space;

Shape builtin(const std::string& suite, const std::string& name) {
  for (const Shape& s : select_suites({suite}))
    if (s.name == name) return s;
  ADD_FAILURE() << "no built-in shape " << suite << "/" << name;
  return {};
}

// The profile of the row's main launch (the last one: bias fills and transforms come first).
prof::LaunchProfile profile_row(const std::string& impl, const Shape& s, DType dt, Layout l,
                                int blocks, bool l2 = false) {
  profile::Operands o = profile::make_operands(s.problem, dt);
  prof::configure(profile::settings_for(profile::h200(), blocks, l2));
  prof::clear();
  profile::run_impl(impl, dt, l, s.problem, o);
  prof::Settings off;
  prof::configure(off);
  EXPECT_FALSE(prof::launches().empty());
  return prof::launches().empty() ? prof::LaunchProfile{} : prof::launches().back();
}

class Efficiency : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prof::instrumented()) GTEST_SKIP() << "not an instrumented binary";
  }
};

double sector_eff(const prof::LaunchProfile& l, Kind k, const std::string& where) {
  const prof::SiteCounters c = total(l, Space::global, k, where);
  EXPECT_GT(c.requests, 0) << "no " << where << " requests in " << l.kernel_name;
  return c.sector_efficiency();
}

double shared_ratio(const prof::LaunchProfile& l, Kind k, const std::string& where = "") {
  const prof::SiteCounters c = total(l, Space::shared, k, where);
  EXPECT_GT(c.requests, 0) << "no shared " << where << " requests in " << l.kernel_name;
  return c.wavefront_ratio();
}

double dram_over_size(const prof::LaunchProfile& l, const std::string& buffer) {
  for (const auto& b : l.buffers)
    if (b.name == buffer) {
      EXPECT_FALSE(b.extrapolation_suspect) << buffer << ": the L2 model's footprints are unreliable";
      return (b.dram_read + b.dram_write) / double(b.size);
    }
  ADD_FAILURE() << "no buffer " << buffer;
  return 0;
}

// phase_gemm, the tensor-core path on SAM's first upsampler at batch 64 (128x64 tile, NHWC:
// channels contiguous, 16-byte loads).
TEST_F(Efficiency, PhaseGemmFp16NhwcSamUp1) {
  const prof::LaunchProfile l =
      profile_row("phase_gemm", builtin("modern", "sam_up1_b64"), DType::fp16, Layout::nhwc, 8, true);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  // Floors that hold today.
  EXPECT_GE(sector_eff(l, Kind::load, "ALoader::load"), 0.90) << "x loads (NHWC: contiguous)";
  EXPECT_GE(sector_eff(l, Kind::load, "BLoader::load"), 0.90) << "w loads (KRSC: contiguous)";
  EXPECT_LE(shared_ratio(l, Kind::load, "tc_compute"), 1.25) << "fragment reads";
  EXPECT_GT(l.mma, 0);
  // Floors today's kernel does not meet: today's value, and the floor in the message.
  EXPECT_DOUBLE_EQ(shared_ratio(l, Kind::store, "ALoader::store"), 4.0)
      << "A stores: waiting for the floor <= 1.25x conflict-free";
  EXPECT_DOUBLE_EQ(shared_ratio(l, Kind::store, "BLoader::store"), 8.0)
      << "B stores: waiting for the floor <= 1.25x conflict-free (16-byte stores)";
  EXPECT_DOUBLE_EQ(sector_eff(l, Kind::store, "store_tile"), 0.25)
      << "epilogue stores: waiting for the floor >= 50% sector efficiency";
  EXPECT_LE(dram_over_size(l, "x"), 1.5) << "x's modelled DRAM bytes per launch";
}

// x read from DRAM at most 1.5 times per launch, on the two largest built-in GEMM rows: the block
// order keeps the blocks that share a tile of x together (the counters' L2 model).
TEST_F(Efficiency, PhaseGemmReadsXFromDramOnce) {
  for (const auto& [suite, row] : {std::pair<std::string, std::string>{"networks", "maskrcnn_head"},
                                   {"modern", "sam_up2_b64"}}) {
    const prof::LaunchProfile l =
        profile_row("phase_gemm", builtin(suite, row), DType::fp16, Layout::nhwc, 2, true);
    EXPECT_LE(dram_over_size(l, "x"), 1.5) << row << ": x's modelled DRAM bytes per launch";
    EXPECT_LE(dram_over_size(l, "w"), 1.5) << row << ": w's modelled DRAM bytes per launch";
  }
}

// The same layer in NCHW: x's 16-byte vector loads are not available (pixels contiguous, channels
// strided), the loads read along k.
TEST_F(Efficiency, PhaseGemmFp16NchwSamUp1) {
  const prof::LaunchProfile l =
      profile_row("phase_gemm", builtin("modern", "sam_up1_b64"), DType::fp16, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_LE(shared_ratio(l, Kind::load, "tc_compute"), 1.25) << "fragment reads";
  EXPECT_GE(sector_eff(l, Kind::load, "ALoader::load"), 0.90) << "x loads (NCHW: pixels contiguous)";
  EXPECT_GE(sector_eff(l, Kind::store, "store_tile"), 0.50) << "epilogue stores";
  EXPECT_DOUBLE_EQ(sector_eff(l, Kind::load, "BLoader::load"), 0.25)
      << "w loads (C_in, C_out, kH, kW): output channels kH*kW apart; waiting for the floor >= 90% "
         "(a weight repacked in prepare)";
  EXPECT_DOUBLE_EQ(shared_ratio(l, Kind::store, "ALoader::store"), 4.0)
      << "A stores: waiting for the floor <= 1.25x conflict-free";
  EXPECT_DOUBLE_EQ(shared_ratio(l, Kind::store, "BLoader::store"), 4.0)
      << "B stores: waiting for the floor <= 1.25x conflict-free";
}

// gather: one thread per output, consecutive threads consecutive outputs; its y stores and the
// contiguous operand's loads are coalesced by design.
TEST_F(Efficiency, GatherFp32NchwDcgan) {
  const prof::LaunchProfile l =
      profile_row("gather", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_GE(total(l, Space::global, Kind::store).sector_efficiency(), 0.90) << "y stores";
}

// scatter: one thread per input element; its x loads are coalesced by design.
TEST_F(Efficiency, ScatterFp32NchwDcgan) {
  const prof::LaunchProfile l =
      profile_row("scatter", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  const prof::SiteCounters at = total(l, Space::global, Kind::atomic);
  EXPECT_GT(at.requests, 0) << "scatter's atomics are counted as atomics";
}

// zero_insert_direct: the convolution's staged weights are read from shared memory by every
// thread of a block alike (broadcast): conflict-free.
TEST_F(Efficiency, ZeroInsertDirectFp32Dcgan) {
  const prof::LaunchProfile l =
      profile_row("zero_insert_direct", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_LE(shared_ratio(l, Kind::load), 1.25) << "weight reads (broadcast)";
  EXPECT_LE(shared_ratio(l, Kind::store), 1.25) << "weight staging: lanes store consecutive words";
  EXPECT_DOUBLE_EQ(sector_eff(l, Kind::load, "zi_weight_slot"), 0.5)
      << "weight staging loads: lanes read consecutive (tap, channel) slots, half of each sector "
         "(today's value)";
  EXPECT_GE(total(l, Space::global, Kind::store).sector_efficiency(), 0.90) << "y stores";
}

// col2im: one thread per output element, consecutive outputs: coalesced stores.
TEST_F(Efficiency, GemmCol2imFp32Dcgan) {
  const prof::LaunchProfile l =
      profile_row("gemm_col2im", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_GE(total(l, Space::global, Kind::store).sector_efficiency(), 0.90) << "y stores";
}

// The L2 model's extrapolation from a sample against the full grid, on a problem small enough to
// run whole, with the modelled L2 scaled down so that reuse and eviction both happen.
TEST_F(Efficiency, SampledL2ModelAgreesWithTheFullGrid) {
  Shape s;
  s.problem = parse_shape_spec("n=8,c_in=64,h_in=12,w_in=12,c_out=64,k=2,stride=2,bias=1", "l2").problem;
  auto run = [&](int blocks) {
    profile::Operands o = profile::make_operands(s.problem, DType::fp16);
    prof::Settings cfg = profile::settings_for(profile::h200(), blocks, true);
    cfg.sms = 4;
    cfg.l2_bytes = 96 * 1024;
    prof::configure(cfg);
    prof::clear();
    profile::run_impl("phase_gemm", DType::fp16, Layout::nhwc, s.problem, o);
    prof::configure(prof::Settings{});
    return prof::launches().back();
  };
  const prof::LaunchProfile full = run(0), sampled = run(8);
  ASSERT_FALSE(full.l2_extrapolated);
  ASSERT_TRUE(sampled.l2_extrapolated);
  ASSERT_GT(full.blocks, 16);
  for (const std::string b : {"x", "w", "y"}) {
    const double f = dram_over_size(full, b), e = dram_over_size(sampled, b);
    EXPECT_NEAR(e, f, 0.25 * f) << b << ": full grid " << f << "x its size, sampled " << e << "x";
  }
}

}  // namespace
}  // namespace tconv
