// A CUDA runtime on the CPU: the real __global__ functions of kernels/ compile as plain
// C++ under it and run grid by grid, block by block, one fiber per thread. It exists because CI
// has no GPU: a slip in a kernel body or its launch must still give a wrong number somewhere.
//
// What a kernel sees, and why:
//   threadIdx/blockIdx/blockDim/gridDim  per fiber, from the launch the production code made
//   __shared__      static storage, filled with 0xFF bytes (NaN for every float type, -1 for
//                   integers) when each block starts: a read before a write shows up as NaN
//                   instead of a plausible leftover. Plain kernels' arrays share one linker
//                   section; GCC keeps template kernels' arrays in .bss, and the profiler
//                   (profiler.hpp) poisons those, found through the symbol table
//   __syncthreads() a real barrier; between barriers the block's threads run in a seeded random
//                   order (or warp by warp: set_schedule below), so a missing barrier lets a
//                   thread read a half-written tile
//   __syncwarp()/warp_sync()  the same among the 32 lanes of a warp (the mma model's exchange)
//   mma.sync        a warp-collective model from the PTX fragment tables (mma_sync.hpp): lanes
//                   exchange registers through per-warp scratch between two warp barriers
//   ldmatrix        the same, for the shared-memory matrix load (ldmatrix.hpp)
//   atomicAdd       a plain add (one OS thread runs everything)
//   __ldg of 16-byte vectors asserts 16-byte alignment, as the hardware would fault
// Launch limits (1024 threads a block, grid.y/z <= 65535; not yet the shared-memory size) are checked;
// a violation or a failed assertion makes tconv::launch throw after the grid has run.
#pragma once

// Library headers first: they use names such as blockDim as parameters, which the macros below
// would rewrite.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#define TCONV_CPU_CUDA 1

#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Every __shared__ array of every kernel lives in this section; the runtime poisons the whole
// section when a block starts (one block runs at a time, so the storage is the block's own).
#define __shared__ static __attribute__((section("tconv_cpu_shared")))

namespace cpu_cuda {

// Kept at the bottom of each fiber's own stack mapping, so that the kernel's reads of threadIdx and
// friends are reads of the thread's own stack (which the profiler ignores, see profiler.hpp).
struct ThreadState {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  int thread = 0, warp = 0, lane = 0;  // linear index in the block, its warp and lane
  bool in_kernel = false;              // inside the kernel body (not the launch glue)
  bool read_only = false;              // inside __ldg: the profiler's L1 rule (profiler.hpp)
  const char* stack_lo = nullptr;      // this fiber's stack mapping
  const char* stack_hi = nullptr;
};

namespace detail {
extern ThreadState* g_current;
}  // namespace detail

namespace prof {  // profiler.hpp
enum class Space : uint8_t { global, shared };
enum class Kind : uint8_t { load, store, atomic };
void on_access(const void* addr, size_t size, Kind kind, uintptr_t pc);
}  // namespace prof

// The launch the runtime saw last (tests check that a kernel was launched the way they expect).
struct LaunchRecord {
  dim3 grid, block;
  size_t smem = 0;
  int64_t launches = 0;  // since the last reset_launch_count()
};
const LaunchRecord& last_launch();
void reset_launch_count();

// The seed of the random thread order; each launch draws from it.
void set_seed(uint64_t seed);

// The order in which a block's threads run between barriers:
//   random         any runnable thread next, drawn from the seed (the default)
//   warp_ahead     the lowest-numbered warp with a runnable thread runs (its lanes in seeded
//                  order, through its warp collectives) until all of it waits at __syncthreads or
//                  has ended, then the next: warp 0 runs a whole phase ahead of warp 1, as one
//                  warp routinely does on a GPU
//   reverse_warps  the same from the highest-numbered warp down
// The variable TCONV_CPU_SCHEDULE (random, warp_ahead, reverse_warps) sets the initial value,
// so that a test binary can be run under another schedule unchanged (tests/CMakeLists.txt).
enum class Schedule { random, warp_ahead, reverse_warps };
void set_schedule(Schedule s);
Schedule schedule();
const char* to_string(Schedule s);

// Runs body once per thread of every block of grid, as described at the top. Throws
// std::runtime_error, after the grid ran, when a limit was broken or a check failed. kernel
// identifies the __global__ function for the profiler (cpu_cuda/profiler.hpp), which may
// also restrict the run to a sample of the grid's blocks.
void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, const std::function<void()>& body,
              const void* kernel = nullptr);

