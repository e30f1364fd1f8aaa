// The one machine model of the CPU profiler: what cpu_profile and the efficiency tests turn
// counters into a time with. Everything it predicts is a CPU-model estimate, never a
// measurement. Each constant names its source; where none publishes the number, it says so.
#pragma once

#include <string>

namespace tconv::profile {

struct MachineModel {
  std::string name;
  int sms;                        // streaming multiprocessors
  double clock_hz;                // SM clock
  double smem_wavefronts_per_clk;  // per SM
  double mma_sync_per_clk;        // warp-wide mma.sync (m16n8k16 16-bit or m16n8k8 tf32) per SM
  double ffma_lanes_per_clk;      // FP32 FMA lanes per SM
  double int_lanes_per_clk;       // INT32 lanes per SM
  double l2_bytes_per_s;          // L2 <-> SM bandwidth
  double dram_bytes_per_s;        // HBM bandwidth
  double l2_bytes;                // L2 capacity
  double smem_per_sm;             // shared memory per SM (bytes)
  int max_threads_per_sm, max_blocks_per_sm;
  const char* sources;
};

// NVIDIA H200 SXM (GH100, as H100 SXM5 with HBM3e).
inline MachineModel h200() {
  MachineModel m;
  m.name = "H200 SXM";
  m.sms = 132;                 // NVIDIA H100 Tensor Core GPU Architecture whitepaper: 132 SMs (SXM5)
  m.clock_hz = 1.98e9;         // H100 SXM5 max boost clock (NVIDIA datasheet); peak FP32 67 TFLOP/s = 132*128*2*1.98e9
  m.smem_wavefronts_per_clk = 1;  // CUDA C++ Programming Guide: 32 banks x 32 bits per clock = one 128-byte wavefront
  // Dense 16-bit tensor peak 989.4 TFLOP/s (H200 datasheet) is wgmma's: 989.4e12 / (132 * 1.98e9)
  // = 3786 FLOP/clk/SM. mma.sync is assumed to reach half of it on Hopper (about 495 TFLOP/s):
  // no NVIDIA document gives the rate; to be replaced by a measurement from the first GPU run.
  // m16n8k16 is 4096 FLOP, so 0.5 * 3786 / 4096 instructions per clock (tf32 m16n8k8 is 2048
  // FLOP at half the 16-bit rate: the same instruction rate).
  m.mma_sync_per_clk = 0.5 * 989.4e12 / (132 * 1.98e9) / 4096;
  m.ffma_lanes_per_clk = 128;  // whitepaper: 128 FP32 cores per SM
  m.int_lanes_per_clk = 64;    // whitepaper: 64 INT32 cores per SM
  // L2 bandwidth: not published for Hopper. The A100 whitepaper gives 5120 bytes/clk for A100's
  // L2; assumed the same per clock here (5120 * 1.98e9 = 10.1 TB/s).
  m.l2_bytes_per_s = 5120 * 1.98e9;
  m.dram_bytes_per_s = 4.8e12;  // H200 datasheet: 4.8 TB/s HBM3e
  m.l2_bytes = 50e6;            // whitepaper: 50 MB L2 (H100 SXM5; H200 the same die)
  m.smem_per_sm = 228 * 1024;   // CUDA C++ Programming Guide, compute capability 9.0: 228 KB per SM
  m.max_threads_per_sm = 2048;  // same table
  m.max_blocks_per_sm = 32;     // same table
  m.sources =
      "NVIDIA H100 Tensor Core GPU Architecture whitepaper (SMs, cores, L2 size), H100/H200 "
      "datasheets (clock, 989.4 TFLOP/s, 4.8 TB/s), CUDA C++ Programming Guide (banks, cc 9.0 "
      "limits), A100 whitepaper (L2 bytes/clk, assumed for Hopper); mma.sync = half of wgmma's "
      "peak is an assumption";
  return m;
}

}  // namespace tconv::profile
