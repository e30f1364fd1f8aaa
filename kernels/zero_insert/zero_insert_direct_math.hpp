// Index helpers of kernels/zero_insert/zero_insert_direct.cu: the zero-inserted, padded buffer (z) and the
// direct stride-1 dilated convolution over it with the flipped, channel-swapped kernel. All
// __host__ __device__; tests/test_kernels_math.cpp runs the fill, the shared-memory weight
// staging and the per-thread accumulation on the CPU in double against ref::direct.
//
// z holds, per batch item of a chunk and input channel, Hz x Wz values
// (Hz = h_out + dil_h*(k_h-1)), NCHW-ordered: z[((nl*C_in + ci)*Hz + zy)*Wz + zx].
// Output (oy, ox) of the stride-1 convolution reads z[.., oy + ky*dil_h, ox + kx*dil_w] with the
// flipped weight wf[co, cl, ky, kx] = w[g*cig + cl, j, k_h-1-ky, k_w-1-kx].
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/direct/gather_math.hpp"  // pick_co_tile, TCONV_UNROLL
#include "kernels/common/index_math.hpp"
#include "kernels/common/layout.hpp"

namespace tconv::kmath {

// Everything the inner loops need, computed once on the host (h_out() and friends are not free
// in a kernel's inner loop).
struct ZiGeom {
  int kh, kw, dil_h, dil_w;
  int cig, cog, c_in;
  int ho, wo;
  int64_t hz, wz;
};

inline ZiGeom zi_geom(const Problem& p) {
  ZiGeom g;
  g.kh = int(p.k_h), g.kw = int(p.k_w);
  g.dil_h = int(p.dil_h), g.dil_w = int(p.dil_w);
  g.cig = int(p.c_in_per_group()), g.cog = int(p.c_out_per_group()), g.c_in = int(p.c_in);
  g.ho = int(p.h_out()), g.wo = int(p.w_out());
  g.hz = idx::zero_insert_size(idx::dim_h(p));
  g.wz = idx::zero_insert_size(idx::dim_w(p));
  return g;
}

// Elements of z for one batch item.
TCONV_HD int64_t zi_item_elems(const ZiGeom& g) { return int64_t(g.c_in) * g.hz * g.wz; }

// ---- Fill ------------------------------------------------------------------------------------
// Element e of the chunk buffer that starts at batch item n0: the x offset (nchw) it copies, or
// -1 for an inserted or padding zero. The fill writes every element, so no memset is needed.
TCONV_HD int64_t zi_fill_source(const Problem& p, const ZiGeom& g, int64_t n0, int64_t e) {
  const int zx = int(e % g.wz);
  e /= g.wz;
  const int zy = int(e % g.hz);
  e /= g.hz;
  const int64_t ci = e % g.c_in;
  const int64_t nl = e / g.c_in;
  const int iy = idx::zero_insert_source(zy, idx::dim_h(p));
  const int ix = idx::zero_insert_source(zx, idx::dim_w(p));
  if (iy < 0 || ix < 0) return -1;
  return act_offset(false, n0 + nl, ci, iy, ix, p.c_in, p.h_in, p.w_in);
}

TCONV_HD int64_t zi_z_offset(const ZiGeom& g, int64_t nl, int64_t ci, int64_t zy, int64_t zx) {
  return ((nl * g.c_in + ci) * g.hz + zy) * g.wz + zx;
}

// ---- Convolution -----------------------------------------------------------------------------
// The reduction of one output runs over the flattened entries e = (cl*k_h + ky)*k_w + kx, in
// chunks of consecutive entries whose weights (for the block's CoT output channels) sit in
// shared memory: slot s of a chunk starting at e0 holds entry e0 + s/CoT, channel j0 + s%CoT.
TCONV_HD int64_t zi_entry_count(const ZiGeom& g) { return int64_t(g.cig) * g.kh * g.kw; }

template <int CoT, typename Acc, typename T>
TCONV_HD Acc zi_weight_slot(const ZiGeom& g, const T* __restrict__ w, int grp, int j0, int64_t e0,
                            int s) {
  const int64_t e = e0 + s / CoT;
  const int j = j0 + s % CoT;
  if (j >= g.cog) return Acc(0);
  const int kx = int(e % g.kw);
  const int ky = int((e / g.kw) % g.kh);
  const int64_t cl = e / (int64_t(g.kw) * g.kh);
  return Acc(w[weight_offset(false, int64_t(grp) * g.cig + cl, j, g.kh - 1 - ky, g.kw - 1 - kx,
                             g.cog, g.kh, g.kw)]);
}

// Walks the entries of a chunk for one output pixel, keeping the z offset incrementally.
struct ZiCursor {
  int kx, ky;
  int64_t zoff;
};

TCONV_HD ZiCursor zi_cursor(const ZiGeom& g, int64_t nl, int grp, int64_t e0, int oy, int ox) {
  ZiCursor c;
  c.kx = int(e0 % g.kw);
  c.ky = int((e0 / g.kw) % g.kh);
  const int64_t cl = e0 / (int64_t(g.kw) * g.kh);
  c.zoff = zi_z_offset(g, nl, int64_t(grp) * g.cig + cl, oy + int64_t(c.ky) * g.dil_h,
                       ox + int64_t(c.kx) * g.dil_w);
  return c;
}

TCONV_HD void zi_advance(const ZiGeom& g, ZiCursor& c) {
  c.zoff += g.dil_w;
  if (++c.kx == g.kw) {
    c.kx = 0;
    c.zoff += int64_t(g.dil_h) * g.wz - int64_t(g.kw) * g.dil_w;
    if (++c.ky == g.kh) {
      c.ky = 0;
      // Next channel plane, back to the top row of the window.
      c.zoff += g.hz * g.wz - int64_t(g.kh) * g.dil_h * g.wz;
    }
  }
}

// acc[c] += sum over the ne entries of the chunk of z * (weight slot): the inner loop of the
// kernel for one output pixel (oy, ox) of batch item nl, group grp.
template <int CoT, typename Acc, typename T>
TCONV_HD void zi_accumulate(const ZiGeom& g, const T* __restrict__ z, const Acc* ws, int64_t nl,
                            int grp, int64_t e0, int ne, int oy, int ox, Acc* acc) {
  ZiCursor cur = zi_cursor(g, nl, grp, e0, oy, ox);
  for (int i = 0; i < ne; ++i) {
    const Acc zv = Acc(z[cur.zoff]);
    TCONV_UNROLL
    for (int c = 0; c < CoT; ++c) acc[c] += zv * ws[i * CoT + c];
    zi_advance(g, cur);
  }
}

// Block decomposition of the convolution: a TileW x TileH pixel tile of one batch item for CoT
// output channels of one group. Order: tile x fastest, then tile y, channel tile, group, item.
struct ZiBlock {
  int nl, grp, j0, ty, tx;
};

TCONV_HD int64_t zi_block_count(const ZiGeom& g, int groups, int64_t items, int co_tile,
                                int tile_w, int tile_h) {
  const int64_t tiles_x = (g.wo + tile_w - 1) / tile_w, tiles_y = (g.ho + tile_h - 1) / tile_h;
  const int64_t co_tiles = (g.cog + co_tile - 1) / co_tile;
  return items * groups * co_tiles * tiles_y * tiles_x;
}

TCONV_HD ZiBlock zi_block(const ZiGeom& g, int groups, int co_tile, int tile_w, int tile_h,
                          int64_t b) {
  const int64_t tiles_x = (g.wo + tile_w - 1) / tile_w, tiles_y = (g.ho + tile_h - 1) / tile_h;
  const int64_t co_tiles = (g.cog + co_tile - 1) / co_tile;
  ZiBlock k;
  k.tx = int(b % tiles_x);
  b /= tiles_x;
  k.ty = int(b % tiles_y);
  b /= tiles_y;
  k.j0 = int(b % co_tiles) * co_tile;
  b /= co_tiles;
  k.grp = int(b % groups);
  k.nl = int(b / groups);
  return k;
}

// Executed / useful multiply-adds: every output multiplies all C_in/g * k_h * k_w entries, so
// the ratio is (N*C_out*Ho*Wo*cig*kh*kw) / (N*C_in*H_in*W_in*cog*kh*kw) = Ho*Wo / (H_in*W_in).
inline double zi_work_ratio(const Problem& p) {
  return double(p.h_out()) * double(p.w_out()) / (double(p.h_in) * double(p.w_in));
}

}  // namespace tconv::kmath
