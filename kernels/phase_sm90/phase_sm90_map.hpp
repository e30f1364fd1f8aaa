// How phase_sm90 and gemm_shuffle_sm90 hand a transposed convolution to CUTLASS 3's sm90 fprop
// (TMA im2col + wgmma), as host code the CPU tests execute in fp64 against ref_direct.
//
// Output row oy receives input row iy through tap ky when iy*stride_h = oy + pad_h - ky (dilation
// 1). Group the rows by r = (oy + pad_h) mod stride_h: row oy = oy0 + stride_h*j of phase r sees
// only the taps ky = r + stride_h*t, t < T = ceil((k_h - r) / stride_h), and
//   y[oy0 + s*j] = sum_t x[j + c - t] * w[r + s*t],   c = (oy0 + pad_h - r) / s,
// a unit-stride cross-correlation of x with the sub-filter flipped, w'[u] = w[r + s*(T-1-u)]:
//   y[j] = sum_u x[j - (T-1-c) + u] * w'[u],  i.e. an fprop with lower padding T-1-c.
// CUTLASS's im2col TMA takes non-negative padding only, so a negative lower padding moves the
// activation's base pointer down instead, and a negative upper padding drops the rows past it.
// The same holds for columns; the stride_h x stride_w phases are independent fprops whose outputs
// are a strided view of y: (n, j, i, co) -> y[n][oy0 + stride_h*j][ox0 + stride_w*i][co], which is
// the epilogue's StrideD ((q, p, n), k) = (stride_w*C_out, stride_h*W_out*C_out,
// H_out*W_out*C_out), 1) handed to ConvProblemShape as its (non-packed) output strides.
//
// gemm_shuffle_sm90 (kernel = stride, no padding): every phase is a 1x1 fprop; for one kernel row
// ky the stride_w phases of that row share the input and write adjacent channels
// (y[n][h*s + ky][w*s + kx][co] = y_row + w*s*C_out + (kx*C_out + co)), so they merge into one 1x1
// fprop with s*C_out output channels j = kx*C_out + co whose filter is the weight's slice w[:, ky]
// as stored (transposed to K-major). The pixel shuffle is the output view's strides: no
// workspace, no shuffle pass, for every W_in.
//
// Layouts: x NHWC (N, H_in, W_in, C_in); w KRSC with K = C_in: (C_in, k_h, k_w, C_out); y NHWC.
// CUTLASS's names: activation (n, h, w, c) = our x, filter (k, r, s, c) = the packed sub-filter
// with k = output channel and c = C_in, output (n, p, q, k) = the view of our y.
#pragma once

