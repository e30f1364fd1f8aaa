// The callbacks that GCC's -fsanitize=thread instrumentation calls, defined here instead of
// linking libtsan: each memory access of the instrumented kernel code goes to the profiler
// (profiler.hpp) with its address, size, kind and the instruction that made it. Linked only into
// the instrumented binaries (tconv_mem_tests, cpu_profile), whose other code is not instrumented.
//
// Atomic builtins in the instrumented files (the C++ library's inline atomics in test code) are
// performed as the builtins they replace: the kernels' atomics go through the runtime's
// atomicAdd (cpu_cuda.hpp), which reports itself.
#include <cstddef>
#include <cstdint>

#include "cpu_cuda/profiler.hpp"

namespace cpu_cuda::prof {
extern bool g_instrumented;
namespace {
const bool kRegistered = (g_instrumented = true);
}  // namespace
}  // namespace cpu_cuda::prof

#define TCONV_PC reinterpret_cast<uintptr_t>(__builtin_return_address(0))
#define TCONV_ACCESS(p, n, k) ::cpu_cuda::prof::on_access(p, n, ::cpu_cuda::prof::Kind::k, TCONV_PC)

extern "C" {

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_read_range(void* p, size_t n) { TCONV_ACCESS(p, n, load); }
void __tsan_write_range(void* p, size_t n) { TCONV_ACCESS(p, n, store); }

#define TCONV_SIZED(N)                                                          \
  void __tsan_read##N(void* p) { TCONV_ACCESS(p, N, load); }                    \
  void __tsan_write##N(void* p) { TCONV_ACCESS(p, N, store); }                  \
  void __tsan_unaligned_read##N(void* p) { TCONV_ACCESS(p, N, load); }          \
  void __tsan_unaligned_write##N(void* p) { TCONV_ACCESS(p, N, store); }        \
  void __tsan_volatile_read##N(void* p) { TCONV_ACCESS(p, N, load); }           \
  void __tsan_volatile_write##N(void* p) { TCONV_ACCESS(p, N, store); }         \
  void __tsan_unaligned_volatile_read##N(void* p) { TCONV_ACCESS(p, N, load); } \
  void __tsan_unaligned_volatile_write##N(void* p) { TCONV_ACCESS(p, N, store); }
TCONV_SIZED(1)
TCONV_SIZED(2)
TCONV_SIZED(4)
TCONV_SIZED(8)
TCONV_SIZED(16)
#undef TCONV_SIZED

// The atomic entry points GCC emits (memory orders are ignored: one OS thread runs everything).
#define TCONV_ATOMIC(B, T)                                                                   \
  T __tsan_atomic##B##_load(const volatile T* a, int) { return __atomic_load_n(a, 5); }      \
  void __tsan_atomic##B##_store(volatile T* a, T v, int) { __atomic_store_n(a, v, 5); }      \
  T __tsan_atomic##B##_exchange(volatile T* a, T v, int) { return __atomic_exchange_n(a, v, 5); } \
  T __tsan_atomic##B##_fetch_add(volatile T* a, T v, int) { return __atomic_fetch_add(a, v, 5); } \
  T __tsan_atomic##B##_fetch_sub(volatile T* a, T v, int) { return __atomic_fetch_sub(a, v, 5); } \
  T __tsan_atomic##B##_fetch_and(volatile T* a, T v, int) { return __atomic_fetch_and(a, v, 5); } \
  T __tsan_atomic##B##_fetch_or(volatile T* a, T v, int) { return __atomic_fetch_or(a, v, 5); }   \
  T __tsan_atomic##B##_fetch_xor(volatile T* a, T v, int) { return __atomic_fetch_xor(a, v, 5); } \
  T __tsan_atomic##B##_fetch_nand(volatile T* a, T v, int) { return __atomic_fetch_nand(a, v, 5); } \
  int __tsan_atomic##B##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) {       \
    return __atomic_compare_exchange_n(a, c, v, false, 5, 5);                                \
  }                                                                                          \
  int __tsan_atomic##B##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {         \
    return __atomic_compare_exchange_n(a, c, v, true, 5, 5);                                 \
  }                                                                                          \
  T __tsan_atomic##B##_compare_exchange_val(volatile T* a, T c, T v, int, int) {             \
    __atomic_compare_exchange_n(a, &c, v, false, 5, 5);                                      \
    return c;                                                                                \
  }
TCONV_ATOMIC(8, uint8_t)
TCONV_ATOMIC(16, uint16_t)
TCONV_ATOMIC(32, uint32_t)
TCONV_ATOMIC(64, uint64_t)
#undef TCONV_ATOMIC

void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(5); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(5); }

}  // extern "C"
