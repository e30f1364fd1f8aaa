// The device backend of kernels/common/seam.cuh (nvcc). Inside it, __CUDA_ARCH__ parts are the
// device code; the others are what nvcc's host pass compiles of a __host__ __device__ caller and
// never runs.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/hd.hpp"
#include "kernels/common/cuda_check.hpp"

#define TCONV_KERNEL_NS gpu_run

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace seam {

template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
            A&&... args) {
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
  TCONV_CHECK_LAUNCH();
}

inline void memset_async(void* p, int value, size_t bytes, cudaStream_t stream) {
  TCONV_CUDA_CHECK(cudaMemsetAsync(p, value, bytes, stream));
}

inline int64_t grid_cap() {
  return 0;
}

template <typename T>
TCONV_HD T ldg(const T* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}

template <typename V>
TCONV_HD V lds(const void* p) {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8 || sizeof(V) == 16, "a 4/8/16-byte access");
#if defined(__CUDA_ARCH__)
  return *static_cast<const V*>(p);
#else
  V v;
  std::memcpy(static_cast<void*>(&v), p, sizeof(V));
  return v;
#endif
}

template <typename V>
TCONV_HD void sts(void* p, const V& v) {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8 || sizeof(V) == 16, "a 4/8/16-byte access");
#if defined(__CUDA_ARCH__)
  *static_cast<V*>(p) = v;
#else
  std::memcpy(p, static_cast<const void*>(&v), sizeof(V));
#endif
}

TCONV_HD float round_tf32(float v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return __uint_as_float(r);
#else
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &b, 4);
  return v;
#endif
}

// The callers select the tensor-core paths only on sm_80 and later; below that these trap.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
#define TCONV_SEAM_LDSM(qual)                                                            \
  const uint32_t a = uint32_t(__cvta_generic_to_shared(row));                            \
  asm volatile("ldmatrix.sync.aligned.m8n8.x4" qual ".shared.b16 {%0,%1,%2,%3}, [%4];\n" \
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])                          \
               : "r"(a));
#elif defined(__CUDA_ARCH__)
#define TCONV_SEAM_LDSM(qual) \
  (void)d, (void)row;         \
  __trap();
#else
#define TCONV_SEAM_LDSM(qual) (void)d, (void)row;
#endif
__device__ __forceinline__ void ldsm_x4(uint32_t (&d)[4], const void* row) {
  TCONV_SEAM_LDSM("");
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&d)[4], const void* row) {
  TCONV_SEAM_LDSM(".trans");
}
#undef TCONV_SEAM_LDSM

template <typename T>
__device__ __forceinline__ void mma_sync(float& c0, float& c1, float& c2, float& c3,
                                         const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, float>) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#elif defined(__CUDA_ARCH__)
  (void)c0, (void)c1, (void)c2, (void)c3, (void)a, (void)b;
  __trap();
#else
  (void)c0, (void)c1, (void)c2, (void)c3, (void)a, (void)b;
#endif
}

__device__ inline uint64_t global_timer_ns() {
#if defined(__CUDA_ARCH__)
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
#else
  return 0;
#endif
}

}  // namespace seam
}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