// clang-format off
// cute first: convnd_problem_shape.hpp uses cute's algorithms without including them.
#include <cute/layout.hpp>
#include <cutlass/conv/convnd_problem_shape.hpp>
// clang-format on

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv::phase_sm90 {

using ConvShape = cutlass::conv::ConvProblemShape<cutlass::conv::Operator::kFprop, 2>;
// cutlass::detail::TagToStrideC_t<TensorNHWC>: ((q, p, n), k, l), the epilogue's D.
using StrideD = cute::Stride<cute::Stride<int64_t, int64_t, int64_t>, cute::Int<1>, cute::Int<0>>;

// A strided gather, the one packing operation both rows need (the sub-filters, gemm_shuffle's
// weight slices and its tiled bias): dst[((k*tu + u)*tv + v)*c + ci] =
// src[base + k*sk + u*su + v*sv + ci*sc]. Run by pack_kernel in prepare (untimed).
struct Pack {
  bool from_bias = false;  // source: the weight, or the bias (gemm_shuffle's tiled bias)
  int64_t dst_offset = 0;
  int64_t k = 0, tu = 1, tv = 1, c = 0;
  int64_t base = 0, sk = 0, su = 0, sv = 0, sc = 0;
  TCONV_HD int64_t elems() const { return k * tu * tv * c; }
};

// A region of y no fprop writes (a phase with no taps, or whose taps only ever see padding):
// y[y_offset + n*sn + j*sp + i*sq + co] = bias[co] or 0, for j < p, i < q, co < c.
struct Fill {
  int64_t y_offset = 0, n = 0, p = 0, q = 0, c = 0;
  int64_t sn = 0, sp = 0, sq = 0;
};

// One CUTLASS fprop launch.
struct Launch {
  ConvShape shape;            // what CUTLASS receives (its own type, built by its constructor)
  StrideD stride_d;           // the epilogue's D strides, from shape.stride_C
  int64_t x_offset = 0;       // elements from x to the activation view's (0,0,0,0)
  int64_t filter_offset = 0;  // elements from the packed filters to this launch's filter
  int64_t y_offset = 0;       // elements from y to the output view's (0,0,0,0)
  int64_t bias_offset = -1;   // elements from the bias vector used (-1: the problem's bias)
  int ry = 0, rx = 0;         // phase (phase_sm90) or kernel row (gemm_shuffle_sm90, rx = -1)
};

struct Plan {
  std::vector<Launch> launches;
  std::vector<Fill> fills;
  std::vector<Pack> packs;   // filters, then (gemm_shuffle) the tiled bias
  int64_t packed_elems = 0;  // workspace elements in y's dtype
  int64_t tiled_bias_offset = -1;
};

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
inline int64_t mod(int64_t a, int64_t b) {
  return ((a % b) + b) % b;
}

// CUTLASS's tensor extents are int; strides int64.
inline bool fits_int(int64_t v) {
  return v >= 0 && v <= std::numeric_limits<int>::max();
}

// What neither row can take whatever CUTLASS says: "" or the reason.
inline std::string static_reason(const Problem& p, const Config& cfg) {
  if (cfg.layout != Layout::nhwc) return "layout nchw not implemented (sm90 fprop via TMA is NHWC)";
  if (cfg.dtype != DType::fp16 && cfg.dtype != DType::bf16 && cfg.dtype != DType::tf32)
    return std::string("dtype ") + to_string(cfg.dtype) +
           " not implemented (wgmma rows: fp16, bf16, tf32)";
  if (p.dil_h != 1 || p.dil_w != 1)
    return "dilation > 1 not implemented (the phase split assumes dilation 1)";
  if (p.groups != 1) return "groups > 1 not implemented (CUTLASS 3's sm90 fprop has no groups)";
  for (int64_t v : {p.n, p.h_in, p.w_in, p.c_in, p.c_out, p.h_out(), p.w_out()})
    if (!fits_int(v)) return "a size does not fit CUTLASS's int";
  return "";
}

// gemm_shuffle_sm90's extra rule: kernel = stride, no padding, so y is exactly x's s-fold
// upsampling and every output pixel has exactly one tap.
inline std::string shuffle_reason(const Problem& p) {
  if (p.k_h != p.stride_h || p.k_w != p.stride_w)
    return "kernel != stride (gemm_shuffle_sm90 needs k_h = stride_h and k_w = stride_w)";
  if (p.pad_h || p.pad_w || p.h_out() != p.h_in * p.stride_h || p.w_out() != p.w_in * p.stride_w)
    return "padding or output padding (gemm_shuffle_sm90 needs H_out = H_in*stride, W_out = "
           "W_in*stride)";
  return "";
}

namespace detail {

// One axis of one phase: which outputs it owns and which fprop computes them.
struct Axis {
  int64_t o0 = 0, count = 0;  // first output and number of outputs (stride apart)
  int64_t taps = 0;           // sub-filter extent T
  int64_t in0 = 0, in = 0;    // activation view: first input index and extent
  int64_t lo = 0, hi = 0;     // fprop padding
  bool reads_input() const { return taps > 0 && in > 0; }
};

inline Axis axis(int64_t r, int64_t s, int64_t pad, int64_t k, int64_t in_size, int64_t out_size) {
  Axis a;
  a.o0 = mod(r - pad, s);
  a.count = a.o0 < out_size ? (out_size - 1 - a.o0) / s + 1 : 0;
  a.taps = k > r ? ceil_div(k - r, s) : 0;
  if (a.count == 0 || a.taps == 0) return a;
  const int64_t c = (a.o0 + pad - r) / s;  // exact: o0 + pad = r (mod s)
  int64_t lo = a.taps - 1 - c, in0 = 0;
  if (lo < 0) in0 = -lo, lo = 0;
  int64_t in = in_size - in0;
  // outputs = in + lo + hi - taps + 1
  int64_t hi = a.count + a.taps - 1 - lo - in;
  if (hi < 0) in += hi, hi = 0;
  a.in0 = in0, a.in = in, a.lo = lo, a.hi = hi;
  return a;
}

}  // namespace detail

// CUTLASS's problem for an activation view (N, h, w, C) with x's strides, a packed filter
// (K, r, s, C) and output strides (n, p, q, k); StrideD read back from what CUTLASS stored, as
// CUTLASS's own example 76 does.
inline void set_shape(Launch& l, const Problem& p, int64_t h, int64_t w, int64_t k, int64_t r,
                      int64_t s, int64_t lo_h, int64_t hi_h, int64_t lo_w, int64_t hi_w,
                      int64_t out_sn, int64_t out_sp, int64_t out_sq) {
  const int64_t c = p.c_in;
  ConvShape::TensorExtent act{int(p.n), int(h), int(w), int(c)};
  ConvShape::TensorStride act_stride{p.h_in * p.w_in * c, p.w_in * c, c, 1};
  ConvShape::TensorExtent flt{int(k), int(r), int(s), int(c)};
  ConvShape::TensorStride flt_stride{r * s * c, s * c, c, 1};
  ConvShape::TensorStride out_stride{out_sn, out_sp, out_sq, 1};
  l.shape =
      ConvShape(cutlass::conv::Mode::kCrossCorrelation, act, act_stride, flt, flt_stride,
                out_stride, {int(lo_h), int(lo_w)}, {int(hi_h), int(hi_w)}, {1, 1}, {1, 1}, 1);
  cute::get<0, 0>(l.stride_d) = l.shape.stride_C[2];
  cute::get<0, 1>(l.stride_d) = l.shape.stride_C[1];
  cute::get<0, 2>(l.stride_d) = l.shape.stride_C[0];
}

// phase_sm90: one fprop per phase that reads input, a fill per phase that does not.
inline Plan plan_phases(const Problem& p) {
  Plan plan;
  const int64_t ho = p.h_out(), wo = p.w_out(), co = p.c_out;
  const int64_t sn = ho * wo * co;
  for (int ry = 0; ry < p.stride_h; ++ry) {
    const detail::Axis ah = detail::axis(ry, p.stride_h, p.pad_h, p.k_h, p.h_in, ho);
    for (int rx = 0; rx < p.stride_w; ++rx) {
      const detail::Axis aw = detail::axis(rx, p.stride_w, p.pad_w, p.k_w, p.w_in, wo);
      if (ah.count == 0 || aw.count == 0) continue;
      const int64_t y_off = (ah.o0 * wo + aw.o0) * co;
      const int64_t sp = p.stride_h * wo * co, sq = p.stride_w * co;
      if (!ah.reads_input() || !aw.reads_input()) {
        plan.fills.push_back({y_off, p.n, ah.count, aw.count, co, sn, sp, sq});
        continue;
      }
      Launch l;
      l.ry = ry, l.rx = rx;
      set_shape(l, p, ah.in, aw.in, co, ah.taps, aw.taps, ah.lo, ah.hi, aw.lo, aw.hi, sn, sp, sq);
      l.x_offset = (ah.in0 * p.w_in + aw.in0) * p.c_in;
      l.y_offset = y_off;
      l.filter_offset = plan.packed_elems;
      // f[k][u][v][c] = w[c][ry + s_h*(Th-1-u)][rx + s_w*(Tw-1-v)][k]
      Pack pk;
      pk.dst_offset = plan.packed_elems;
      pk.k = co, pk.tu = ah.taps, pk.tv = aw.taps, pk.c = p.c_in;
      pk.base = ((ry + p.stride_h * (ah.taps - 1)) * p.k_w + rx + p.stride_w * (aw.taps - 1)) * co;
      pk.sk = 1, pk.su = -p.stride_h * p.k_w * co, pk.sv = -p.stride_w * co;
      pk.sc = p.k_h * p.k_w * co;
      plan.packs.push_back(pk);
      plan.packed_elems += pk.elems();
      plan.launches.push_back(l);
    }
  }
  return plan;
}

// gemm_shuffle_sm90 (shuffle_reason(p) empty): one 1x1 fprop per kernel row.
inline Plan plan_shuffle(const Problem& p) {
  Plan plan;
  const int64_t s = p.stride_h, sw = p.stride_w, co = p.c_out;
  const int64_t wo = p.w_out(), sn = p.h_out() * wo * co;
  for (int ky = 0; ky < s; ++ky) {
    Launch l;
    l.ry = ky, l.rx = -1;
    set_shape(l, p, p.h_in, p.w_in, sw * co, 1, 1, 0, 0, 0, 0, sn, s * wo * co, sw * co);
    l.y_offset = ky * wo * co;
    l.filter_offset = plan.packed_elems;
    // f[j][0][0][c] = w[c][ky][j / C_out][j % C_out] = w[c*k_h*k_w*C_out + ky*k_w*C_out + j]
    Pack pk;
    pk.dst_offset = plan.packed_elems;
    pk.k = sw * co, pk.c = p.c_in;
    pk.base = ky * p.k_w * co, pk.sk = 1, pk.sc = p.k_h * p.k_w * co;
    plan.packs.push_back(pk);
    plan.packed_elems += pk.elems();
    plan.launches.push_back(l);
  }
  // The bias of channel j = kx*C_out + co is bias[co]: tiled s_w times (used where there is one).
  Pack b;
  b.from_bias = true;
  b.dst_offset = plan.tiled_bias_offset = plan.packed_elems;
  b.k = sw, b.c = co, b.sk = 0, b.sc = 1;
  plan.packs.push_back(b);
  plan.packed_elems += b.elems();
  for (Launch& l : plan.launches) l.bias_offset = plan.tiled_bias_offset;
  return plan;
}

}  // namespace tconv::phase_sm90