// Marks the calling fiber as inside the kernel body for its lifetime: what the launch glue reads
// (the parameter tuple, the closure) before it is not an access of the kernel's.
struct KernelScope {
  KernelScope() { detail::g_current->in_kernel = true; }
  ~KernelScope() { detail::g_current->in_kernel = false; }
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
};

// Block-wide and warp-wide barriers of the calling fiber.
void syncthreads();
void syncwarp();
// A failure detected inside a kernel (it cannot throw across a fiber switch): recorded, reported
// by run_grid.
void fail(const std::string& what);

inline void check_aligned(const void* p, size_t align, const char* what) {
  if ((reinterpret_cast<uintptr_t>(p) & (align - 1)) != 0)
    fail(std::string(what) + ": misaligned " + std::to_string(align) + "-byte vector access");
}

}  // namespace cpu_cuda

#define threadIdx (::cpu_cuda::detail::g_current->thread_idx)
#define blockIdx (::cpu_cuda::detail::g_current->block_idx)
#define blockDim (::cpu_cuda::detail::g_current->block_dim)
#define gridDim (::cpu_cuda::detail::g_current->grid_dim)

inline void __syncthreads() { ::cpu_cuda::syncthreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::cpu_cuda::syncwarp(); }

// An atomic is one access of kind atomic for the profiler: the body is not instrumented (it would
// count a load and a store), and noinline, so that the return address names the kernel's site.
#define TCONV_CPU_ATOMIC __attribute__((noinline, no_sanitize_thread))
template <typename T>
TCONV_CPU_ATOMIC T cpu_atomic_add(T* a, T v) {
  ::cpu_cuda::prof::on_access(a, sizeof(T), ::cpu_cuda::prof::Kind::atomic,
                              reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
  const T old = *a;
  *a = old + v;
  return old;
}
inline float atomicAdd(float* a, float v) { return cpu_atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return cpu_atomic_add(a, v); }
inline int atomicAdd(int* a, int v) { return cpu_atomic_add(a, v); }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
  return cpu_atomic_add(a, v);
}

// Always inlined: each caller's read is its own site (an out-of-line copy would give every
// caller of one type the same instruction address).
template <typename T>
__attribute__((always_inline)) inline T __ldg(const T* p) {
  if constexpr (sizeof(T) == 16) ::cpu_cuda::check_aligned(p, 16, "__ldg");
  else if constexpr (sizeof(T) == 8) ::cpu_cuda::check_aligned(p, 8, "__ldg");
  // The read below is marked read-only for the profiler, whose access callback runs inside it.
  struct ReadOnly {
    ::cpu_cuda::ThreadState* t = ::cpu_cuda::detail::g_current;
    ReadOnly() {
      if (t) t->read_only = true;
    }
    ~ReadOnly() {
      if (t) t->read_only = false;
    }
  } read_only;
  // memcpy: a misaligned access is reported by the check above, not left as undefined behaviour.
  T v;
  std::memcpy(static_cast<void*>(&v), static_cast<const void*>(p), sizeof(T));
  return v;
}

// A 16-byte vector load or store through a reinterpret_cast in the kernels goes through these, so
// the CPU run checks what the GPU would fault on.
namespace cpu_cuda {
template <typename V>
inline V load_vec(const void* p) {
  check_aligned(p, alignof(V) < sizeof(V) ? sizeof(V) : alignof(V), "vector load");
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
// A 16-byte vector store (the 16-bit tiles' shared chunks): one store access of 16 bytes for the
// profiler, whatever instructions the compiler would make of a 16-byte copy. Not instrumented and
// not inlined, as cpu_atomic_add, so that the return address is the kernel's instruction.
__attribute__((noinline, no_sanitize_thread)) inline void store16(void* p, const void* src) {
  check_aligned(p, 16, "vector store");
  prof::on_access(p, 16, prof::Kind::store, reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
  std::memcpy(p, src, 16);
}
}  // namespace cpu_cuda


#include "cpu_cuda/device_memory.hpp"
#include "cpu_cuda/mma_sync.hpp"
#include "cpu_cuda/ldmatrix.hpp"
