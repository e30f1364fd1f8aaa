// What a GPU profiler would say about a kernel, measured while it runs on the CPU runtime.
//
// Where the accesses come from: the kernel test translation units of the instrumented binaries
// (tconv_mem_tests, cpu_profile) are compiled with GCC's -fsanitize=thread, which makes the
// compiler call __tsan_read<N>/__tsan_write<N>/__tsan_*_range before every memory access it
// could not keep in registers. Those binaries do not link libtsan: tsan_hooks.cpp defines the
// callbacks and hands (address, size, kind, call site) to on_access() below. The call site is
// the return address, i.e. one machine instruction of the instrumented code; it is symbolised
// with addr2line to file:line of kernels/ or bench/ (the first frame of the inline chain outside
// the runtime). Every __global__ compiled into those binaries is covered, none is chosen.
//
// What is ignored: accesses outside a kernel body (the test's host code, the launch glue), the
// calling thread's own stack (locals, kernel parameters: each thread's copy lives there, and the
// runtime keeps threadIdx & co. at the bottom of it), the runtime's own memory (the mma model's
// warp scratch) and the binary's static data (on a GPU a kernel cannot name a host variable;
// nvcc refuses it). Everything else is checked and counted:
//
//   memcheck   a global access must lie inside one live allocation made through the runtime
//              (device_memory.hpp: exact sizes, guard bytes between), a shared access inside one
//              __shared__ array (their bounds come from the binary's symbol table), and a shared
//              read must read bytes that a thread of the block wrote since the block started.
//              A violation fails the launch with the site, the address and the nearest
//              allocation, also when the value read is then discarded.
//   racecheck  what compute-sanitizer --tool racecheck reports, without needing the values to
//              differ: per byte of each __shared__ array, its last write and the reads since,
//              each with its thread and the block's barrier interval (the __syncthreads between
//              two releases) and, for lanes of one warp, the warp's interval (__syncwarp and the
//              warp-collective models, which synchronise the warp). A read after a write, a write
//              after a read or a write after a write by two threads in the same interval (two
//              warps in one block interval; two lanes of a warp also in one warp interval) fails
//              the launch with both sites, the array, the byte and the address. A thread's own
//              accesses and reads after reads are never hazards; shared atomics are not checked.
//   counters   per (kernel, site), in CUDA's model of a warp-wide instruction: the i-th dynamic
//              execution of a site by each lane of a warp is one request (lanes that never get
//              there are inactive). Global: requests, bytes, distinct 32-byte sectors and the
//              ideal sectors for the bytes touched. Shared: requests, wavefronts under the bank
//              rule (32 banks of 4 bytes; lanes reading the same word share it; accesses of 8
//              bytes are served per half-warp and of 16 bytes per quarter-warp) and the
//              conflict-free count. Per launch: mma.sync instructions.
//   L1 rule    a global load through __ldg is read-only data, which the SM's L1 keeps: per
//              buffer, the read-only sectors the largest block touches times the blocks resident
//              on an SM is its footprint; buffers in increasing footprint, as many as fit in the
//              L1 left beside the blocks' shared memory, are held, and a read-only sector of a
//              held buffer is charged to L2 once per block instead of once per request (no reuse
//              across blocks is assumed). Other loads are charged per request.
//   L2 model   DRAM bytes per buffer: blocks in launch order, one wave of resident blocks at a
//              time, an LRU of 32-byte sectors the size of the modelled GPU's L2.
//
// A large grid is sampled: only the chosen blocks run (sample_blocks) and the counters are
// scaled by blocks / blocks run. The L2 model then needs every block's footprint: a block that
// did not run takes the footprint of the sampled block nearest to it (same y and z where one
// exists), translated per buffer by the per-grid-step shift measured between sampled neighbours
// (a tile of x, w or y moves by a fixed stride as blockIdx steps). The CPU tests hold that
// extrapolation against the full grid on problems where both run.
#pragma once

#include <cstdint>
#include <map>
#include <functional>
#include <string>
#include <vector>

#include "cpu_cuda/cpu_cuda.hpp"

