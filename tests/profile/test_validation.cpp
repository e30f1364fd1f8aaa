// The profiler's whole chain held to the published rates its machine model is built from
// (docs/cpu-profiler.md, "Validation"): small kernels of our own, each the shape of a published
// microbenchmark, run on the CPU runtime with the counters, the L2 model and the sampling a
// cpu_profile run uses, and turned into a CPU-model estimate. What the prediction implies (bytes
// or FLOPs over the predicted time, low and high ends) must be within 15% of the published value
// at each end. The constants come from those same sources, so this does not check the constants;
// it checks that counting, scaling a sampled grid, the busiest SM, the L2 model, the combination
// rule and the launch overhead do not distort them. Registers and residency are held to CUDA's
// occupancy rule. Loaded latency (a pointer chase) is not modelled, so it has no row yet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cpu_cuda/device_memory.hpp"
#include "cpu_cuda/profile/profile_report.hpp"
#include "cpu_cuda/profiler.hpp"
#include "kernels/common/launch.cuh"

namespace tconv {
namespace {

namespace prof = ::cpu_cuda::prof;
using profile::Estimate;
using profile::MachineModel;
using profile::Range;

// Shared memory: every warp reads 32 consecutive words (one wavefront) per iteration.
__global__ void smem_read_kernel(float* out, int iters) {
  __shared__ float buf[256];
  const int t = int(threadIdx.x);
  buf[t] = float(t);
  __syncthreads();
  float acc = 0.f;
  for (int i = 0; i < iters; ++i) acc += buf[(t + i) & 255];
  out[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}

// An L2-resident read: block (x, y) reads chunk x of a buffer far smaller than the L2, with plain
// loads (L1 is not counted for them, as ld.global.cg in the published L2 tests). The 16-byte
// loads and stores go through the runtime's vector accesses, as our kernels' do: a plain uint4
// copy may become four 4-byte accesses on the CPU, four requests where the GPU makes one.
__global__ void l2_read_kernel(const uint4* x, unsigned* out, int chunk_vec) {
  const uint4* p = x + size_t(blockIdx.x) * size_t(chunk_vec);
  unsigned acc = 0;
  for (int i = int(threadIdx.x); i < chunk_vec; i += int(blockDim.x)) {
    const uint4 v = ::cpu_cuda::load_vec<uint4>(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  out[(size_t(blockIdx.y) * gridDim.x + blockIdx.x) * blockDim.x + threadIdx.x] = acc;
}

// A DRAM copy: each thread copies 16 bytes of buffers far larger than the L2.
__global__ void copy16_kernel(const uint4* x, uint4* y) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint4 v = ::cpu_cuda::load_vec<uint4>(x + i);
  ::cpu_cuda::store16(y + i, &v);
}

// mma.sync m16n8k16 f16 -> f32 back to back, as the published throughput loop.
__global__ void mma_loop_kernel(float* out, int iters) {
  const uint32_t a[4] = {0x3c003c00u, 0x3c003c00u, 0x3c003c00u, 0x3c003c00u};  // 1.0 halves
  const uint32_t b[2] = {0x3c003c00u, 0x3c003c00u};
  float c0 = 0.f, c1 = 0.f, c2 = 0.f, c3 = 0.f;
  for (int i = 0; i < iters; ++i) ::cpu_cuda::mma_sync<__half>(c0, c1, c2, c3, a, b);
  out[blockIdx.x * blockDim.x + threadIdx.x] = c0 + c1 + c2 + c3;
}

// Registers: a kernel whose machine code is taken to need 255 registers per thread.
__global__ void heavy_kernel(float* out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1.f;
}

// The L1 rule: a small read-only buffer every block rereads, a large one it reads twice.
__global__ void ldg_reuse_kernel(const float* small, const float* big, float* out, int reps,
                                 int big_n) {
  float acc = 0.f;
  for (int r = 0; r < reps; ++r) acc += __ldg(small + threadIdx.x);
  for (int pass = 0; pass < 2; ++pass)
    for (int i = int(threadIdx.x); i < big_n; i += int(blockDim.x)) acc += __ldg(big + i);
  out[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}

// A pointer chase: one warp, each lane following its own chain of dependent loads.
constexpr int kChaseLine = __LINE__ + 4;  // the line of the load below
__global__ void chase_kernel(const unsigned* next, unsigned* out, int steps) {
  unsigned p = threadIdx.x;
  for (int i = 0; i < steps; ++i) {
    p = next[p];
  }
  out[threadIdx.x] = p;
}

// The chase's machine code, as nvcc makes such a loop (the test kernels are CPU code only, with
// no SASS of their own): the dependent load, the address, the branch back.
std::string chase_sass() {
  const std::string at = "\t//## File \"/src/tests/profile/test_validation.cpp\", line " +
                         std::to_string(kChaseLine) + "\n";
  return ".text._ZN5tconv5chaseEv:\n"
         "        /*0000*/                   S2R R0, SR_TID.X ;\n"
         ".L_x_0:\n" +
         at +
         "        /*0010*/                   LDG.E R0, desc[UR4][R2.64] ;\n"
         "        /*0020*/                   IMAD.WIDE.U32 R2, R0, 0x4, R4 ;\n"
         "        /*0030*/               @P0 BRA `(.L_x_0) ;\n"
         "        /*0040*/                   STG.E desc[UR4][R6.64], R0 ;\n"
         "        /*0050*/                   EXIT ;\n";
}

class Validation : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prof::instrumented()) GTEST_SKIP() << "not an instrumented binary";
  }
  void TearDown() override { prof::configure(prof::Settings{}); }

  // The profile of one launch with cpu_profile's settings (its default sample of 16 blocks).
  template <typename F>
  prof::LaunchProfile profile(F&& launch_it, bool l2 = true) {
    prof::Settings s = profile::settings_for(m, 16, l2);
    s.registers_per_thread = registers;
    prof::configure(s);
    prof::clear();
    launch_it();
    EXPECT_EQ(prof::launches().size(), 1u);
    return prof::launches().empty() ? prof::LaunchProfile{} : prof::launches().back();
  }

  // A rate implied by the estimate (work over the predicted time) against a published range:
  // within 15% at both ends.
  void expect_rate(const char* what, double work, const Estimate& e, Range published) {
    const double lo = work / e.hi, hi = work / e.lo;
    EXPECT_NEAR(lo / published.lo, 1.0, 0.15) << what << ": predicted low end " << lo;
    EXPECT_NEAR(hi / published.hi, 1.0, 0.15) << what << ": predicted high end " << hi;
    std::printf("[ validation ] %s: predicted %.4g-%.4g, published %.4g-%.4g, ratio %.3f-%.3f\n",
                what, lo, hi, published.lo, published.hi, lo / published.lo, hi / published.hi);
  }

  const MachineModel m = profile::h200();
  std::function<int(const std::string&)> registers = [](const std::string& sym) {
    return sym.find("heavy_kernel") != std::string::npos ? 255 : 0;
  };
};

TEST_F(Validation, SharedMemoryBandwidth) {
  // 32 banks x 4 bytes per clock per SM (CUDA C++ Programming Guide) at the H200's clocks.
  const int blocks = 132 * 64, threads = 256, iters = 256;
  auto out = ::cpu_cuda::device_vec<float>(size_t(blocks) * threads, 0.f, "out");
  const prof::LaunchProfile l = profile([&] {
    launch(smem_read_kernel, dim3(blocks), dim3(threads), 0, nullptr, out.data(), iters);
  });
  const double bytes = double(blocks) * threads * iters * 4;
  expect_rate("shared memory, bytes/s", bytes, profile::estimate(l, m, 0),
              m.clock_hz * (128.0 * m.sms));
}

TEST_F(Validation, L2ResidentRead) {
  // Public Hopper L2 read tests: about 4300-4800 bytes per clock for the whole GPU.
  const int chunks = 64, repeats = 132, threads = 256, chunk_vec = 4096;  // 64 KiB chunks, 4 MiB
  auto x = ::cpu_cuda::device_vec<uint4>(size_t(chunks) * chunk_vec, uint4{1, 2, 3, 4}, "x");
  auto out = ::cpu_cuda::device_vec<unsigned>(size_t(chunks) * repeats * threads, 0u, "out");
  const prof::LaunchProfile l = profile([&] {
    launch(l2_read_kernel, dim3(chunks, repeats), dim3(threads), 0, nullptr, x.data(), out.data(),
           chunk_vec);
  });
  const double bytes = double(chunks) * repeats * chunk_vec * 16;
  expect_rate("L2-resident read, bytes/s", bytes, profile::estimate(l, m, 0),
              m.clock_hz * Range{4300, 4800});
}

TEST_F(Validation, DramCopy) {
  // A streaming copy reaches about 90% of the datasheet's 4.8 TB/s (public Hopper copies).
  const size_t n = size_t(16) << 20;  // 16M x 16 bytes = 256 MiB per buffer
  auto x = ::cpu_cuda::device_vec<uint4>(n, uint4{1, 2, 3, 4}, "x");
  auto y = ::cpu_cuda::device_vec<uint4>(n, uint4{0, 0, 0, 0}, "y");
  const prof::LaunchProfile l = profile([&] {
    launch(copy16_kernel, dim3(unsigned(n / 256)), dim3(256), 0, nullptr, x.data(), y.data());
  });
  double dram = 0;
  for (const auto& b : l.buffers) dram += b.dram_read + b.dram_write;
  EXPECT_NEAR(dram / (2.0 * double(n) * 16), 1.0, 0.02) << "the L2 model: each byte once";
  expect_rate("DRAM copy, bytes/s (read + written)", 2.0 * double(n) * 16,
              profile::estimate(l, m, 0), Range{0.9 * 4.8e12, 4.8e12});
}

TEST_F(Validation, MmaSyncThroughput) {
  // arXiv 2501.12084: mma.sync m16n8k16 f16 -> f32 at about 668 TFLOP/s on an H100 SXM.
  const int blocks = 132 * 64, threads = 128, iters = 512;
  auto out = ::cpu_cuda::device_vec<float>(size_t(blocks) * threads, 0.f, "out");
  const prof::LaunchProfile l = profile(
      [&] { launch(mma_loop_kernel, dim3(blocks), dim3(threads), 0, nullptr, out.data(), iters); });
  const double mma = double(blocks) * (threads / 32) * iters;
  EXPECT_NEAR(l.mma / mma, 1.0, 1e-9);
  expect_rate("mma.sync f16, FLOP/s", mma * 4096, profile::estimate(l, m, 0),
              Range{668e12, 668e12});
}

TEST_F(Validation, L1HoldsTheReadOnlyBuffersThatFit) {
  // 8 blocks of 256 threads per SM: small's 1 KiB per block fits, big's 320 KiB does not.
  const int blocks = 132, threads = 256, reps = 16, big_n = 80 * 1024;
  auto small = ::cpu_cuda::device_vec<float>(threads, 1.f, "small");
  auto big = ::cpu_cuda::device_vec<float>(size_t(big_n), 1.f, "big");
  auto out = ::cpu_cuda::device_vec<float>(size_t(blocks) * threads, 0.f, "out");
  const prof::LaunchProfile l = profile(
      [&] {
        launch(ldg_reuse_kernel, dim3(blocks), dim3(threads), 0, nullptr, small.data(), big.data(),
               out.data(), reps, big_n);
      },
      false);
  EXPECT_EQ(l.l1_held, std::vector<std::string>{"small"});
  EXPECT_FALSE(l.l1_holds_read_only);
  double small_sectors = 0, small_l2 = 0, big_sectors = 0, big_l2 = 0;
  for (const auto& c : l.sites) {
    if (!c.read_only) continue;
    const bool is_small = l.buffers[size_t(c.alloc)].name == "small";
    (is_small ? small_sectors : big_sectors) += c.sectors;
    (is_small ? small_l2 : big_l2) += c.l2_sectors;
  }
  EXPECT_NEAR(small_sectors, double(blocks) * reps * 32, 1e-6);  // 1 KiB = 32 sectors, per read
  EXPECT_NEAR(small_l2, double(blocks) * 32, 1e-6);              // once per block
  EXPECT_NEAR(big_l2, big_sectors, 1e-6);                        // every request
  EXPECT_NEAR(big_sectors, double(blocks) * 2 * big_n * 4 / 32, 1e-6);
}

// Loaded latency: the time per dependent load the chain predicts, against the model's own
// latencies. These are assumptions (machine_model.hpp: no published table was transcribed), so
// this checks the chain (the loop's iterations from its access counts, the L2 model's miss ratio,
// the latency part, the fill, the launch overhead), not the latencies.
TEST_F(Validation, PointerChaseTakesTheLoadedLatencyPerStep) {
  const profile::KernelSass k = profile::parse_kernel_sass(chase_sass());
  const profile::SassFunction* f = k.function("tconv::chase()");
  ASSERT_NE(f, nullptr);
  const int steps = 10000;
  for (const bool dram : {false, true}) {
    // L2: 64 chains of 32-byte strides that wrap after 8 steps (every sector after the first lap
    // hits); DRAM: strides of 16 KiB that never come back (every step a new sector, a cold miss).
    const size_t n = dram ? size_t(steps + 1) * 4096 : 64 * 8;
    std::vector<unsigned> host(n);
    for (size_t i = 0; i < n; ++i)
      host[i] = dram ? unsigned(std::min(n - 1, i + 4096)) : unsigned((i + 64) % n);
    auto next = ::cpu_cuda::to_device(host, "next");
    auto out = ::cpu_cuda::device_vec<unsigned>(32, 0u, "out");
    const prof::LaunchProfile l = profile(
        [&] { launch(chase_kernel, dim3(1), dim3(32), 0, nullptr, next.data(), out.data(), steps); });
    const profile::IssueCounts issue = profile::dynamic_issue(*f, l.sites, 1);
    ASSERT_EQ(issue.regions.size(), 2u);
    EXPECT_NEAR(issue.regions[1].executions, steps, 1e-3 * steps);
    const Range latency = dram ? m.dram_latency_clk : m.l2_latency_clk;
    // As a rate: dependent loads per second, the clock over the latency.
    expect_rate(dram ? "DRAM pointer chase, loads/s (the model's assumed latency)"
                     : "L2 pointer chase, loads/s (the model's assumed latency)",
                steps, profile::estimate(l, m, 0, issue),
                Range{m.clock_hz.lo / latency.hi, m.clock_hz.hi / latency.lo});
  }
}

TEST_F(Validation, RegisterLimitedKernelRunsOneBlockPerSm) {
  // CUDA's occupancy rule: 255 registers (256 allocated per thread) x 256 threads = 64K, the
  // whole register file: one block per SM, limited by registers.
  auto out = ::cpu_cuda::device_vec<float>(size_t(264) * 256, 0.f, "out");
  const prof::LaunchProfile l =
      profile([&] { launch(heavy_kernel, dim3(264), dim3(256), 0, nullptr, out.data()); }, false);
  EXPECT_EQ(l.regs_per_thread, 255);
  EXPECT_EQ(l.resident_blocks_per_sm, 1);
  EXPECT_EQ(l.residency_limit, "registers");
}

}  // namespace
}  // namespace tconv
