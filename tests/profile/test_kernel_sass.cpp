// The profiler's instruction issue (cpu_cuda/profile/kernel_sass.hpp): reading nvdisasm's text,
// the pipes, the dynamic counts from the CPU runtime's sites, and the times the estimate makes of
// them. Hand-made disassembly and sites; one test reads the build's own sm_90 code.
#include <gtest/gtest.h>

#include <string>

#include "cpu_cuda/profile/kernel_sass.hpp"
#include "cpu_cuda/profile/machine_model.hpp"
#include "cpu_cuda/profile/profile_report.hpp"

namespace tconv::profile {
namespace {

// tconv::gpu_run::k(): a prologue load, a loop [0x20, 0x50] with a load of t.cuh:20 (inlined at
// line 30) and two FMAs, a second loop [0x70, 0x90] holding another copy of that load and one of
// line 25, a store, and the padding after EXIT (a branch to itself, a NOP).
const char* kText = R"(	.target	sm_90
//--------------------- .text._ZN5tconv7gpu_run1kEv --------------------------
	.section	.text._ZN5tconv7gpu_run1kEv,"ax",@progbits
.text._ZN5tconv7gpu_run1kEv:
	//## File "/src/kernels/t.cuh", line 10
        /*0000*/                   S2R R0, SR_TID.X ;
        /*0010*/                   LDG.E R2, desc[UR4][R4.64] ;
.L_x_0:
	//## File "/src/kernels/t.cuh", line 20 inlined at "/src/kernels/t.cuh", line 30
	//## File "/src/kernels/t.cuh", line 30
        /*0020*/                   LDG.E.CONSTANT R3, desc[UR4][R4.64] ;
        /*0030*/                   IMAD.MOV.U32 R3, RZ, RZ, R3 ;
        /*0040*/                   FFMA R5, R3, R3, R5 ;
        /*0050*/               @P0 BRA `(.L_x_0) ;
	//## File "/src/kernels/t.cuh", line 12
        /*0060*/                   ISETP.GE.AND P1, PT, R0, 0x4, PT ;
.L_x_1:
	//## File "/src/kernels/t.cuh", line 20 inlined at "/src/kernels/t.cuh", line 31
	//## File "/src/kernels/t.cuh", line 31
        /*0070*/                   LDG.E.CONSTANT R3, desc[UR4][R6.64] ;
	//## File "/src/kernels/t.cuh", line 25
        /*0080*/                   LDS R7, [R8] ;
        /*0090*/              @!P1 BRA `(.L_x_1) ;
	//## File "/src/kernels/t.cuh", line 40
        /*00a0*/                   STG.E desc[UR4][R6.64], R5 ;
        /*00b0*/                   MUFU.RCP R9, R9 ;
        /*00c0*/                   EXIT ;
.L_x_2:
        /*00d0*/                   BRA `(.L_x_2);
        /*00e0*/                   NOP;
)";

// The solution's faint pull toward an even share moves a determined loop by about 1e-6 of itself.
constexpr double kTol = 1e-2;

::cpu_cuda::prof::SiteCounters site(const std::string& where, Space space, Kind kind,
                                    double requests) {
  ::cpu_cuda::prof::SiteCounters s;
  s.where = where;
  s.space = space;
  s.kind = kind;
  s.requests = requests;
  return s;
}

TEST(KernelSass, ReadsInstructionsLinesAndBranches) {
  const KernelSass k = parse_kernel_sass(kText);
  ASSERT_EQ(k.unavailable, "");
  const SassFunction* f = k.of_cpu_symbol("tconv::cpu_run::k()");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "tconv::gpu_run::k()");
  ASSERT_EQ(f->code.size(), 15u);
  EXPECT_EQ(f->code[2].opcode, "LDG.E.CONSTANT");
  EXPECT_EQ(f->code[2].lines, (std::vector<std::string>{"kernels/t.cuh:20", "kernels/t.cuh:30"}));
  EXPECT_EQ(f->code[3].lines, f->code[2].lines);  // a chain holds until the next one
  EXPECT_EQ(f->code[5].target, 0x20);
  EXPECT_TRUE(f->code[5].predicated);
  EXPECT_EQ(f->code[9].target, 0x70);
  EXPECT_EQ(f->code[13].target, 0xd0);
  EXPECT_EQ(k.of_cpu_symbol("tconv::cpu_run::other()"), nullptr);
}

TEST(KernelSass, SaysWhyWhenThereIsNoCode) {
  EXPECT_EQ(parse_kernel_sass("# unavailable: nvdisasm was not found\n").unavailable,
            "nvdisasm was not found");
  EXPECT_NE(parse_kernel_sass("\t.target sm_90\n").unavailable, "");
}

TEST(KernelSass, PipesFollowTheOpcode) {
  EXPECT_EQ(pipe_of("IMAD.MOV.U32"), Pipe::fma_heavy);
  EXPECT_EQ(pipe_of("IMAD.WIDE.U32"), Pipe::fma_heavy);
  EXPECT_EQ(pipe_of("FFMA"), Pipe::fma);
  EXPECT_EQ(pipe_of("HFMA2.MMA"), Pipe::fma);
  EXPECT_EQ(pipe_of("ISETP.GE.U32.AND"), Pipe::alu);
  EXPECT_EQ(pipe_of("LOP3.LUT"), Pipe::alu);
  EXPECT_EQ(pipe_of("MUFU.RCP"), Pipe::xu);
  EXPECT_EQ(pipe_of("I2F.RP"), Pipe::xu);
  EXPECT_EQ(pipe_of("LDSM.16.M88.4"), Pipe::memory);
  EXPECT_EQ(pipe_of("LDGSTS.E.BYPASS.128"), Pipe::memory);
  EXPECT_EQ(pipe_of("HMMA.16816.F32"), Pipe::tensor);
  EXPECT_EQ(pipe_of("UIADD3"), Pipe::uniform);
  EXPECT_EQ(pipe_of("BAR.SYNC.DEFER_BLOCKING"), Pipe::control);
  EXPECT_EQ(pipe_of("LDC"), Pipe::other);
  EXPECT_EQ(pipe_of("NOP"), Pipe::nop);
}

TEST(KernelSass, LoopsRunAsTheirAccessesSay) {
  const KernelSass k = parse_kernel_sass(kText);
  const SassFunction& f = *k.of_cpu_symbol("tconv::cpu_run::k()");
  // 10 warps. Line 20 has one copy in each loop; line 25 only in the second, which it says ran
  // 300 times: so the first ran 1300 - 300 = 1000 times.
  const std::vector<::cpu_cuda::prof::SiteCounters> sites = {
      site("kernels/t.cuh:20 (f) via load_scalar", Space::global, Kind::load, 1300),
      site("kernels/t.cuh:25 (f)", Space::shared, Kind::load, 300),
      site("kernels/t.cuh:40 (f)", Space::global, Kind::store, 10),
  };
  const IssueCounts c = dynamic_issue(f, sites, 10);
  EXPECT_EQ(c.loops, 2);
  EXPECT_EQ(c.loops_without_anchor, 0);
  EXPECT_EQ(c.anchors, 4);
  // Body: S2R, LDG, ISETP, STG, MUFU, EXIT at 10 each (the parked branch and the NOP never run);
  // first loop: 4 instructions x 1000; second: 3 x 300.
  EXPECT_NEAR(c.instructions, 6 * 10 + 4 * 1000 + 3 * 300, kTol);
  EXPECT_NEAR(c.of(Pipe::memory), 10 + 1000 + 300 + 300 + 10, kTol);
  EXPECT_NEAR(c.of(Pipe::fma_heavy), 1000, kTol);
  EXPECT_NEAR(c.of(Pipe::fma), 1000, kTol);
  EXPECT_NEAR(c.of(Pipe::alu), 10, kTol);
  EXPECT_NEAR(c.of(Pipe::xu), 10, kTol);
  EXPECT_NEAR(c.of(Pipe::control), 1000 + 300 + 10, kTol);
  EXPECT_NEAR(c.of(Pipe::other), 10, kTol);
  ASSERT_EQ(c.regions.size(), 3u);
  EXPECT_NEAR(c.regions[1].executions, 1000, kTol);
  EXPECT_NEAR(c.regions[2].executions, 300, kTol);
}

TEST(KernelSass, UndecidedLoopsShareAndALoopWithoutAccessesRunsAsItsParent) {
  const KernelSass k = parse_kernel_sass(kText);
  const SassFunction& f = *k.of_cpu_symbol("tconv::cpu_run::k()");
  // Only line 20, with a copy in each loop: nothing tells the loops apart, they share.
  IssueCounts c =
      dynamic_issue(f, {site("kernels/t.cuh:20 (f)", Space::global, Kind::load, 500)}, 10);
  EXPECT_NEAR(c.regions[1].executions, 250, 1e-3);
  EXPECT_NEAR(c.regions[2].executions, 250, 1e-3);
  // Line 25 says the second loop ran 500 times: all of line 20's requests are its own.
  c = dynamic_issue(f,
                    {site("kernels/t.cuh:20 (f)", Space::global, Kind::load, 500),
                     site("kernels/t.cuh:25 (f)", Space::shared, Kind::load, 500)},
                    10);
  EXPECT_NEAR(c.regions[1].executions, 0, 1e-2);
  EXPECT_NEAR(c.regions[2].executions, 500, 1e-2);
  // No site at all: each loop runs once per warp, a lower bound, said so.
  c = dynamic_issue(f, {}, 10);
  EXPECT_EQ(c.loops_without_anchor, 2);
  EXPECT_NEAR(c.regions[1].executions, 10, 1e-9);
  EXPECT_FALSE(c.regions[1].anchored);
  // A site of another direction does not anchor a load.
  c = dynamic_issue(f, {site("kernels/t.cuh:20 (f)", Space::global, Kind::store, 500)}, 10);
  EXPECT_EQ(c.anchors, 0);
}

TEST(KernelSass, ASiteNamedByAnAccessHelperItselfYieldsToItsCallers) {
  const KernelSass k = parse_kernel_sass(kText);
  const SassFunction& f = *k.of_cpu_symbol("tconv::cpu_run::k()");
  // Line 20 is a helper's line (another call of it had no known caller); line 30 is the first
  // loop's caller: its load is line 30's, and line 20's requests are the second loop's.
  const IssueCounts c = dynamic_issue(
      f,
      {site("kernels/t.cuh:20 (pg::load_vec)", Space::global, Kind::load, 300),
       site("kernels/t.cuh:30 (f) via pg::load_vec", Space::global, Kind::load, 1000)},
      10);
  EXPECT_NEAR(c.regions[1].executions, 1000, kTol);
  EXPECT_NEAR(c.regions[2].executions, 300, kTol);
}

TEST(KernelSass, TheEstimateChargesIssueSlotsAndPipes) {
  const MachineModel m = h200();
  LaunchProfile l;
  l.blocks = l.blocks_run = 132;  // one block per SM
  IssueCounts c;
  c.instructions = 132 * 4e6;  // 4M per SM: 1M clocks of issue
  c.by_pipe[Pipe::alu] = 132 * 1e6;
  c.by_pipe[Pipe::fma_heavy] = 132 * 1e6;
  c.by_pipe[Pipe::fma] = 132 * 1e6;
  c.by_pipe[Pipe::xu] = 132 * 0.1e6;
  const Estimate e = estimate(l, m, 1e12, c);
  auto part = [&](const std::string& name) {
    for (const auto& p : e.parts)
      if (p.resource == name) return p;
    ADD_FAILURE() << "no part " << name;
    return Estimate::Part{};
  };
  EXPECT_NEAR(part("issue").hi, 1e6 / m.clock_hz.lo, 1e-12);
  EXPECT_NEAR(part("alu").hi, 1e6 * 32 / m.int_lanes_per_clk / m.clock_hz.lo, 1e-12);
  // IMAD only on the heavy half: 1M x 32 / 64 clocks, more than 2M x 32 / 128 of both halves.
  EXPECT_NEAR(part("fma").hi, 1e6 * 32 / m.imad_lanes_per_clk / m.clock_hz.lo, 1e-12);
  EXPECT_NEAR(part("xu").hi, 0.1e6 * 32 / m.xu_lanes_per_clk / m.clock_hz.lo, 1e-12);
  for (const auto& p : e.parts) EXPECT_NE(p.resource, "ffma");  // counted, not the lower bound
  EXPECT_EQ(e.bound, "issue");
}

TEST(KernelSass, TheEstimateChargesTheHottestLoopsLatencyOverItsStagesInFlight) {
  const MachineModel m = h200();
  LaunchProfile l;
  l.blocks = l.blocks_run = 132;  // one block of 8 warps per SM
  l.block = dim3(256, 1, 1);
  l.resident_blocks_per_sm = 1;
  IssueCounts c;
  c.instructions = 1;
  c.regions.resize(3);
  c.regions[1].anchored = true;
  c.regions[1].instructions = 10;
  c.regions[1].executions = 132 * 8 * 100;  // 100 iterations per warp
  c.regions[2].anchored = true;             // a colder loop: not the one that waits
  c.regions[2].instructions = 1;
  c.regions[2].executions = 132 * 8 * 100;
  auto latency = [&] {
    for (const auto& p : estimate(l, m, 0, c).parts)
      if (p.resource == "latency") return p;
    ADD_FAILURE() << "no latency part";
    return Estimate::Part{};
  };
  // No L2 model: every load an L2 hit; one DRAM latency for the single wave's first loads.
  EXPECT_NEAR(latency().hi, (100 * m.l2_latency_clk.hi + m.dram_latency_clk.hi) / m.clock_hz.lo,
              1e-12);
  EXPECT_NEAR(latency().lo, (100 * m.l2_latency_clk.lo + m.dram_latency_clk.lo) / m.clock_hz.hi,
              1e-12);
  c.regions[1].stages = 4;  // a 4-stage cp.async loop waits a quarter as often
  EXPECT_NEAR(latency().hi, (25 * m.l2_latency_clk.hi + m.dram_latency_clk.hi) / m.clock_hz.lo,
              1e-12);
  ::cpu_cuda::prof::BufferTraffic b;  // half the reads miss L2
  b.l2_read = 2e6;
  b.dram_read = 1e6;
  l.buffers.push_back(b);
  EXPECT_NEAR(latency().hi,
              (25 * (m.l2_latency_clk.hi + m.dram_latency_clk.hi) / 2 + m.dram_latency_clk.hi) /
                  m.clock_hz.lo,
              1e-12);
}

TEST(KernelSass, StagesComeFromTheLoopsWaitOnAsyncCopies) {
  const std::string text = R"(.text._ZN5tconv7gpu_run1kEv:
        /*0000*/                   S2R R0, SR_TID.X ;
.L_x_0:
        /*0010*/                   LDGSTS.E.BYPASS.128 [R1], desc[UR4][R2.64] ;
        /*0020*/                   LDGDEPBAR ;
        /*0030*/                   DEPBAR.LE SB0, 0x2 ;
        /*0040*/                   HMMA.16816.F32 R4, R8, R12, R4 ;
        /*0050*/               @P0 BRA `(.L_x_0) ;
        /*0060*/                   EXIT ;
)";
  const KernelSass k = parse_kernel_sass(text);
  const IssueCounts c = dynamic_issue(*k.function("tconv::gpu_run::k()"), {}, 1);
  ASSERT_EQ(c.regions.size(), 2u);
  EXPECT_EQ(c.regions[1].stages, 3);
  EXPECT_EQ(c.regions[0].stages, 3);  // the function holds the loop
  EXPECT_EQ(k.function("tconv::gpu_run::k()")->code[2].operands, "");
  EXPECT_EQ(k.function("tconv::gpu_run::k()")->code[3].operands, "SB0, 0x2");
}

