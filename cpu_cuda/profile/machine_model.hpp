// The one machine model of the CPU profiler: what cpu_profile and the efficiency tests turn
// counters into a time with. Everything it predicts is a CPU-model estimate, never a
// measurement. Each constant names its source: a public measurement where one exists, the
// datasheet or whitepaper otherwise; where sources disagree, or a measurement and the datasheet
// do, the constant is a range (low, high) and every time derived from it is a range too. Where no
// source publishes the number, it says so.
#pragma once

#include <string>

namespace tconv::profile {

// A quantity known only between two values: lo <= hi. For a rate, lo is the slower end.
struct Range {
  double lo, hi;
  Range operator*(double s) const { return {lo * s, hi * s}; }
  Range operator*(const Range& o) const { return {lo * o.lo, hi * o.hi}; }
};

struct MachineModel {
  std::string name;
  int sms;         // streaming multiprocessors
  Range clock_hz;  // SM clock under load
  // Per SM and per clock:
  double smem_wavefronts_per_clk;
  Range mma_sync_per_clk;  // warp-wide mma.sync (m16n8k16 16-bit or m16n8k8 tf32)
  double ffma_lanes_per_clk;  // FP32 add/multiply/FMA (the whole FMA pipe)
  double int_lanes_per_clk;   // integer add, compare, logic, shift (the ALU pipe)
  double imad_lanes_per_clk;  // integer multiply-add (the heavy half of the FMA pipe)
  double xu_lanes_per_clk;    // conversions and special functions (MUFU)
  double issue_per_clk;       // warp instructions issued (one per scheduler)
  // Whole GPU:
  Range l2_bytes_per_clk;  // L2 <-> SM bandwidth
  Range dram_bytes_per_s;  // HBM bandwidth a streaming kernel reaches
  double l2_bytes;         // L2 capacity
  // Per SM limits (occupancy):
  double smem_per_sm;  // shared memory (bytes)
  double l1_smem_per_sm;  // L1 data cache and shared memory together (bytes)
  int regs_per_sm;     // 32-bit registers
  int max_threads_per_sm, max_blocks_per_sm;
  // Loaded latency of a load that hits L2 and of one that goes to DRAM (SM clocks).
  Range l2_latency_clk, dram_latency_clk;
  // The time of one launch besides its work: the gap between two kernels of one stream.
  Range launch_overhead_s;
  // How resources that run at the same time combine into one time: (sum t_i^p)^(1/p). p -> inf
  // is perfect overlap (the max), p = 1 none (the sum).
  double overlap_p;
  const char* sources;

