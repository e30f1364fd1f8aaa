// Efficiency floors that follow from our kernels' designs, checked with the CPU profiler's
// counters on built-in shapes where each kernel is meant to win (cpu_cuda/profiler.hpp). A
// floor is a property of the access pattern, never a time. Where today's kernel is below its
// floor, the test holds today's value (so that a change either way is seen) and names the floor
// it waits for: the phase_gemm performance work switches it to the floor.
#include <gtest/gtest.h>

#include <string>

#include "bench/shapes.hpp"
#include "cpu_cuda/profile/profile_report.hpp"
#include "cpu_cuda/profile/profile_run.hpp"

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

// Shared-memory wavefronts of every access of the launch per mma.sync instruction.
double shared_per_mma(const prof::LaunchProfile& l) {
  const double wf = total(l, Space::shared, Kind::load).wavefronts +
                    total(l, Space::shared, Kind::store).wavefronts;
  EXPECT_GT(l.mma, 0) << l.kernel_name;
  return l.mma > 0 ? wf / l.mma : 0;
}

// phase_gemm's 16-bit tensor-core tiles, 128x128 and 128x64, fp16 and bf16, both layouts: the
// swizzled tiles, ldmatrix fragments and 16-byte stores (NCHW's B: 64 contiguous bytes a warp)
// keep every shared access conflict-free, and the fragments and stores together within 2.5
// wavefronts per mma.sync (a 64x32 warp tile reads 1.5 per mma, the stores add 0.5 to 1). The
// counts are per tile, not per shape: two problems that plan these tiles with a short K keep the
// test fast (SAM's and Mask R-CNN's layers, with fewer input channels).
TEST_F(Efficiency, PhaseGemmSharedMemoryConflictFree) {
  const Problem p128 =
      parse_shape_spec("n=128,c_in=256,h_in=7,w_in=7,c_out=256,k=2,stride=2,bias=1", "t").problem;
  const Problem p64 =
      parse_shape_spec("n=128,c_in=256,h_in=7,w_in=7,c_out=64,k=2,stride=2,bias=1", "t").problem;
  for (const auto& [p, tile] : {std::pair<Problem, std::string>{p128, "128, 128"}, {p64, "128, 64"}})
    for (DType dt : {DType::fp16, DType::bf16})
      for (Layout layout : {Layout::nhwc, Layout::nchw}) {
        SCOPED_TRACE(tile + " " + to_string(dt) + " " + to_string(layout));
        Shape s;
        s.problem = p;
        const prof::LaunchProfile l = profile_row("phase_gemm", s, dt, layout, 2);
        EXPECT_NE(l.kernel_name.find(tile), std::string::npos) << "tile of " << l.kernel_name;
        EXPECT_LE(shared_per_mma(l), 2.5) << "shared wavefronts per mma.sync";
        for (const prof::SiteCounters& c : l.sites) {
          if (c.space != Space::shared) continue;
          EXPECT_LE(c.wavefront_ratio(), 1.0) << c.where << ": conflicted";
        }
        EXPECT_GT(total(l, Space::shared, Kind::load, "via ldmatrix_x4_trans").requests, 0);
        EXPECT_GT(total(l, Space::shared, Kind::store, "BLoader::store").requests, 0);
      }
  // NHWC with channel counts that rule out 16-byte loads: the scalar loaders' stores.
  const Problem odd =
      parse_shape_spec("n=128,c_in=252,h_in=7,w_in=7,c_out=250,k=2,stride=2,bias=1", "t").problem;
  Shape s;
  s.problem = odd;
  const prof::LaunchProfile l = profile_row("phase_gemm", s, DType::fp16, Layout::nhwc, 2);
  EXPECT_NE(l.kernel_name.find("128, 128, 2, 4, 1, 1"), std::string::npos) << l.kernel_name;
  EXPECT_LE(shared_per_mma(l), 2.5) << "shared wavefronts per mma.sync, scalar loads";
  for (const prof::SiteCounters& c : l.sites) {
    if (c.space != Space::shared) continue;
    EXPECT_LE(c.wavefront_ratio(), 1.0) << c.where << ": conflicted (scalar loads)";
  }
}

