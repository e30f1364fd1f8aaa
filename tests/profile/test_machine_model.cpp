// The machine model's constants and the estimate's arithmetic (cpu_cuda/profile): the ranges,
// the peaks they must reproduce, the combination rule, the launch overhead, and that a bound is
// named only where both ends of the ranges agree. Hand-made launch profiles: no kernel runs.
#include <gtest/gtest.h>

#include <cmath>

#include "cpu_cuda/profile/kernel_resources.hpp"
#include "cpu_cuda/profile/machine_model.hpp"
#include "cpu_cuda/profile/profile_report.hpp"

namespace tconv::profile {
namespace {

LaunchProfile launch(int64_t blocks, double shared_wavefronts, double mma, double dram_bytes) {
  LaunchProfile l;
  l.blocks = l.blocks_run = blocks;
  l.mma = mma;
  SiteCounters s;
  s.space = Space::shared;
  s.wavefronts = shared_wavefronts;
  l.sites.push_back(s);
  if (dram_bytes > 0) {
    ::cpu_cuda::prof::BufferTraffic b;
    b.name = "y";
    b.size = int64_t(dram_bytes);
    b.dram_write = dram_bytes;
    l.buffers.push_back(b);
  }
  return l;
}

const Estimate::Part& part(const Estimate& e, const std::string& name) {
  for (const auto& p : e.parts)
    if (p.resource == name) return p;
  ADD_FAILURE() << "no part " << name;
  return e.parts.front();
}

TEST(MachineModel, RangesAreOrderedAndReproduceNvidiasPeaks) {
  const MachineModel m = h200();
  for (Range r : {m.clock_hz, m.mma_sync_per_clk, m.l2_bytes_per_clk, m.dram_bytes_per_s,
                  m.launch_overhead_s})
    EXPECT_LE(r.lo, r.hi);
  // The dense 16-bit tensor peak at the low clock, FP32's at the high one (the datasheets).
  EXPECT_NEAR(m.sms * 4096.0 * m.clock_hz.lo, 989.4e12, 989.4e12 * 1e-3);
  EXPECT_NEAR(m.sms * m.ffma_lanes_per_clk * 2 * m.clock_hz.hi, 66.9e12, 66.9e12 * 2e-3);
  // mma.sync m16n8k16: 668 TFLOP/s measured, whichever clock it was measured at.
  const Range mma = m.mma_sync_per_s();
  EXPECT_NEAR(mma.lo * m.sms * 4096 / m.clock_hz.lo * m.clock_hz.hi, 668e12, 1e9);
  EXPECT_NEAR(mma.hi * m.sms * 4096, 668e12 * m.clock_hz.hi / m.clock_hz.lo, 1e9);
  EXPECT_EQ(m.regs_per_sm, 65536);
}

TEST(MachineModel, OneResourceTakesItsWorkOverTheRateRangePlusTheLaunch) {
  const MachineModel m = h200();
  // 132 blocks of 1M wavefronts in all: the busiest SM runs one block, 1M / 132 wavefronts.
  const Estimate e = estimate(launch(132, 1e6, 0, 0), m, 0);
  const double w = 1e6 / 132;
  EXPECT_DOUBLE_EQ(part(e, "shared").lo, w / m.clock_hz.hi);
  EXPECT_DOUBLE_EQ(part(e, "shared").hi, w / m.clock_hz.lo);
  EXPECT_NEAR(e.lo, w / m.clock_hz.hi + m.launch_overhead_s.lo, 1e-15);
  EXPECT_NEAR(e.hi, w / m.clock_hz.lo + m.launch_overhead_s.hi, 1e-15);
  EXPECT_EQ(e.bound, "shared");
}

TEST(MachineModel, ResourcesOfEqualTimeDoNotOverlapPerfectly) {
  EXPECT_DOUBLE_EQ(combine({1.0}, 4), 1.0);
  EXPECT_NEAR(combine({1.0, 1.0}, 4), std::pow(2.0, 0.25), 1e-12);
  EXPECT_NEAR(combine({1.0, 1.0, 1.0}, 4), std::pow(3.0, 0.25), 1e-12);
  EXPECT_LT(combine({2.0, 1.0}, 4), 2.0 * 1.04);     // one twice the other dominates
  EXPECT_NEAR(combine({3.0, 4.0}, 1), 7.0, 1e-12);   // p = 1: no overlap
  EXPECT_NEAR(combine({3.0, 4.0}, 200), 4.0, 0.02);  // large p: the max
  EXPECT_EQ(combine({}, 4), 0.0);
  EXPECT_EQ(combine({0.0, 0.0}, 4), 0.0);
}

TEST(MachineModel, TheBoundIsNamedOnlyWhereBothEndsAgree) {
  const MachineModel m = h200();
  // Shared memory at 1 ms at the fast end; DRAM 2% faster there. DRAM's range is wider (4.32 to
  // 4.8 TB/s against 1.83 to 1.98 GHz), so at the slow end DRAM takes longer.
  const double wavefronts = 1e-3 * m.clock_hz.hi;  // one block: the busiest SM runs all
  const double bytes = 0.98e-3 * m.dram_bytes_per_s.hi;
  Estimate e = estimate(launch(1, wavefronts, 0, bytes), m, 0);
  EXPECT_GT(part(e, "shared").lo, part(e, "dram").lo);
  EXPECT_LT(part(e, "shared").hi, part(e, "dram").hi);
  EXPECT_EQ(e.bound, "");
  EXPECT_EQ(e.bound_lo, "shared");
  EXPECT_EQ(e.bound_hi, "dram");
  EXPECT_NE(format_launch(launch(1, wavefronts, 0, bytes), m, 0)
                .find("bound: not decided (shared at the low end, dram at the high end)"),
            std::string::npos);
  // DRAM at half the time: shared memory under both ends.
  e = estimate(launch(1, wavefronts, 0, bytes / 2), m, 0);
  EXPECT_EQ(e.bound, "shared");
  const std::string text = format_launch(launch(1, wavefronts, 0, bytes / 2), m, 0);
  EXPECT_NE(text.find("CPU-model estimate"), std::string::npos);
  EXPECT_NE(text.find("bound: shared"), std::string::npos);
}

}  // namespace
}  // namespace tconv::profile