  // Rates per second, per SM where the constant is per SM.
  Range smem_wavefronts_per_s() const { return clock_hz * smem_wavefronts_per_clk; }
  Range mma_sync_per_s() const { return mma_sync_per_clk * clock_hz; }
  Range ffma_per_s() const { return clock_hz * ffma_lanes_per_clk; }
  Range l2_bytes_per_s() const { return l2_bytes_per_clk * clock_hz; }
};

// NVIDIA H200 SXM (GH100, as H100 SXM5 with HBM3e). The SM and its rates are the H100 SXM5's;
// only the memory differs.
inline MachineModel h200() {
  MachineModel m;
  m.name = "H200 SXM";
  m.sms = 132;  // NVIDIA H100 Tensor Core GPU Architecture whitepaper: 132 SMs (SXM5)
  // NVIDIA's peaks use two clocks: dense 16-bit tensor 989.4 TFLOP/s = 132 SMs x 4096 FLOP/clk
  // (4 tensor cores x 512 FMA) x 1.83 GHz, and FP32 66.9 TFLOP/s = 132 x 128 lanes x 2 x 1.98 GHz
  // (H100/H200 datasheets). 1.98 GHz is the maximum boost, 1.83 GHz the clock the tensor peak is
  // quoted at; the model takes the two as its range (a power-capped GPU can run lower still: the
  // results CSV's throttled column says when a measured row did).
  m.clock_hz = {1.83e9, 1.98e9};
  m.smem_wavefronts_per_clk = 1;  // CUDA C++ Programming Guide: 32 banks x 4 bytes per clock
  // mma.sync m16n8k16 f16 -> f32 on an H100 SXM: about 668 TFLOP/s (67% of the 989.4 dense peak;
  // arXiv 2501.12084, "Dissecting the NVIDIA Hopper Architecture through Microbenchmarking and
  // Multiple Level Analysis", tensor-core section, and its public H100 reproductions). The paper
  // does not state its clock: 668e12 / (132 x 4096 FLOP) per SM and second is 0.675 mma.sync per
  // clock at 1.83 GHz and 0.624 at 1.98 GHz. tf32 m16n8k8 is half the FLOP at half the 16-bit
  // rate: the same instruction rate.
  m.mma_sync_per_clk = {668e12 / (132 * 4096.0 * 1.98e9), 668e12 / (132 * 4096.0 * 1.83e9)};
  m.ffma_lanes_per_clk = 128;  // whitepaper: 128 FP32 cores per SM
  m.int_lanes_per_clk = 64;    // whitepaper: 64 INT32 cores per SM
  // CUDA C++ Programming Guide, throughput of native arithmetic instructions, compute capability
  // 9.0: 32-bit integer multiply and multiply-add 64 results per clock per SM; type conversions
  // and reciprocal, square root, exp2, log2, sine, cosine 16.
  m.imad_lanes_per_clk = 64;
  m.xu_lanes_per_clk = 16;
  // Whitepaper: four partitions per SM, each with a warp scheduler that dispatches one warp
  // instruction per clock.
  m.issue_per_clk = 4;
  // L2: NVIDIA publishes no Hopper figure (the A100 whitepaper's 5120 bytes/clk is A100's, and
  // was this model's value before). Public Hopper microbenchmarks (arXiv 2501.12084's L2
  // throughput tests among them) put the whole GPU's L2 read bandwidth at about 4300-4800 bytes
  // per clock; the range is that reading, not a transcribed table, until the first GPU run's
  // own L2-resident read replaces it.
  m.l2_bytes_per_clk = {4300, 4800};
  // HBM3e: 4.8 TB/s (H200 datasheet) at the high end; a streaming copy reaches about 90% of a
  // datasheet's DRAM bandwidth in public Hopper copy benchmarks, 4.32 TB/s at the low end, until
  // the run's own copy ceiling (the CSV's ceiling_copy_gbps) replaces it.
  m.dram_bytes_per_s = {0.9 * 4.8e12, 4.8e12};
  m.l2_bytes = 50e6;            // whitepaper: 50 MB L2 (H100 SXM5; H200 the same die)
  m.smem_per_sm = 228 * 1024;   // CUDA C++ Programming Guide, compute capability 9.0: 228 KB per SM
  m.l1_smem_per_sm = 256 * 1024;  // whitepaper: 256 KB combined L1 data cache and shared memory
  m.regs_per_sm = 65536;        // same table: 64K 32-bit registers per SM
  m.max_threads_per_sm = 2048;  // same table
  m.max_blocks_per_sm = 32;     // same table
  // Pointer-chase latencies: public Hopper microbenchmarks measure them (arXiv 2402.13499 and
  // 2501.12084 among them), but their tables were not transcribed here: 200-300 clocks for an L2
  // hit and 450-700 for DRAM are assumptions of that order, wide on purpose, until the first GPU
  // run's own pointer chase replaces them.
  m.l2_latency_clk = {200, 300};
  m.dram_latency_clk = {450, 700};
  // No public Hopper measurement of the gap between two dependent launches of one stream was
  // found; 2-4 us is an assumption (the order of CUDA's launch latency on recent GPUs), to be
  // replaced by the first GPU run's own measurement.
  m.launch_overhead_s = {2e-6, 4e-6};
  // Resources within 25% of each other do not overlap perfectly: with p = 4 two equal ones take
  // 1.19x either alone, three 1.32x, and one 2x larger than the rest dominates (within 4%). The
  // value is a modelling choice, not a measurement.
  m.overlap_p = 4;
  m.sources =
      "NVIDIA H100 Tensor Core GPU Architecture whitepaper (SMs, cores, L2 size), H100/H200 "
      "datasheets (clocks, 989.4 TFLOP/s at 1.83 GHz, 4.8 TB/s), CUDA C++ Programming Guide "
      "(banks, cc 9.0 limits and instruction throughputs), arXiv 2501.12084 (mma.sync 668 TFLOP/s), public Hopper "
      "microbenchmarks (L2 4300-4800 B/clk, copies at about 90% of the datasheet's DRAM rate); "
      "latencies, launch overhead and the overlap rule are assumptions";
  return m;
}

}  // namespace tconv::profile