// phase_gemm, the tensor-core path on SAM's first upsampler at batch 64 (128x64 tile, NHWC:
// channels contiguous, 16-byte loads).
TEST_F(Efficiency, PhaseGemmFp16NhwcSamUp1) {
  const prof::LaunchProfile l =
      profile_row("phase_gemm", builtin("modern", "sam_up1_b64"), DType::fp16, Layout::nhwc, 8, true);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  // Occupancy with the registers of this build's sm_90 code of the same kernel (the L2 model's
  // waves use the same residency).
  EXPECT_GT(l.regs_per_thread, 0) << l.kernel_name << " not found in the machine-code dump";
  EXPECT_EQ(l.resident_blocks_per_sm,
            prof::residency(profile::settings_for(profile::h200(), 0, false),
                            int(l.block.x * l.block.y * l.block.z), l.static_smem,
                            l.regs_per_thread).blocks);
  EXPECT_GE(sector_eff(l, Kind::load, "ALoader::load"), 0.90) << "x loads (NHWC: contiguous)";
  EXPECT_GE(sector_eff(l, Kind::load, "BLoader::load"), 0.90) << "w loads (KRSC: contiguous)";
  EXPECT_LE(shared_ratio(l, Kind::load, "tc_compute"), 1.25) << "fragment reads";
  EXPECT_LE(shared_ratio(l, Kind::store, "ALoader::store"), 1.25) << "A stores";
  EXPECT_LE(shared_ratio(l, Kind::store, "BLoader::store"), 1.25) << "B stores";
  EXPECT_GT(l.mma, 0);
  EXPECT_GE(sector_eff(l, Kind::store, "store_staged"), 0.90)
      << "epilogue stores (16-byte chunks of output rows, staged through shared memory)";
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
  EXPECT_LE(shared_ratio(l, Kind::store, "ALoader::store"), 1.25) << "A stores";
  EXPECT_LE(shared_ratio(l, Kind::store, "BLoader::store"), 1.25) << "B stores";
  EXPECT_GE(sector_eff(l, Kind::load, "BLoader::load"), 0.25)
      << "w loads (C_in, C_out, kH, kW): output channels kH*kW apart, a quarter of each sector "
         "today; the aim is >= 90% (a weight repacked in prepare)";
}

// gather: one thread per output, consecutive threads consecutive outputs; its y stores and the
// contiguous operand's loads are coalesced by design.
TEST_F(Efficiency, GatherFp32NchwDcgan) {
  const prof::LaunchProfile l =
      profile_row("gather", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_GE(total(l, Space::global, Kind::store).sector_efficiency(), 0.90) << "y stores";
}

// scatter: one thread per (input pixel, output channel); consecutive threads read consecutive
// pixels of x (coalesced by design) and, mostly, the same weight (a broadcast). Its atomics land
// on output pixels `stride` apart, so at most half of each sector is useful at stride 2.
TEST_F(Efficiency, ScatterFp32NchwDcgan) {
  const prof::LaunchProfile l =
      profile_row("scatter", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  const prof::SiteCounters at = total(l, Space::global, Kind::atomic);
  EXPECT_GT(at.requests, 0) << "scatter's atomics are counted as atomics";
  EXPECT_GE(total(l, Space::global, Kind::load).sector_efficiency(), 0.90) << "x and w loads";
  EXPECT_GE(at.sector_efficiency(), 0.40) << "atomics: stride-2 outputs, under half a sector";
}

// zero_insert_direct: the convolution's staged weights are read from shared memory by every
// thread of a block alike (broadcast): conflict-free.
TEST_F(Efficiency, ZeroInsertDirectFp32Dcgan) {
  const prof::LaunchProfile l =
      profile_row("zero_insert_direct", builtin("dcgan", "l4"), DType::fp32, Layout::nchw, 8);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  EXPECT_LE(shared_ratio(l, Kind::load), 1.25) << "weight reads (broadcast)";
  EXPECT_LE(shared_ratio(l, Kind::store), 1.25) << "weight staging: lanes store consecutive words";
  EXPECT_GE(sector_eff(l, Kind::load, "zi_weight_slot"), 0.5)
      << "weight staging loads: lanes read consecutive (tap, channel) slots, half of each sector "
         "at least";
  EXPECT_GE(total(l, Space::global, Kind::store).sector_efficiency(), 0.90) << "y stores";
}

// The direct kernel on fcn32s (21 channels, 64x64 kernel, stride 32): its index arithmetic, not
// its memory, is what the machine code spends its time on. With the build's SASS the profiler
// counts its instructions, and the bound it names is an instruction one (issue slots or a pipe),
// not L2 or the FFMA lower bound it fell back to before the SASS was read. The L1 rule holds the
// weights and inputs each block reads through __ldg.
TEST_F(Efficiency, DirectKernelBoundByItsInstructionsOnFcn32s) {
  ASSERT_EQ(profile::build_kernel_sass().unavailable, "") << "the build wrote no disassembly";
  const prof::LaunchProfile l =
      profile_row("phase_gemm", builtin("networks", "fcn32s"), DType::fp32, Layout::nchw, 8, true);
  std::printf("%s", profile::format_launch(l, profile::h200(), 0).c_str());
  ASSERT_NE(l.kernel_name.find("phase_direct_kernel"), std::string::npos) << l.kernel_name;
  const auto issue = profile::issue_of(l);
  ASSERT_TRUE(issue.has_value());
  EXPECT_GT(issue->of(profile::Pipe::alu) + issue->of(profile::Pipe::fma_heavy),
            issue->of(profile::Pipe::fma))
      << "integer work outweighs FP32 arithmetic";
  const profile::Estimate e = profile::estimate(l, profile::h200(), 0, issue);
  EXPECT_TRUE(e.bound == "issue" || e.bound == "alu" || e.bound == "fma" || e.bound == "xu")
      << "bound: '" << e.bound << "' (" << e.bound_lo << " / " << e.bound_hi << ")";
  EXPECT_TRUE(l.l1_holds_read_only);
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