namespace tconv::profile {
namespace {

namespace prof = ::cpu_cuda::prof;

TEST(Occupancy, TheLeastOfThreadsSharedMemoryRegistersAndTheBlockLimit) {
  prof::Settings s = settings_for(h200(), 0, false);
  // Registers are allocated per warp in units of 256: 190 x 32 = 6080 -> 6144 per warp, 8 warps
  // = 49152 of 65536: one block (phase_gemm's 128x128 fp16 tile); 165 -> 5376 per warp, 4 warps
  // = 21504: three.
  prof::Residency r = prof::residency(s, 256, 32768, 190);
  EXPECT_EQ(r.blocks, 1);
  EXPECT_EQ(r.limit, "registers");
  r = prof::residency(s, 128, 0, 165);
  EXPECT_EQ(r.blocks, 3);
  EXPECT_EQ(r.limit, "registers");
  // Without a register count: threads (2048 / 256) or shared memory (228 KiB / (100 KiB + the
  // 1 KiB the runtime reserves per block)).
  r = prof::residency(s, 256, 0, 0);
  EXPECT_EQ(r.blocks, 8);
  EXPECT_EQ(r.limit, "threads");
  r = prof::residency(s, 128, 100 * 1024, 0);
  EXPECT_EQ(r.blocks, 2);
  EXPECT_EQ(r.limit, "shared memory");
  r = prof::residency(s, 32, 0, 16);
  EXPECT_EQ(r.blocks, 32);
  EXPECT_EQ(r.limit, "blocks");
}

TEST(Occupancy, RegistersComeFromTheMachineCodeDumpByTheCpuBuildsName) {
  const std::string dump =
      "member libtconv_kernels.a:phase_gemm.cu.o:\n\nFatbin elf code:\n================\n"
      "arch = sm_80\ncode version = [1,8]\n\nResource usage:\n Common:\n  GLOBAL:0\n"
      " Function void tconv::gpu_run::k<float>(tconv::gpu_run::P):\n"
      "  REG:64 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:512 TEXTURE:0 SURFACE:0 SAMPLER:0\n"
      "\nFatbin elf code:\n================\narch = sm_90\n\nResource usage:\n Common:\n"
      " Function void tconv::gpu_run::k<float>(tconv::gpu_run::P):\n"
      "  REG:72 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:512 TEXTURE:0 SURFACE:0 SAMPLER:0\n"
      " Function void tconv::gpu_run::k<__half>(tconv::gpu_run::P):\n"
      "  REG:90 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:512 TEXTURE:0 SURFACE:0 SAMPLER:0\n";
  const KernelResources r = parse_kernel_resources(dump);
  EXPECT_EQ(r.unavailable, "");
  EXPECT_EQ(r.regs.size(), 2u);  // sm_80's count is not Hopper's
  EXPECT_EQ(r.of_cpu_symbol("void tconv::cpu_run::k<float>(tconv::cpu_run::P)"), 72);
  EXPECT_EQ(r.of_cpu_symbol("void tconv::cpu_run::k<__half>(tconv::cpu_run::P)"), 90);
  EXPECT_EQ(r.of_cpu_symbol("void tconv::cpu_run::k<double>(tconv::cpu_run::P)"), 0);
  const KernelResources none = parse_kernel_resources("# unavailable: cuobjdump was not found\n");
  EXPECT_EQ(none.unavailable, "cuobjdump was not found");
  EXPECT_NE(parse_kernel_resources("").unavailable, "");
}

// The build's own dump (cmake/kernel_resources.cmake): present, and it names phase_gemm's kernels.
TEST(Occupancy, TheBuildDumpedItsKernelsRegisters) {
  const KernelResources& r = build_kernel_resources();
  ASSERT_EQ(r.unavailable, "") << "the build wrote no register counts";
  int gemm = 0;
  for (const auto& [name, regs] : r.regs)
    if (name.find("phase_gemm_kernel<") != std::string::npos) {
      ++gemm;
      EXPECT_GT(regs, 0) << name;
      EXPECT_LE(regs, 255) << name;
    }
  EXPECT_GT(gemm, 10);
}

}  // namespace
}  // namespace tconv::profile