// The build's own code: the direct kernel of phase_gemm is there with its loops, and its
// integer work outweighs its FP32 arithmetic.
TEST(KernelSass, TheBuildsDisassemblyHoldsOurKernels) {
  const KernelSass& k = build_kernel_sass();
  // scripts/bootstrap.sh installs nvdisasm, as it does cuobjdump for the registers: a build
  // without it is a broken setup, not a machine that lacks something optional.
  ASSERT_EQ(k.unavailable, "") << "the build wrote no disassembly";
  const SassFunction* f = k.function(
      "void tconv::gpu_run::phase_direct_kernel<float, (tconv::Layout)0, 8>(tconv::pg::gpu_run::"
      "DirectParams)");
  ASSERT_NE(f, nullptr);
  int ffma = 0, integer = 0, backward = 0;
  for (const SassInstruction& i : f->code) {
    const Pipe p = pipe_of(i.opcode);
    ffma += i.opcode.rfind("FFMA", 0) == 0;
    integer += p == Pipe::alu || p == Pipe::fma_heavy;
    backward += i.target >= 0 && i.target < int64_t(i.offset);
    for (const std::string& line : i.lines)  // our files as the sites name them, from kernels/
      if (line.find("kernels/") != std::string::npos) {
        EXPECT_EQ(line.rfind("kernels/", 0), 0u) << line;
      }
  }
  EXPECT_GT(ffma, 0);
  EXPECT_GT(integer, ffma);
  EXPECT_GE(backward, 2);
}

}  // namespace
}  // namespace tconv::profile
