// The two plain kernels of phase_sm90 and gemm_shuffle_sm90 beside CUTLASS's fprops: the strided
// gather that packs sub-filters (prepare, untimed) and the fill of the output regions no fprop
// writes (run, timed). Included by phase_sm90_rows.hpp and, compiled as C++ on the CPU runtime,
// by tests/test_phase_sm90.cpp, which runs them on fp64 data around the fp64 model of CUTLASS's
// fprop.
#pragma once

#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/phase_sm90/phase_sm90_map.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {
namespace phase_sm90_kernels {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    pack_kernel(phase_sm90::Pack pk, const T* __restrict__ src, T* __restrict__ dst) {
  const int64_t total = pk.elems();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = e % pk.c, v = (e / pk.c) % pk.tv, u = (e / (pk.c * pk.tv)) % pk.tu;
    const int64_t k = e / (pk.c * pk.tv * pk.tu);
    dst[pk.dst_offset + e] = src[pk.base + k * pk.sk + u * pk.su + v * pk.sv + c * pk.sc];
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    fill_kernel(phase_sm90::Fill f, const T* __restrict__ bias, T* __restrict__ y) {
  const int64_t total = f.n * f.p * f.q * f.c;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = e % f.c, i = (e / f.c) % f.q, j = (e / (f.c * f.q)) % f.p;
    const int64_t n = e / (f.c * f.q * f.p);
    y[f.y_offset + n * f.sn + j * f.sp + i * f.sq + c] = bias ? bias[c] : T(0.0f);
  }
}

template <typename T>
void pack_launch(cudaStream_t s, const phase_sm90::Pack& pk, const T* src, T* dst) {
  launch(pack_kernel<T>, grid_blocks(pk.elems(), kThreads), kThreads, 0, s, pk, src, dst);
}

template <typename T>
void fill_launch(cudaStream_t s, const phase_sm90::Fill& f, const T* bias, T* y) {
  launch(fill_kernel<T>, grid_blocks(f.n * f.p * f.q * f.c, kThreads), kThreads, 0, s, f, bias, y);
}

}  // namespace phase_sm90_kernels
}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
