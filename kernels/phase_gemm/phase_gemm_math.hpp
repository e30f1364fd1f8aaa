// Index arithmetic of phase_gemm: the transposed convolution split into stride_h*stride_w phases,
// each an ordinary stride-1 convolution with the sub-kernel of the taps that reach it, run as one
// implicit GEMM per (phase, group). Everything here is __host__ __device__ so that
// tests/test_phase_gemm.cpp checks the very functions the kernels run against ref::direct.
//
// One dimension first (kernels/common/index_math.hpp has the derivation): a phase is named by its first
// output f in [0, min(stride, out)), so phases without outputs are never enumerated even when
// stride > out. Output q of the phase is o = f + q*stride; its t-th tap is
// tap = tap_first + t*tap_step and reads input i = q + off0 - t*off_step (tap_step*dil is
// lcm(stride, dil), so consecutive taps of a phase move the input by dil/gcd(stride, dil)).
//
// The GEMM of phase (f_h, f_w) and group g:
//   M = n * count_h * count_w   rows m = (nb, qh, qw), qw fastest
//   N = C_out/groups            columns j
//   K = taps_h * taps_w * C_in/groups, ordered k = (th*taps_w + tw)*cig + ci (tap-major, channel
//       fastest: in nhwc a run of k is a run of contiguous channels)
//   A[m][k] = x[nb, g*cig+ci, qh + off_h(th), qw + off_w(tw)], 0 outside the input
//   B[k][j] = w[g*cig+ci, j, tap_h(th), tap_w(tw)]
//   y[nb, g*cog+j, f_h + qh*stride_h, f_w + qw*stride_w] = sum_k A*B (+ bias)
// Every output pixel lies in exactly one phase, so y is written exactly once; a phase without
// taps (possible with dilation) has K = 0 and its outputs get the bias.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/index_math.hpp"