namespace cpu_cuda::prof {

// Space and Kind: cpu_cuda.hpp.

// True in a binary whose kernel code is instrumented (tsan_hooks.cpp linked): only there do
// accesses reach the profiler.
bool instrumented();

struct Settings {
  bool memcheck = true;     // fail a launch on an invalid or uninitialized access
  bool racecheck = true;    // fail a launch on a shared-memory hazard (below)
  bool counters = false;    // per-site efficiency counters and the per-launch profile
  bool l2 = false;          // the L2 model (needs counters)
  int sample_blocks = 0;    // 0: every block; else about this many, spread over the grid
  int sms = 132;            // for the wave size of the L2 model
  int max_threads_per_sm = 2048;
  int max_blocks_per_sm = 32;
  int64_t smem_per_sm = 228 * 1024;
  int64_t smem_reserved_per_block = 1024;
  int64_t l2_bytes = 50 * 1000 * 1000;
  int64_t l1_smem_per_sm = 256 * 1024;  // L1 data cache and shared memory together
  int regs_per_sm = 65536;
  // Registers per thread of a kernel's GPU machine code, by the demangled symbol of its CPU
  // build (function_symbol); 0 where unknown, and then registers do not limit residency.
  std::function<int(const std::string& symbol)> registers_per_thread;
};
void configure(const Settings& s);
const Settings& settings();

// Blocks of one kernel resident on an SM at once: the least of what the threads, the shared
// memory, the registers and the block limit allow, and which of them binds ("threads",
// "shared memory", "registers" or "blocks"). Registers are allocated per warp in units of 256
// (CUDA's occupancy calculator for compute capability 9.0); regs_per_thread 0: not a limit.
struct Residency {
  int blocks = 1;
  std::string limit;
};
Residency residency(const Settings& cfg, int threads_per_block, int64_t smem_per_block,
                    int regs_per_thread);

struct SiteCounters {
  uintptr_t pc = 0;  // the instruction's address (offset in the binary, stable per build)
  std::string where;  // file:line (function)
  Space space = Space::global;
  Kind kind = Kind::load;
  double requests = 0, lane_accesses = 0, bytes = 0;
  double sectors = 0, ideal_sectors = 0;        // global
  bool read_only = false;     // a load through __ldg
  int32_t alloc = -1;         // global: its buffer (index in LaunchProfile::buffers), -1 if none
  double block_sectors = 0;   // read-only: the distinct sectors of each block, summed
  // Sectors this site requests from L2: under the L1 rule a read-only site's block_sectors.
  double l2_sectors = 0;
  double wavefronts = 0, ideal_wavefronts = 0;  // shared
  double sector_efficiency() const { return sectors > 0 ? ideal_sectors / sectors : 1.0; }
  double wavefront_ratio() const { return ideal_wavefronts > 0 ? wavefronts / ideal_wavefronts : 1.0; }
};

struct BufferTraffic {
  std::string name;
  int64_t size = 0;             // bytes of the allocation
  double dram_read = 0, dram_write = 0;  // modelled DRAM bytes
  double l2_read = 0, l2_write = 0;      // bytes of the sectors requested from L2
  // The extrapolated footprints cover under 90% of what the sampled blocks' own footprints,
  // scaled to the grid, would: the buffer's tiles do not move by a fixed shift per grid step
  // (e.g. an NCHW operand whose tile spans channel planes), so its DRAM bytes are not reliable.
  bool extrapolation_suspect = false;
};

struct LaunchProfile {
  const void* kernel = nullptr;
  std::string kernel_name;
  std::string kernel_symbol;  // demangled symbol of the CPU build (for the GPU code's lookups)
  dim3 grid, block;
  int64_t blocks = 0, blocks_run = 0;
  double scale = 1;             // blocks / blocks_run
  int64_t static_smem = 0;      // bytes of the __shared__ arrays the kernel touched
  int resident_blocks_per_sm = 0;
  std::string residency_limit;  // Residency::limit
  int regs_per_thread = 0;      // of the GPU machine code; 0: unknown
  // The L1 rule: the read-only footprint per SM (each buffer's largest block's, times the
  // resident blocks), the L1 left beside their shared memory, the buffers it holds (in increasing
  // footprint, as many as fit) and their footprint, and whether it holds them all.
  double l1_read_only_per_sm = 0, l1_bytes = 0, l1_held_per_sm = 0;
  std::vector<std::string> l1_held;
  bool l1_holds_read_only = false;
  double mma = 0;               // mma.sync instructions (scaled)
  std::vector<SiteCounters> sites;
  std::vector<BufferTraffic> buffers;  // filled when the L2 model ran
  bool l2_extrapolated = false;
};

// Profiles of the launches since the last clear() (only with counters on).
const std::vector<LaunchProfile>& launches();
void clear();

// file:line (function) of an instruction address, as the reports print it.
std::string symbolize(uintptr_t pc);
// A demangled symbol (the symbol itself where it does not demangle).
std::string demangle(const char* symbol);
// A source path as the sites name it: from kernels/, bench/, tests/, core/ or reference/ on.
std::string relative_path(const std::string& path);
// Whether a function is one of our kernels' one-line access helpers (load_scalar, load_vec, ...):
// a site is named by the helper's caller, and by the helper itself only where no caller in our
// kernels' code is known.
bool access_helper(const std::string& function);

// ---- Called by the runtime (cpu_cuda.cpp), the mma model and tsan_hooks.cpp ----------------
void launch_begin(const void* kernel, dim3 grid, dim3 block);
bool want_block(uint64_t linear);  // false: the sample skips this block
void block_begin(uint64_t linear, uint3 block_idx);
void block_end();
void launch_end(bool failed);
void count_mma();
// Barrier releases (cpu_cuda.cpp): the block's __syncthreads, and a warp's __syncwarp or
// collective; racecheck's intervals.
void block_barrier();
void warp_barrier(int warp);
// Memory of the runtime itself that kernel code touches through the runtime's inline models.
void set_runtime_range(int slot, const void* p, size_t bytes);
}  // namespace cpu_cuda::prof
