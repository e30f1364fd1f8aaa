// The zero-insert fill and convolution kernels and their launch (kernels/zero_insert/
// zero_insert_direct.cu has the algorithm's notes). Included by zero_insert_direct.cu and,
// compiled as C++ on the CPU runtime, by the tests.
#pragma once

#include <algorithm>

#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/direct/gather_math.hpp"
#include "kernels/zero_insert/zero_insert_direct_math.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

constexpr int kZiTileW = 32, kZiTileH = 8, kZiConvThreads = kZiTileW * kZiTileH;
// Entries of (input channel, tap) whose weights one shared-memory chunk holds: 8 KiB at CoT = 8.
constexpr int kZiChunk = 256;
constexpr int kZiFillThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kZiFillThreads)
    zi_fill_kernel(Problem p, kmath::ZiGeom g, const T* __restrict__ x, T* __restrict__ z,
                   int64_t n0, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t src = kmath::zi_fill_source(p, g, n0, e);
    z[e] = src < 0 ? T(0.0f) : x[src];
  }
}

template <int CoT, typename T>
__global__ void __launch_bounds__(kZiConvThreads)
    zi_conv_kernel(Problem p, kmath::ZiGeom g, const T* __restrict__ z, const T* __restrict__ w,
                   const T* __restrict__ bias, T* __restrict__ y, int64_t n0, int64_t items) {
  __shared__ float ws[kZiChunk * CoT];
  const int tid = threadIdx.y * kZiTileW + threadIdx.x;
  const int groups = int(p.groups);
  const int64_t blocks = kmath::zi_block_count(g, groups, items, CoT, kZiTileW, kZiTileH);
  const int64_t entries = kmath::zi_entry_count(g);
  // The loop bound is the same for every thread of a block, so the __syncthreads are uniform.
  for (int64_t b = blockIdx.x; b < blocks; b += gridDim.x) {
    const kmath::ZiBlock blk = kmath::zi_block(g, groups, CoT, kZiTileW, kZiTileH, b);
    const int oy = blk.ty * kZiTileH + int(threadIdx.y), ox = blk.tx * kZiTileW + int(threadIdx.x);
    const bool active = oy < g.ho && ox < g.wo;
    float acc[CoT];
TCONV_UNROLL
    for (int c = 0; c < CoT; ++c) acc[c] = 0.0f;
    for (int64_t e0 = 0; e0 < entries; e0 += kZiChunk) {
      const int ne = int(std::min<int64_t>(kZiChunk, entries - e0));
      __syncthreads();  // the previous chunk (or block) is done with ws
      for (int s = tid; s < ne * CoT; s += kZiConvThreads)
        ws[s] = kmath::zi_weight_slot<CoT, float>(g, w, blk.grp, blk.j0, e0, s);
      __syncthreads();
      if (active) kmath::zi_accumulate<CoT, float>(g, z, ws, blk.nl, blk.grp, e0, ne, oy, ox, acc);
    }
    if (active) {
TCONV_UNROLL
      for (int c = 0; c < CoT; ++c) {
        const int j = blk.j0 + c;
        if (j >= g.cog) continue;
        const int co = blk.grp * g.cog + j;
        const float v = acc[c] + (bias ? float(bias[co]) : 0.0f);
        y[kmath::act_offset(false, n0 + blk.nl, co, oy, ox, p.c_out, g.ho, g.wo)] = T(v);
      }
    }
  }
}

template <int CoT, typename T>
void zi_launch_conv(cudaStream_t s, const Problem& p, const kmath::ZiGeom& g, const T* z, const T* w,
                 const T* bias, T* y, int64_t n0, int64_t items) {
  const int64_t blocks = kmath::zi_block_count(g, int(p.groups), items, CoT, kZiTileW, kZiTileH);
  launch(zi_conv_kernel<CoT, T>, grid_extent(blocks, int64_t(1) << 20),
         dim3(kZiTileW, kZiTileH), 0, s, p, g, z, w, bias, y, n0, items);
}

// One run: for each chunk of `chunk` batch items, fill z (room for chunk items) and convolve.
template <typename T>
void zi_run(cudaStream_t s, const Problem& p, const Tensors& t, T* z, int64_t chunk) {
  const kmath::ZiGeom g = kmath::zi_geom(p);
  const T* x = static_cast<const T*>(t.x);
  const T* w = static_cast<const T*>(t.w);
  const T* bias = p.has_bias ? static_cast<const T*>(t.bias) : nullptr;
  T* y = static_cast<T*>(t.y);
  const int co_tile = kmath::pick_co_tile(p);
  for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
    const int64_t items = std::min(chunk, p.n - n0);
    const int64_t zelems = items * kmath::zi_item_elems(g);
    launch(zi_fill_kernel<T>, grid_blocks(zelems, kZiFillThreads), kZiFillThreads, 0, s, p, g, x, z,
           n0, zelems);
    switch (co_tile) {
      case 8: zi_launch_conv<8>(s, p, g, z, w, bias, y, n0, items); break;
      case 4: zi_launch_conv<4>(s, p, g, z, w, bias, y, n0, items); break;
      case 2: zi_launch_conv<2>(s, p, g, z, w, bias, y, n0, items); break;
      default: zi_launch_conv<1>(s, p, g, z, w, bias, y, n0, items); break;
    }
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