namespace tconv::pg {

// The problem in int32 (Problem::validate keeps every tensor below 2^31 elements), so the kernels
// do no 64-bit index arithmetic: every offset below is computed only for an element that exists,
// and then all its partial sums are at most the offset itself.
struct ConvDims {
  int n, c_in, h_in, w_in, c_out, h_out, w_out, k_h, k_w, groups, cig, cog;
  idx::Dim dh, dw;
};

inline ConvDims make_conv_dims(const Problem& p) {
  ConvDims d;
  d.n = int(p.n);
  d.c_in = int(p.c_in);
  d.h_in = int(p.h_in);
  d.w_in = int(p.w_in);
  d.c_out = int(p.c_out);
  d.h_out = int(p.h_out());
  d.w_out = int(p.w_out());
  d.k_h = int(p.k_h);
  d.k_w = int(p.k_w);
  d.groups = int(p.groups);
  d.cig = int(p.c_in_per_group());
  d.cog = int(p.c_out_per_group());
  d.dh = idx::dim_h(p);
  d.dw = idx::dim_w(p);
  return d;
}

// ---- One dimension ---------------------------------------------------------------------------

// Phases that own at least one output.
TCONV_HD int phase_count(const idx::Dim& d) { return d.stride < d.out ? d.stride : d.out; }

struct PhaseDim {
  int first_out;  // f: outputs f, f + stride, ...
  int count;      // outputs in the phase (>= 1 for f < phase_count)
  int tap_first;  // taps tap_first + t*tap_step, t < taps
  int tap_step;
  int taps;       // 0: no tap reaches this phase (dilation), its outputs are bias only
  int off0;       // tap t of output q reads input q + off0 - t*off_step
  int off_step;
};

TCONV_HD int phase_tap(const PhaseDim& p, int t) { return p.tap_first + t * p.tap_step; }
TCONV_HD int phase_in_offset(const PhaseDim& p, int t) { return p.off0 - t * p.off_step; }
TCONV_HD int phase_out(const PhaseDim& p, const idx::Dim& d, int q) {
  return p.first_out + q * d.stride;
}

// f in [0, phase_count(d)). The tap search runs over t < min(tap_step, k): a tap of residue r is
// unique modulo tap_step, and only taps below k exist. t*dil stays below 2^31 for t < k because
// dil*(k-1) <= out - 1 + begin + end padding (Problem::validate bounds each by 2^24).
TCONV_HD PhaseDim phase_dim(int f, const idx::Dim& d) {
  PhaseDim p;
  p.first_out = f;
  p.count = (d.out - 1 - f) / d.stride + 1;
  const int g = idx::gcd(d.stride, d.dil);
  p.tap_step = d.stride / g;
  p.off_step = d.dil / g;
  p.tap_first = 0;
  p.taps = 0;
  p.off0 = 0;
  const int r = (f + d.pad) % d.stride;
  const int lim = p.tap_step < d.k ? p.tap_step : d.k;
  for (int t = 0; t < lim; ++t) {
    if ((t * d.dil) % d.stride == r) {
      p.tap_first = t;
      p.taps = (d.k - 1 - t) / p.tap_step + 1;
      p.off0 = (f + d.pad - t * d.dil) / d.stride;  // exact: f + pad = t*dil (mod stride)
      break;
    }
  }
  return p;
}

// Most taps over the phases of one dimension (for sizing the direct kernel's window).
TCONV_HD int max_phase_taps(const idx::Dim& d) {
  const int step = d.stride / idx::gcd(d.stride, d.dil);
  return (d.k + step - 1) / step;
}

// ---- Tensor offsets (elements) ---------------------------------------------------------------

template <Layout L>
TCONV_HD int x_offset(const ConvDims& d, int nb, int c, int iy, int ix) {
  return L == Layout::nchw ? ((nb * d.c_in + c) * d.h_in + iy) * d.w_in + ix
                           : ((nb * d.h_in + iy) * d.w_in + ix) * d.c_in + c;
}
// ci: input channel (global), j: output channel within the group.
template <Layout L>
TCONV_HD int w_offset(const ConvDims& d, int ci, int j, int ky, int kx) {
  return L == Layout::nchw ? ((ci * d.cog + j) * d.k_h + ky) * d.k_w + kx
                           : ((ci * d.k_h + ky) * d.k_w + kx) * d.cog + j;
}
template <Layout L>
TCONV_HD int y_offset(const ConvDims& d, int nb, int co, int oy, int ox) {
  return L == Layout::nchw ? ((nb * d.c_out + co) * d.h_out + oy) * d.w_out + ox
                           : ((nb * d.h_out + oy) * d.w_out + ox) * d.c_out + co;
}

// Bias element of output channel co. Normally co itself (div 1, mod C_out); for a problem lowered
// to an equivalent one with more output channels (phase_gemm_plan.hpp's lower_problem) the lowered
// channel maps back to the original one.
TCONV_HD int bias_index(int co, int div, int mod) { return (co / div) % mod; }

// ---- The per-(phase, group) GEMM -------------------------------------------------------------

// Grid z (or any flattened index) -> phase and group: z = (f_h*phases_w + f_w)*groups + g.
struct PhaseGroup {
  int fh, fw, g;
};
TCONV_HD PhaseGroup decode_phase_group(int z, int phases_w, int groups) {
  PhaseGroup pg;
  pg.g = z % groups;
  const int pz = z / groups;
  pg.fw = pz % phases_w;
  pg.fh = pz / phases_w;
  return pg;
}

struct Pixel {
  int nb, qh, qw;
};
TCONV_HD Pixel decode_pixel(int m, int count_h, int count_w) {
  Pixel px;
  px.qw = m % count_w;
  const int t = m / count_w;
  px.qh = t % count_h;
  px.nb = t / count_h;
  return px;
}

struct KCoord {
  int th, tw, ci;  // ci within the group
};
TCONV_HD KCoord decode_k(int k, int taps_w, int cig) {
  KCoord c;
  c.ci = k % cig;
  const int t = k / cig;
  c.tw = t % taps_w;
  c.th = t / taps_w;
  return c;
}

TCONV_HD int gemm_m(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw) {
  return d.n * ph.count * pw.count;
}
TCONV_HD int gemm_k(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw) {
  return ph.taps * pw.taps * d.cig;
}

// x offset of A[m][k], or -1 where A holds an implicit zero (the tap reads outside the input).
template <Layout L>
TCONV_HD int a_offset(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw, int g, int m,
                      int k) {
  const Pixel px = decode_pixel(m, ph.count, pw.count);
  const KCoord kc = decode_k(k, pw.taps, d.cig);
  const int iy = px.qh + phase_in_offset(ph, kc.th);
  const int ix = px.qw + phase_in_offset(pw, kc.tw);
  if (iy < 0 || iy >= d.h_in || ix < 0 || ix >= d.w_in) return -1;
  return x_offset<L>(d, px.nb, g * d.cig + kc.ci, iy, ix);
}
// w offset of B[k][j].
template <Layout L>
TCONV_HD int b_offset(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw, int g, int k,
                      int j) {
  const KCoord kc = decode_k(k, pw.taps, d.cig);
  return w_offset<L>(d, g * d.cig + kc.ci, j, phase_tap(ph, kc.th), phase_tap(pw, kc.tw));
}
// y offset of C[m][j].
template <Layout L>
TCONV_HD int c_offset(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw, int g, int m,
                      int j) {
  const Pixel px = decode_pixel(m, ph.count, pw.count);
  return y_offset<L>(d, px.nb, g * d.cog + j, phase_out(ph, d.dh, px.qh),
                     phase_out(pw, d.dw, px.qw));
}

// ---- The tiled K loop of the GEMM kernel -----------------------------------------------------
// The kernel walks K one (tap, chunk of bk channels) at a time, so the tap and the channel base are
// uniform over a k-tile and the channel tail of each tap is predicated (ci = c0 + kk < cig).
struct KTile {
  int th, tw, c0;
};
TCONV_HD int channel_chunks(int cig, int bk) { return (cig + bk - 1) / bk; }
TCONV_HD int k_tiles(const PhaseDim& ph, const PhaseDim& pw, int cig, int bk) {
  return ph.taps * pw.taps * channel_chunks(cig, bk);
}
TCONV_HD KTile decode_k_tile(int kt, int taps_w, int chunks, int bk) {
  KTile t;
  const int tap = kt / chunks;
  t.c0 = (kt - tap * chunks) * bk;
  t.tw = tap % taps_w;
  t.th = tap / taps_w;
  return t;
}

// ---- The direct path's register window -------------------------------------------------------
// A thread of the direct kernel computes R consecutive outputs qw0..qw0+R-1 of a phase row. With
// off_step == 1 the inputs its taps read along w form one window of R + taps - 1 columns; loading
// it once serves all taps. The window is sized for kMaxWindowTaps taps (so its indices are
// compile-time constants) and starts at ix = qw0 + off0 - (kMaxWindowTaps - 1); output r through
// tap tw reads slot r + kMaxWindowTaps - 1 - tw, and slots below kMaxWindowTaps - taps are unused.
constexpr int kMaxWindowTaps = 4;
TCONV_HD int window_first_ix(int qw0, const PhaseDim& pw) {
  return qw0 + pw.off0 - (kMaxWindowTaps - 1);
}
TCONV_HD int window_slot(int r, int tw) { return r + kMaxWindowTaps - 1 - tw; }
TCONV_HD bool window_usable(const PhaseDim& pw) {
  return pw.off_step == 1 && pw.taps <= kMaxWindowTaps;
}

}  // namespace tconv::pg
