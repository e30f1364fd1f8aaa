// Index helpers of the scatter kernel (kernels/direct/scatter.cu), __host__ __device__ so that
// tests/test_kernels_math.cpp runs the same per-thread code on the CPU (with a plain += in place
// of atomicAdd) against ref::direct.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/direct/gather_math.hpp"  // landing_fraction
#include "kernels/common/index_math.hpp"
#include "kernels/common/layout.hpp"

namespace tconv::kmath {

// One work item = one input pixel (n, iy, ix) and one output channel co. The sum over the
// group's input channels is formed in registers, so each landing tap costs one atomic add, not
// C_in/g of them. Order: ix fastest in nchw (coalesced x, distinct y addresses across a warp),
// co fastest in nhwc (coalesced, conflict-free atomics into y; x broadcast).
struct ScatterItem {
  int n, co, iy, ix;
};

TCONV_HD int64_t scatter_item_count(const Problem& p) { return p.n * p.c_out * p.h_in * p.w_in; }

TCONV_HD ScatterItem scatter_item(const Problem& p, bool nhwc, int64_t item) {
  ScatterItem it;
  if (nhwc) {
    // ((n*H_in + iy)*W_in + ix)*C_out + co
    it.co = int(item % p.c_out);
    item /= p.c_out;
    it.ix = int(item % p.w_in);
    item /= p.w_in;
    it.iy = int(item % p.h_in);
    it.n = int(item / p.h_in);
  } else {
    // ((n*C_out + co)*H_in + iy)*W_in + ix
    it.ix = int(item % p.w_in);
    item /= p.w_in;
    it.iy = int(item % p.h_in);
    item /= p.h_in;
    it.co = int(item % p.c_out);
    it.n = int(item / p.c_out);
  }
  return it;
}

// Calls add(y_offset, value) once per tap of the item that lands inside y. The kernel passes an
// atomicAdd, the CPU test a plain +=.
template <typename Acc, typename T, typename Add>
TCONV_HD void scatter_contributions(const Problem& p, bool nhwc, const T* __restrict__ x,
                                    const T* __restrict__ w, const ScatterItem& it, Add add) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  const int cig = int(p.c_in_per_group()), cog = int(p.c_out_per_group());
  const int kh = int(p.k_h), kw = int(p.k_w);
  const int g = it.co / cog, j = it.co % cog;
  const int64_t ho = p.h_out(), wo = p.w_out();
  for (int ky = 0; ky < kh; ++ky) {
    const int oy = idx::output_of_tap(it.iy, ky, dh);
    if (oy < 0) continue;
    for (int kx = 0; kx < kw; ++kx) {
      const int ox = idx::output_of_tap(it.ix, kx, dw);
      if (ox < 0) continue;
      Acc s = Acc(0);
      for (int cl = 0; cl < cig; ++cl) {
        const int ci = g * cig + cl;
        s += Acc(x[act_offset(nhwc, it.n, ci, it.iy, it.ix, p.c_in, p.h_in, p.w_in)]) *
             Acc(w[weight_offset(nhwc, ci, j, ky, kx, cog, kh, kw)]);
      }
      add(act_offset(nhwc, it.n, it.co, oy, ox, p.c_out, ho, wo), s);
    }
  }
}

}  // namespace tconv::kmath
