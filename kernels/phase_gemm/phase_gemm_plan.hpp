// phase_gemm's host-side choice of path and tile (made once in plans()), kept apart from the
// launch code so the CPU tests and the design notes can state what each shape runs.
//   lowering:    a 1x1 input (DCGAN's first layer) runs as the equivalent 1x1-kernel problem
//   direct path: C_out/g <= 8, C_in/g < 8, or both <= 32 (a GEMM tile would be mostly padding)
//   GEMM path:   fp32 -> SIMT, tf32/fp16/bf16 -> mma.sync; tile from kTiles:
//                C_out/g <= 32 -> 128x32; otherwise the largest of 128x128 (not for C_out/g <= 64),
//                128x64, 64x64 whose tile count over all phases and groups reaches the SM count
//                (small problems buy parallelism with smaller tiles first);
//   split-K:     still below one block per SM with a long K (pix2pix, hifigan's first
//                upsampler): the k-tiles of every tile split S ways (S <= SMs / tiles, at least
//                kMinSplitKTiles k-tiles per split, at most kMaxSplits), fp32 partials in a
//                workspace, a reduction in split order (deterministic).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/phase_gemm/phase_gemm_math.hpp"
#include "kernels/phase_gemm/phase_gemm_tile.hpp"

namespace tconv::pg {

inline int64_t ceil_div64(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// A 1x1 input without padding, output padding or dilation, in one group, is a plain GEMM:
//   nchw  y[n][(co, ky, kx)] = sum_ci x[n][ci] * w[ci][(co, ky, kx)]
//   nhwc  y[n][(ky, kx, co)] = sum_ci x[n][ci] * w[ci][(ky, kx, co)]
// which is, byte for byte, the 1x1-kernel problem with C_out*k_h*k_w output channels. The phase
// GEMM of the original problem would multiply the k_h*k_w - 1 out-of-range taps of every output
// as zeros (16x the work for DCGAN's first layer), the lowered one does none. Only the bias index
// changes: lowered channel c is original channel (c / bias_div) % bias_mod.
struct Lowering {
  Problem p;  // the problem the kernels run (the original when not lowered)
  bool lowered = false;
  int bias_div = 1, bias_mod = 1;
};

inline Lowering lower_problem(const Problem& p, Layout layout) {
  Lowering lw;
  lw.p = p;
  lw.bias_mod = int(p.c_out);
  const bool plain_gemm = p.h_in == 1 && p.w_in == 1 && p.pad_h == 0 && p.pad_w == 0 &&
                          p.out_pad_h == 0 && p.out_pad_w == 0 && p.dil_h == 1 && p.dil_w == 1 &&
                          p.groups == 1 && p.k_h * p.k_w > 1;
  if (!plain_gemm) return lw;
  lw.lowered = true;
  lw.p.c_out = p.c_out * p.k_h * p.k_w;
  lw.p.k_h = lw.p.k_w = 1;
  lw.p.stride_h = lw.p.stride_w = 1;
  lw.bias_div = layout == Layout::nchw ? int(p.k_h * p.k_w) : 1;
  return lw;
}

// Block tiles (BM x BN); kernels/phase_gemm/phase_gemm.cu's launch_tile maps the same indices to
// the threads/warps layout of each engine.
struct TileShape {
  int bm, bn;
};
constexpr TileShape kTiles[4] = {{128, 128}, {128, 64}, {64, 64}, {128, 32}};

// Pixels of the largest phase: phase 0 of each dimension has ceil(out/stride) outputs.
inline int64_t max_phase_pixels(const ConvDims& d) {
  return int64_t(d.n) * ((d.h_out - 1) / d.dh.stride + 1) * ((d.w_out - 1) / d.dw.stride + 1);
}

// The GEMM kernel's tile counts, the extent of its grid x and y before clamping: m-tiles cover the
// largest phase (smaller phases skip the excess), n-tiles the output channels of a group.
struct GemmTiles {
  int m_tiles, n_tiles;
};
inline GemmTiles gemm_tiles(const ConvDims& d, int bm, int bn) {
  return {int(ceil_div64(max_phase_pixels(d), bm)), int(ceil_div64(d.cog, bn))};
}

// The direct kernel's work: tasks (kDirectR outputs of a phase row) of the largest phase, and
// chunks of co output channels.
inline int64_t direct_max_tasks(const ConvDims& d) {
  return int64_t(d.n) * ((d.h_out - 1) / d.dh.stride + 1) *
         ceil_div64((d.w_out - 1) / d.dw.stride + 1, kDirectR);
}
inline int direct_co_chunks(const ConvDims& d, int co) {
  return int(ceil_div64(d.cog, co));
}

// Kernel parameters of a (lowered) problem; the launch code fills in the tile and chunk counts.
// One launch covers every phase and group: z = phase*groups + g (<= y elements < 2^31).
inline GemmParams gemm_params(const ConvDims& d, const void* x, const void* w, const void* bias,
                              void* y, int bias_div, int bias_mod) {
  const int phases_w = phase_count(d.dw);
  return GemmParams{
      d,        phases_w, phase_count(d.dh) * phases_w * d.groups, 0, 0, x, w, bias, y,
      bias_div, bias_mod};
}
inline DirectParams direct_params(const ConvDims& d, const void* x, const void* w, const void* bias,
                                  void* y, int bias_div, int bias_mod) {
  const int phases_w = phase_count(d.dw);
  return DirectParams{d,        phases_w, phase_count(d.dh) * phases_w * d.groups, 0, x, w, bias, y,
                      bias_div, bias_mod};
}

// Block tiles of one configuration over all phases and groups.
inline int64_t count_tiles(const ConvDims& d, int bm, int bn) {
  const int ph = phase_count(d.dh), pw = phase_count(d.dw);
  const int64_t per_n = ceil_div64(d.cog, bn) * d.groups;
  if (int64_t(ph) * pw > 65536)  // absurd strides: the padding per phase no longer matters
    return ceil_div64(int64_t(d.n) * d.h_out * d.w_out, bm) * per_n;
  int64_t m_tiles = 0;
  for (int fh = 0; fh < ph; ++fh) {
    const int64_t ch = (d.h_out - 1 - fh) / d.dh.stride + 1;
    for (int fw = 0; fw < pw; ++fw) {
      const int64_t cw = (d.w_out - 1 - fw) / d.dw.stride + 1;
      m_tiles += ceil_div64(d.n * ch * cw, bm);
    }
  }
  return m_tiles * per_n;
}

// The most k-tiles any (phase, group) tile has: taps of the phase with the most taps along h
// times along w, times the channel chunks of bk. 0 past kMaxPhasesForSplit phases a dimension
// (absurd strides: one tap or none per phase, nothing to split).
constexpr int kMaxPhasesForSplit = 4096;
inline int max_k_tiles(const ConvDims& d, int bk) {
  auto most_taps = [](const idx::Dim& dd) {
    const int n = phase_count(dd);
    if (n > kMaxPhasesForSplit) return 0;
    int most = 0;
    for (int f = 0; f < n; ++f) {
      const int t = phase_dim(f, dd).taps;
      most = t > most ? t : most;
    }
    return most;
  };
  return most_taps(d.dh) * most_taps(d.dw) * channel_chunks(d.cig, bk);
}

// A split must amortize writing and re-reading its fp32 partial tile (BM*BN*4 bytes twice) over
// its k-tiles: 4 k-tiles of 128x? tiles move about as many bytes of x and w as that.
constexpr int kMinSplitKTiles = 4;
constexpr int kMaxSplits = 8;

struct Plan {
  bool direct = false;
  int co = 1;      // direct: output channels per thread (1, 2, 4 or 8)
  int tile = 0;    // GEMM: index into kTiles
  int splits = 1;  // GEMM: split-K factor (1: none)
  Engine engine = Engine::simt;
  bool vec_a = false, vec_b = false;  // the shape allows vector loads (alignment checked in run)
};

inline bool use_direct(const ConvDims& d) {
  return d.cog <= 8 || d.cig < 8 || (d.cig <= 32 && d.cog <= 32);
}

inline Plan make_plan(const Problem& p, const Config& cfg, int sms) {
  const ConvDims d = make_conv_dims(p);
  Plan plan;
  if (use_direct(d)) {
    plan.direct = true;
    plan.co = d.cog <= 1 ? 1 : d.cog <= 2 ? 2 : d.cog <= 4 ? 4 : 8;
    return plan;
  }
  plan.engine = cfg.dtype == DType::fp32 ? Engine::simt : Engine::tc;
  if (d.cog <= 32) {
    plan.tile = 3;
  } else {
    const int first = d.cog <= 64 ? 1 : 0;
    plan.tile = 2;
    for (int i = first; i <= 2; ++i)
      if (count_tiles(d, kTiles[i].bm, kTiles[i].bn) >= sms) {
        plan.tile = i;
        break;
      }
  }
  const int64_t tiles = count_tiles(d, kTiles[plan.tile].bm, kTiles[plan.tile].bn);
  if (tiles < sms) {
    const int bk = storage_bytes(cfg.dtype) == 2 ? 32 : 16;
    const int64_t by_sms = sms / tiles, by_k = max_k_tiles(d, bk) / kMinSplitKTiles;
    const int64_t s = std::min<int64_t>(std::min(by_sms, by_k), kMaxSplits);
    plan.splits = s >= 2 ? int(s) : 1;
  }
  // 16-byte loads: 4 fp32 or 8 fp16/bf16 channels; A needs C_in/g, B needs C_out/g divisible.
  const int v = int(16 / storage_bytes(cfg.dtype));
  plan.vec_a = cfg.layout == Layout::nhwc && d.cig % v == 0;
  plan.vec_b = cfg.layout == Layout::nhwc && d.cog % v == 0;
  return plan;
}

// What plans() decides for a problem: the plan of its lowered form.
inline Plan plan_problem(const Problem& p, const Config& cfg, int sms) {
  return make_plan(lower_problem(p, cfg.layout).p, cfg, sms);
}

// Floats of the split-K workspace: one fp32 partial of y per split (0 without split-K). The
// lowered problem has y's element count.
inline int64_t splitk_workspace_floats(const Plan& plan, const Problem& p) {
  if (plan.direct || plan.splits <= 1) return 0;
  return int64_t(plan.splits) * p.y_elems();
}

// The algo() string, e.g. "tc_bf16 128x128x32 nhwc vecA vecB" or "direct_fp32 co1 r4 nchw".
// va/vb: vector loads actually used (shape and pointer alignment).
inline std::string describe(const Plan& plan, const Config& cfg, bool va, bool vb,
                            bool lowered = false) {
  std::string s;
  if (plan.direct) {
    s = std::string("direct_") + to_string(cfg.dtype) + " co" + std::to_string(plan.co) + " r" +
        std::to_string(kDirectR);
  } else {
    const int bk = storage_bytes(cfg.dtype) == 2 ? 32 : 16;
    s = std::string(plan.engine == Engine::simt ? "simt_" : "tc_") + to_string(cfg.dtype) + " " +
        std::to_string(kTiles[plan.tile].bm) + "x" + std::to_string(kTiles[plan.tile].bn) + "x" +
        std::to_string(bk);
  }
  s += std::string(" ") + to_string(cfg.layout);
  if (va) s += " vecA";
  if (va && vb) s += " vecB";
  if (!plan.direct && plan.splits > 1) s += " splitK" + std::to_string(plan.splits);
  if (lowered) s += " (1x1 input as GEMM)";
  return s;
}

}  // namespace tconv::pg
