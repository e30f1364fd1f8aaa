// The CPU runtime's backend of kernels/common/seam.cuh: what a kernel compiled by a plain C++
// compiler calls instead of the hardware. Loads and stores check the alignment the device would
// fault on; ldmatrix and mma.sync are warp-collective models of the PTX fragment tables; the
// launch runs the grid on the CPU runtime (cpu_cuda.hpp). The access functions are always
// inlined, so that the profiler names each access by the kernel's own line.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cpu_cuda/cpu_cuda.hpp"
#include "cpu_cuda/grid_cap.hpp"

#define TCONV_KERNEL_NS cpu_run
#define TCONV_SEAM_CPU inline __attribute__((always_inline))

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace seam {

// Same grid, block and shared memory as the GPU gets; each thread receives its own copy of the
// arguments, as kernel parameters are.
template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "launch: argument count differs from the kernel's");
  const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  ::cpu_cuda::run_grid(
      grid, block, smem,
      [&] {
        std::tuple<std::decay_t<P>...> copy = params;
        void (*const fn)(P...) = kernel;  // on this thread's stack, as the copy is
        const ::cpu_cuda::KernelScope in_kernel;
        std::apply(fn, copy);
      },
      reinterpret_cast<const void*>(kernel));
}

inline void memset_async(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
}

inline int64_t grid_cap() {
  return ::cpu_cuda::next_grid_cap();
}

template <typename T>
TCONV_SEAM_CPU T ldg(const T* p) {
  return __ldg(p);
}

template <typename V>
TCONV_SEAM_CPU V lds(const void* p) {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8 || sizeof(V) == 16, "a 4/8/16-byte access");
  if constexpr (sizeof(V) == 4) {
    ::cpu_cuda::check_aligned(p, 4, "shared load");
    V v;
    std::memcpy(static_cast<void*>(&v), p, 4);
    return v;
  } else {
    return ::cpu_cuda::load_vec<V>(p);
  }
}

template <typename V>
TCONV_SEAM_CPU void sts(void* p, const V& v) {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8 || sizeof(V) == 16, "a 4/8/16-byte access");
  if constexpr (sizeof(V) == 16) {
    ::cpu_cuda::store16(p, static_cast<const void*>(&v));  // one 16-byte store for the profiler
  } else {
    ::cpu_cuda::check_aligned(p, sizeof(V), "shared store");
    std::memcpy(p, static_cast<const void*>(&v), sizeof(V));
  }
}

TCONV_SEAM_CPU float round_tf32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &b, 4);
  return v;
}

TCONV_SEAM_CPU void ldsm_x4(uint32_t (&d)[4], const void* row) {
  ::cpu_cuda::ldmatrix_b16<4>(d, row, false);
}
TCONV_SEAM_CPU void ldsm_x4_trans(uint32_t (&d)[4], const void* row) {
  ::cpu_cuda::ldmatrix_b16<4>(d, row, true);
}

template <typename T>
TCONV_SEAM_CPU void mma_sync(float& c0, float& c1, float& c2, float& c3, const uint32_t (&a)[4],
                             const uint32_t (&b)[2]) {
  ::cpu_cuda::mma_sync<T>(c0, c1, c2, c3, a, b);
}

inline uint64_t global_timer_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

}  // namespace seam
}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
