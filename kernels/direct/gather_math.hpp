// Index helpers of the gather kernel (kernels/direct/gather.cu), plus the channel-tile choice (also used
// by zero_insert_direct) and the landing fraction (also used by scatter and explicit_spmm); the
// layout-aware tensor offsets live in kernels/common/layout.hpp. Everything is __host__ __device__ and
// templated on the value types, so tests/test_kernels_math.cpp runs the very code the kernels run,
// in double, against the fp64 references.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/common/index_math.hpp"
#include "kernels/common/layout.hpp"


namespace tconv::kmath {

// ---- Gather --------------------------------------------------------------------------------
// One work item = one output pixel (n, oy, ox) for a tile of up to CoT output channels of one
// group: the x value of each tap is loaded once and used CoT times. The tap ranges are computed
// once per item. The item order puts ox fastest in nchw (coalesced x and y along rows) and the
// channel tile fastest in nhwc (coalesced weights and y along channels, x broadcast).
struct GatherItem {
  int n, g, j0, oy, ox;
};

TCONV_HD int64_t gather_tiles_per_group(const Problem& p, int co_tile) {
  return (p.c_out_per_group() + co_tile - 1) / co_tile;
}
TCONV_HD int64_t gather_item_count(const Problem& p, int co_tile) {
  return p.n * p.groups * gather_tiles_per_group(p, co_tile) * p.h_out() * p.w_out();
}

TCONV_HD GatherItem gather_item(const Problem& p, bool nhwc, int co_tile, int64_t item) {
  const int64_t tiles = gather_tiles_per_group(p, co_tile);
  const int64_t ho = p.h_out(), wo = p.w_out();
  GatherItem it;
  if (nhwc) {
    // (((n*Ho + oy)*Wo + ox)*groups + g)*tiles + t
    const int64_t t = item % tiles;
    item /= tiles;
    it.g = int(item % p.groups);
    item /= p.groups;
    it.ox = int(item % wo);
    item /= wo;
    it.oy = int(item % ho);
    it.n = int(item / ho);
    it.j0 = int(t) * co_tile;
  } else {
    // (((n*groups + g)*tiles + t)*Ho + oy)*Wo + ox
    it.ox = int(item % wo);
    item /= wo;
    it.oy = int(item % ho);
    item /= ho;
    const int64_t t = item % tiles;
    item /= tiles;
    it.g = int(item % p.groups);
    it.n = int(item / p.groups);
    it.j0 = int(t) * co_tile;
  }
  return it;
}

// Computes and stores y for one work item: every output of the item is written exactly once
// (bias included), nothing else is touched. Acc is the accumulation type; T the storage type
// (conversions through Acc(v) and T(acc)).
template <int CoT, typename Acc, typename T>
TCONV_HD void gather_tile(const Problem& p, bool nhwc, const T* __restrict__ x,
                          const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ y,
                          const GatherItem& it) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  const int cig = int(p.c_in_per_group()), cog = int(p.c_out_per_group());
  const int kh = int(p.k_h), kw = int(p.k_w);
  const int64_t wstride = weight_channel_stride(nhwc, kh, kw);
  const idx::TapRange ty = idx::taps_for_output(it.oy, dh);
  const idx::TapRange tx = idx::taps_for_output(it.ox, dw);
  const int nvalid = idx::min_int(CoT, cog - it.j0);

  Acc acc[CoT];
TCONV_UNROLL
  for (int c = 0; c < CoT; ++c)
    acc[c] = (p.has_bias && bias && c < nvalid) ? Acc(bias[it.g * cog + it.j0 + c]) : Acc(0);

  for (int cl = 0; cl < cig; ++cl) {
    const int ci = it.g * cig + cl;
    for (int a = 0; a < ty.count; ++a) {
      const int ky = ty.first + a * ty.step;
      const int iy = idx::input_of_tap(it.oy, ky, dh);
      for (int b = 0; b < tx.count; ++b) {
        const int kx = tx.first + b * tx.step;
        const int ix = idx::input_of_tap(it.ox, kx, dw);
        const Acc xv = Acc(x[act_offset(nhwc, it.n, ci, iy, ix, p.c_in, p.h_in, p.w_in)]);
        const T* wp = w + weight_offset(nhwc, ci, it.j0, ky, kx, cog, kh, kw);
TCONV_UNROLL
        for (int c = 0; c < CoT; ++c)
          if (c < nvalid) acc[c] += xv * Acc(wp[c * wstride]);
      }
    }
  }
  const int64_t ho = p.h_out(), wo = p.w_out();
TCONV_UNROLL
  for (int c = 0; c < CoT; ++c)
    if (c < nvalid)
      y[act_offset(nhwc, it.n, it.g * cog + it.j0 + c, it.oy, it.ox, p.c_out, ho, wo)] =
          T(acc[c]);
}

// Channel tile for a group size: the largest of 8, 4, 2, 1 not above C_out/g, so depthwise
// problems do not compute seven dead channels out of eight.
inline int pick_co_tile(const Problem& p) {
  const int64_t cog = p.c_out_per_group();
  return cog >= 8 ? 8 : cog >= 4 ? 4 : cog >= 2 ? 2 : 1;
}

// Fraction of the (input pixel, tap) pairs that land inside the output: the kernels that skip
// the others (gather, scatter, explicit_spmm) execute this fraction of the useful FLOPs, which
// count every pair. Per dimension, input i lands through k in [ceil((pad - i*s)/d),
// floor((out - 1 + pad - i*s)/d)] intersected with [0, k).
inline int64_t landing_pairs(const idx::Dim& d) {
  int64_t count = 0;
  for (int i = 0; i < d.in; ++i) {
    const int lo = idx::max_int(0, idx::ceil_div(d.pad - i * d.stride, d.dil));
    const int hi = idx::min_int(d.k - 1, idx::floor_div(d.out - 1 + d.pad - i * d.stride, d.dil));
    if (hi >= lo) count += hi - lo + 1;
  }
  return count;
}
inline double landing_fraction(const Problem& p) {
  return double(landing_pairs(idx::dim_h(p))) * double(landing_pairs(idx::dim_w(p))) /
         (double(p.h_in) * double(p.k_h) * double(p.w_in) * double(p.k_w));
}

}  // namespace tconv::kmath
