// phase_gemm on the CPU: the phase decomposition, the per-phase implicit GEMM mappings, the
// kernel's tile decoding, and every GEMM kernel instantiation and the direct kernel run on the CPU
// runtime (cpu_cuda: the real __global__ functions through their production launch code, mma.sync
// modelled from the PTX fragment tables) on exact integer data, all against ref::direct.
// tests/test_cpu_run_phase_gemm.cpp runs the whole implementation's dispatch on random reals.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/harness.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"
#include "reference/reference.hpp"

namespace tconv {
namespace {

using namespace pg;

// ---- Random problems ---------------------------------------------------------------------------

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(uint64_t seed) : gen(seed) {}
  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
  bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(gen) < p; }
  double nonzero() {  // |v| in [0.1, 1], random sign
    const double v = std::uniform_real_distribution<double>(0.1, 1.0)(gen);
    return coin(0.5) ? v : -v;
  }
};

struct GenOpts {
  int max_n = 2, max_groups = 3, max_cig = 5, max_cog = 5, max_hw = 7, max_k = 5;
  int max_stride = 5, max_dil = 3, max_pad = 4;
  int cig_mult = 1, cog_mult = 1;  // channel counts per group are multiples of these
  int min_cog = 1;
  bool depthwise_sometimes = true;
  int max_k_taps = 1 << 30;  // cig * taps_h * taps_w bound (exactness of 16-bit emulation)
};

Problem random_problem(Rng& r, const GenOpts& o) {
  for (;;) {
    Problem p;
    p.n = r.uni(1, o.max_n);
    if (o.depthwise_sometimes && r.coin(0.12)) {
      p.groups = r.uni(1, 6);
      p.c_in = p.c_out = p.groups;
    } else {
      p.groups = r.uni(1, o.max_groups);
      p.c_in = p.groups * o.cig_mult * r.uni(1, o.max_cig);
      p.c_out = p.groups * o.cog_mult * r.uni(std::max(1, o.min_cog / o.cog_mult), o.max_cog);
    }
    p.h_in = r.uni(1, o.max_hw);
    p.w_in = r.uni(1, o.max_hw);
    p.k_h = r.uni(1, o.max_k);
    p.k_w = r.uni(1, o.max_k);
    p.stride_h = r.uni(1, o.max_stride);
    p.stride_w = r.uni(1, o.max_stride);
    p.dil_h = r.coin(0.35) ? r.uni(1, o.max_dil) : 1;
    p.dil_w = r.coin(0.35) ? r.uni(1, o.max_dil) : 1;
    p.pad_h = r.uni(0, o.max_pad);
    p.pad_w = r.uni(0, o.max_pad);
    p.out_pad_h = r.uni(0, int(std::max(p.stride_h, p.dil_h)) - 1);
    p.out_pad_w = r.uni(0, int(std::max(p.stride_w, p.dil_w)) - 1);
    p.has_bias = r.coin(0.5);
    if (!p.validate().empty()) continue;
    const ConvDims d = make_conv_dims(p);
    if (int64_t(d.cig) * max_phase_taps(d.dh) * max_phase_taps(d.dw) > o.max_k_taps) continue;
    return p;
  }
}

// Any phase without taps (dilation sharing a factor with the stride)?
bool has_tapless_phase(const Problem& p) {
  const ConvDims d = make_conv_dims(p);
  for (const idx::Dim& dd : {d.dh, d.dw})
    for (int f = 0; f < phase_count(dd); ++f)
      if (phase_dim(f, dd).taps == 0) return true;
  return false;
}

// ---- Layout conversions (written independently of phase_gemm_math's offsets) -------------------

std::vector<double> x_to_nhwc(const Problem& p, const std::vector<double>& x) {
  std::vector<double> o(x.size());
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t c = 0; c < p.c_in; ++c)
      for (int64_t h = 0; h < p.h_in; ++h)
        for (int64_t w = 0; w < p.w_in; ++w)
          o[((n * p.h_in + h) * p.w_in + w) * p.c_in + c] =
              x[((n * p.c_in + c) * p.h_in + h) * p.w_in + w];
  return o;
}
std::vector<double> w_to_krsc(const Problem& p, const std::vector<double>& w) {
  std::vector<double> o(w.size());
  const int64_t cog = p.c_out_per_group();
  for (int64_t ci = 0; ci < p.c_in; ++ci)
    for (int64_t j = 0; j < cog; ++j)
      for (int64_t ky = 0; ky < p.k_h; ++ky)
        for (int64_t kx = 0; kx < p.k_w; ++kx)
          o[((ci * p.k_h + ky) * p.k_w + kx) * cog + j] =
              w[((ci * cog + j) * p.k_h + ky) * p.k_w + kx];
  return o;
}
std::vector<double> y_nhwc_to_nchw(const Problem& p, const std::vector<double>& y) {
  std::vector<double> o(y.size());
  const int64_t ho = p.h_out(), wo = p.w_out();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t c = 0; c < p.c_out; ++c)
      for (int64_t h = 0; h < ho; ++h)
        for (int64_t w = 0; w < wo; ++w)
          o[((n * p.c_out + c) * ho + h) * wo + w] = y[((n * ho + h) * wo + w) * p.c_out + c];
  return o;
}

struct Operands {
  std::vector<double> x, w, bias;  // NCHW / (C_in, C_out/g, k_h, k_w)
};
// gen(): the value generator (random nonzero reals, or small integers for exact emulation).
template <class Gen>
Operands make_operands(const Problem& p, Gen gen) {
  Operands o;
  o.x.resize(size_t(p.x_elems()));
  o.w.resize(size_t(p.w_elems()));
  o.bias.resize(size_t(p.c_out));
  for (double& v : o.x) v = gen();
  for (double& v : o.w) v = gen();
  for (double& v : o.bias) v = gen();
  return o;
}

std::vector<double> reference(const Problem& p, const Operands& o) {
  std::vector<double> y(size_t(p.y_elems()));
  ref::direct(p, o.x.data(), o.w.data(), p.has_bias ? o.bias.data() : nullptr, y.data());
  return y;
}

// ---- (1) The phase decomposition ---------------------------------------------------------------

idx::Dim random_dim(Rng& r) {
  for (;;) {
    idx::Dim d;
    d.in = r.uni(1, 10);
    d.k = r.uni(1, 12);
    d.stride = r.uni(1, 12);
    d.dil = r.coin(0.4) ? r.uni(2, 5) : 1;
    d.pad = r.uni(0, 8);
    const int out_pad = r.uni(0, std::max(d.stride, d.dil) - 1);
    d.out = (d.in - 1) * d.stride - 2 * d.pad + d.dil * (d.k - 1) + out_pad + 1;
    if (d.out >= 1) return d;
  }
}

TEST(PhaseGemmDecomposition, PhasesCoverEveryOutputOnceAndPartitionTheTaps) {
  Rng r(1234);
  int tapless = 0, stride_gt_k = 0, uneven = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const idx::Dim d = random_dim(r);
    const int np = phase_count(d);
    ASSERT_EQ(np, std::min(d.stride, d.out));
    std::vector<int> owner(size_t(d.out), 0);
    // hits[(f, q, t)] from the landing (input, tap) pairs.
    std::vector<std::vector<std::vector<int>>> hits(static_cast<size_t>(np));
    std::vector<PhaseDim> phases;
    for (int f = 0; f < np; ++f) {
      const PhaseDim ph = phase_dim(f, d);
      phases.push_back(ph);
      ASSERT_GE(ph.count, 1);
      for (int q = 0; q < ph.count; ++q) {
        const int o = phase_out(ph, d, q);
        ASSERT_TRUE(o >= 0 && o < d.out);
        owner[size_t(o)]++;
      }
      ASSERT_GE(phase_out(ph, d, ph.count), d.out);
      hits[size_t(f)].assign(size_t(ph.count), std::vector<int>(size_t(std::max(ph.taps, 1)), 0));
      ASSERT_LE(ph.taps, max_phase_taps(d));
      // Agreement with kernels/common/index_math.hpp's residue-indexed functions.
      const int res = (f + d.pad) % d.stride;
      ASSERT_EQ(idx::phase_first_output(res, d), f);
      ASSERT_EQ(idx::phase_output_count(res, d), ph.count);
      ASSERT_EQ(idx::phase_tap_count(res, d), ph.taps);
      ASSERT_EQ(idx::phase_tap_step(d), ph.tap_step);
      if (ph.taps > 0) {
        ASSERT_EQ(idx::phase_tap_first(res, d), ph.tap_first);
        for (int t = 0; t < ph.taps; ++t)
          ASSERT_EQ(idx::phase_input_offset(res, phase_tap(ph, t), d), phase_in_offset(ph, t));
      }
      if (ph.taps == 0) ++tapless;
    }
    ASSERT_EQ(max_phase_taps(d), idx::phase_max_taps(d));
    for (int o = 0; o < d.out; ++o) ASSERT_EQ(owner[size_t(o)], 1) << "output " << o;
    if (d.stride > d.k) ++stride_gt_k;
    if (d.k % d.stride != 0) ++uneven;

    // Every (input, tap) pair that lands inside the output is exactly one (phase, q, t).
    for (int i = 0; i < d.in; ++i)
      for (int tap = 0; tap < d.k; ++tap) {
        const int o = i * d.stride - d.pad + tap * d.dil;
        if (o < 0 || o >= d.out) continue;
        int found = 0;
        for (int f = 0; f < np; ++f) {
          const PhaseDim& ph = phases[size_t(f)];
          if ((o - f) % d.stride != 0 || o < f) continue;
          const int q = (o - f) / d.stride;
          for (int t = 0; t < ph.taps; ++t) {
            if (phase_tap(ph, t) != tap) continue;
            ASSERT_EQ(q + phase_in_offset(ph, t), i);
            hits[size_t(f)][size_t(q)][size_t(t)]++;
            ++found;
          }
        }
        ASSERT_EQ(found, 1) << "input " << i << " tap " << tap;
      }
    // ...and every (phase, q, t) whose input is inside [0, in) is such a pair.
    for (int f = 0; f < np; ++f) {
      const PhaseDim& ph = phases[size_t(f)];
      for (int q = 0; q < ph.count; ++q)
        for (int t = 0; t < ph.taps; ++t) {
          const int i = q + phase_in_offset(ph, t);
          ASSERT_EQ(hits[size_t(f)][size_t(q)][size_t(t)], (i >= 0 && i < d.in) ? 1 : 0);
        }
    }
  }
  EXPECT_GT(tapless, 0);
  EXPECT_GT(stride_gt_k, 0);
  EXPECT_GT(uneven, 0);
}

// ---- (2) The per-phase GEMM in double through phase_gemm_math's mappings -----------------------

template <Layout L>
std::vector<double> emulate_phase_gemm(const Problem& p, const std::vector<double>& x,
                                       const std::vector<double>& w,
                                       const std::vector<double>& bias, std::vector<int>& writes) {
  const ConvDims d = make_conv_dims(p);
  std::vector<double> y(size_t(p.y_elems()), std::numeric_limits<double>::quiet_NaN());
  writes.assign(y.size(), 0);
  for (int fh = 0; fh < phase_count(d.dh); ++fh)
    for (int fw = 0; fw < phase_count(d.dw); ++fw) {
      const PhaseDim ph = phase_dim(fh, d.dh), pw = phase_dim(fw, d.dw);
      const int M = gemm_m(d, ph, pw), K = gemm_k(d, ph, pw);
      for (int g = 0; g < d.groups; ++g)
        for (int m = 0; m < M; ++m)
          for (int n = 0; n < d.cog; ++n) {
            double s = 0;
            for (int k = 0; k < K; ++k) {
              const int ao = a_offset<L>(d, ph, pw, g, m, k);
              if (ao < 0) continue;
              s += x[size_t(ao)] * w[size_t(b_offset<L>(d, ph, pw, g, k, n))];
            }
            if (p.has_bias) s += bias[size_t(g * d.cog + n)];
            const int co = c_offset<L>(d, ph, pw, g, m, n);
            y[size_t(co)] = s;
            writes[size_t(co)]++;
          }
    }
  return y;
}

TEST(PhaseGemmMapping, GemmEmulationMatchesReferenceBothLayouts) {
  Rng r(42);
  GenOpts o;
  int groups = 0, depthwise = 0, dilation = 0, out_pad = 0, bias = 0, asym = 0, stride_gt_k = 0,
      uneven = 0, tapless = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const Problem p = random_problem(r, o);
    const Operands ops = make_operands(p, [&] { return r.nonzero(); });
    const std::vector<double> want = reference(p, ops);
    std::vector<int> writes;
    const std::vector<double> y1 =
        emulate_phase_gemm<Layout::nchw>(p, ops.x, ops.w, ops.bias, writes);
    for (int c : writes) ASSERT_EQ(c, 1) << p.to_string();
    const std::vector<double> y2 =
        y_nhwc_to_nchw(p, emulate_phase_gemm<Layout::nhwc>(p, x_to_nhwc(p, ops.x),
                                                           w_to_krsc(p, ops.w), ops.bias, writes));
    for (int c : writes) ASSERT_EQ(c, 1) << p.to_string();
    for (size_t e = 0; e < want.size(); ++e) {
      const double tol = 1e-12 * std::max(1.0, std::fabs(want[e]));
      ASSERT_NEAR(y1[e], want[e], tol) << "nchw " << p.to_string() << " element " << e;
      ASSERT_NEAR(y2[e], want[e], tol) << "nhwc " << p.to_string() << " element " << e;
    }
    groups += p.groups > 1 && p.c_in != p.groups;
    depthwise += p.groups > 1 && p.c_in == p.groups && p.c_out == p.groups;
    dilation += p.dil_h > 1 || p.dil_w > 1;
    out_pad += p.out_pad_h > 0 || p.out_pad_w > 0;
    bias += p.has_bias;
    asym += p.k_h != p.k_w || p.stride_h != p.stride_w || p.h_in != p.w_in;
    stride_gt_k += p.stride_h > p.k_h || p.stride_w > p.k_w;
    uneven += p.k_h % p.stride_h != 0 || p.k_w % p.stride_w != 0;
    tapless += has_tapless_phase(p);
  }
  EXPECT_GT(groups, 0);
  EXPECT_GT(depthwise, 0);
  EXPECT_GT(dilation, 0);
  EXPECT_GT(out_pad, 0);
  EXPECT_GT(bias, 0);
  EXPECT_GT(asym, 0);
  EXPECT_GT(stride_gt_k, 0);
  EXPECT_GT(uneven, 0);
  EXPECT_GT(tapless, 0);
}

// ---- (3) Tile decoding against brute force -----------------------------------------------------

TEST(PhaseGemmTiles, DecodersInvertTheirEncodings) {
  for (int pw = 1; pw <= 5; ++pw)
    for (int groups = 1; groups <= 4; ++groups)
      for (int ph = 1; ph <= 4; ++ph)
        for (int fh = 0; fh < ph; ++fh)
          for (int fw = 0; fw < pw; ++fw)
            for (int g = 0; g < groups; ++g) {
              const PhaseGroup d = decode_phase_group((fh * pw + fw) * groups + g, pw, groups);
              ASSERT_EQ(d.fh, fh);
              ASSERT_EQ(d.fw, fw);
              ASSERT_EQ(d.g, g);
            }
  for (int ch = 1; ch <= 5; ++ch)
    for (int cw = 1; cw <= 6; ++cw)
      for (int m = 0; m < 3 * ch * cw; ++m) {
        const Pixel px = decode_pixel(m, ch, cw);
        ASSERT_TRUE(px.qh >= 0 && px.qh < ch && px.qw >= 0 && px.qw < cw);
        ASSERT_EQ((px.nb * ch + px.qh) * cw + px.qw, m);
      }
  for (int tw = 1; tw <= 4; ++tw)
    for (int cig = 1; cig <= 7; ++cig)
      for (int k = 0; k < 3 * tw * cig; ++k) {
        const KCoord kc = decode_k(k, tw, cig);
        ASSERT_TRUE(kc.ci >= 0 && kc.ci < cig && kc.tw >= 0 && kc.tw < tw);
        ASSERT_EQ((kc.th * tw + kc.tw) * cig + kc.ci, k);
      }
}

TEST(PhaseGemmTiles, KTilesVisitEveryTapAndChannelOnce) {
  for (int taps_h = 0; taps_h <= 3; ++taps_h)
    for (int taps_w = 0; taps_w <= 3; ++taps_w)
      for (int cig = 1; cig <= 70; cig += 3)
        for (int bk : {16, 32}) {
          PhaseDim ph{}, pw{};
          ph.taps = taps_h;
          pw.taps = taps_w;
          const int chunks = channel_chunks(cig, bk);
          const int nk = k_tiles(ph, pw, cig, bk);
          ASSERT_EQ(nk, taps_h * taps_w * chunks);
          std::vector<int> seen(size_t(std::max(1, taps_h * taps_w * cig)), 0);
          for (int kt = 0; kt < nk; ++kt) {
            const KTile t = decode_k_tile(kt, taps_w, chunks, bk);
            ASSERT_TRUE(t.th >= 0 && t.th < taps_h && t.tw >= 0 && t.tw < taps_w);
            ASSERT_EQ(t.c0 % bk, 0);
            ASSERT_LT(t.c0, cig);
            for (int kk = 0; kk < bk; ++kk)
              if (t.c0 + kk < cig) seen[size_t((t.th * taps_w + t.tw) * cig + t.c0 + kk)]++;
          }
          if (nk > 0) {
            for (int s : seen) ASSERT_EQ(s, 1);
          }
        }
}

TEST(PhaseGemmTiles, DirectWindowSlotsMatchTheTapInputs) {
  Rng r(7);
  for (int iter = 0; iter < 2000; ++iter) {
    const idx::Dim d = random_dim(r);
    for (int f = 0; f < phase_count(d); ++f) {
      const PhaseDim pw = phase_dim(f, d);
      if (!window_usable(pw)) continue;
      for (int qw0 = 0; qw0 < pw.count; qw0 += kDirectR)
        for (int tw = 0; tw < pw.taps; ++tw)
          for (int rr = 0; rr < kDirectR; ++rr) {
            const int s = window_slot(rr, tw);
            ASSERT_GE(s, kMaxWindowTaps - pw.taps);
            ASSERT_LT(s, kDirectR + kMaxWindowTaps - 1);
            ASSERT_EQ(window_first_ix(qw0, pw) + s, qw0 + rr + phase_in_offset(pw, tw));
          }
    }
  }
}

// ---- (4) Every GEMM kernel instantiation, run on the CPU runtime
// ----------------------------------

// What the blocks of one configuration covered, summed over its problems (tiles enumerated with the
// kernel's own make_tile_ctx over the launch's own tile counts).
struct GemmCoverage {
  int tiles = 0, m_tail = 0, n_tail = 0, c_tail = 0, multi_chunk = 0, no_taps = 0, skipped = 0;
};

template <class C>
void count_coverage(const pg::GemmParams& gp, GemmCoverage& cov) {
  const GemmTiles gt = gemm_tiles(gp.d, C::BM, C::BN);
  for (int z = 0; z < gp.z_count; ++z)
    for (int nt = 0; nt < gt.n_tiles; ++nt)
      for (int mt = 0; mt < gt.m_tiles; ++mt) {
        const TileCtx t = make_tile_ctx(gp, z, mt, nt, C::BM, C::BN, C::BK);
        if (!t.active) {
          cov.skipped++;
          continue;
        }
        cov.tiles++;
        cov.m_tail += t.m0 + C::BM > t.M;
        cov.n_tail += t.n0 + C::BN > gp.d.cog;
        cov.c_tail += gp.d.cig % C::BK != 0;
        cov.multi_chunk += t.chunks > 1;
        cov.no_taps += t.nk == 0;
      }
}

// The real kernel of configuration C through its production launch (launch_gemm: tile counts,
// grid, block, shared memory), on the CPU runtime.
template <class C>
void run_gemm_kernel(const pg::GemmParams& gp, GemmCoverage& cov) {
  count_coverage<C>(gp, cov);
  launch_gemm<C>(gp, nullptr);
}

// Host copies of the operands in T and layout L, with NaN guard zones around x and w so that an
// unpredicated out-of-range read shows up in the result.
template <typename T>
struct Guarded {
  static constexpr size_t kGuard = 4096;
  std::vector<T> buf;
  explicit Guarded(const std::vector<double>& v)
      : buf(v.size() + 2 * kGuard, from_float<T>(std::numeric_limits<float>::quiet_NaN())) {
    for (size_t i = 0; i < v.size(); ++i) buf[kGuard + i] = from_float<T>(float(v[i]));
  }
  const T* data() const { return buf.data() + kGuard; }
};

template <typename T>
std::vector<double> to_double(const std::vector<T>& v) {
  std::vector<double> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = double(to_float(v[i]));
  return o;
}

// Runs `run` (a kernel launch writing y in layout L) and compares with ref::direct exactly
// (the data are small integers: every product and sum is exact in fp32, and the outputs are
// representable in T).
template <typename T, Layout L, class Run>
void check_kernel(const Problem& p, const Operands& ops, Run run, const std::string& what) {
  const std::vector<double> want = reference(p, ops);
  const bool nhwc = L == Layout::nhwc;
  const Guarded<T> x(nhwc ? x_to_nhwc(p, ops.x) : ops.x);
  const Guarded<T> w(nhwc ? w_to_krsc(p, ops.w) : ops.w);
  const Guarded<T> bias(ops.bias);
  std::vector<T> y(size_t(p.y_elems()), from_float<T>(std::numeric_limits<float>::quiet_NaN()));
  run(make_conv_dims(p), x.data(), w.data(), p.has_bias ? bias.data() : nullptr, y.data());
  std::vector<double> got = to_double(y);
  if (nhwc) got = y_nhwc_to_nchw(p, got);
  for (size_t e = 0; e < want.size(); ++e)
    ASSERT_EQ(got[e], want[e]) << what << " " << p.to_string() << " element " << e;
}

int small_int(Rng& r, int mag) {
  const int v = r.uni(1, mag);
  return r.coin(0.5) ? v : -v;
}

template <class C>
void check_gemm_config(uint64_t seed, int problems) {
  using T = typename C::T;
  Rng r(seed);
  GenOpts o;
  o.max_groups = 2;
  o.max_n = 2;
  o.max_hw = 8;  // every block runs one fiber per thread on the CPU runtime
  o.max_k = 5;
  o.max_stride = 4;
  o.max_dil = 2;
  o.max_pad = 3;
  o.depthwise_sometimes = C::VA == 1 && C::VB == 1;
  o.cig_mult = C::VA;
  o.cog_mult = C::VB;
  o.max_cig = 40 / C::VA;
  o.max_cog = (C::BN + C::BN / 4) / C::VB;
  const bool wide = sizeof(T) == 4;
  // 16-bit: +-1 data and at most 255 products per output keep every output exact in bf16.
  if (!wide) o.max_k_taps = 254;
  const std::string what = std::string("gemm ") + std::to_string(C::BM) + "x" +
                           std::to_string(C::BN) + (C::engine == Engine::simt ? " simt" : " tc") +
                           " " + to_string(C::layout) + " VA=" + std::to_string(C::VA) +
                           " VB=" + std::to_string(C::VB) +
                           " sizeof(T)=" + std::to_string(sizeof(T));
  GemmCoverage cov;
  for (int i = 0; i < problems; ++i) {
    Problem p = random_problem(r, o);
    if (i == 0) {  // dilation 2 with stride 2: the odd phases have no taps and get bias only
      p.groups = 1;
      p.n = 2;
      p.c_in = 8;
      p.c_out = C::BN + C::VB;
      p.h_in = 6;
      p.w_in = 5;
      p.k_h = p.k_w = 3;
      p.stride_h = p.stride_w = 2;
      p.dil_h = p.dil_w = 2;
      p.pad_h = p.pad_w = 1;
      p.out_pad_h = p.out_pad_w = 1;
      p.has_bias = true;
    } else if (i == 1) {  // stride 1: one phase of 2*10*11 = 220 pixels, full and partial tiles
      p = Problem{};
      p.n = 2;
      p.c_in = 8;
      p.c_out = 2 * C::BN;
      p.h_in = 10;
      p.w_in = 11;
      p.k_h = p.k_w = 3;
      p.pad_h = p.pad_w = 1;
    }
    const Operands ops = make_operands(p, [&] { return double(small_int(r, wide ? 3 : 1)); });
    check_kernel<T, C::layout>(
        p, ops,
        [&](const ConvDims& d, const T* x, const T* w, const T* b, T* y) {
          run_gemm_kernel<C>(gemm_params(d, x, w, b, y, 1, d.c_out), cov);
        },
        what);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Every configuration must have met the tails it predicates.
  EXPECT_GT(cov.m_tail, 0) << what;
  EXPECT_GT(cov.n_tail, 0) << what;
  EXPECT_GT(cov.c_tail + cov.multi_chunk, 0) << what;
  EXPECT_GT(cov.tiles - cov.m_tail, 0) << what << ": no full-height tile";
  EXPECT_GT(cov.no_taps, 0) << what;
}

// The configurations kernels/phase_gemm/phase_gemm.cu instantiates (launch_tile / launch_vec), per
// engine.
template <typename T, Engine E, Layout L, int BM, int BN, int P, int Q>
void check_vec_variants(uint64_t seed, int problems) {
  constexpr int V = int(16 / sizeof(T));
  check_gemm_config<GemmCfg<T, E, L, BM, BN, P, Q, 1, 1>>(seed, problems);
  if constexpr (L == Layout::nhwc) {
    check_gemm_config<GemmCfg<T, E, L, BM, BN, P, Q, V, 1>>(seed + 1, problems);
    check_gemm_config<GemmCfg<T, E, L, BM, BN, P, Q, V, V>>(seed + 2, problems);
  }
}

template <typename T, Engine E, Layout L>
void check_all_tiles(uint64_t seed, int problems) {
  if constexpr (E == Engine::simt) {
    check_vec_variants<T, E, L, 128, 128, 8, 8>(seed, problems);
    check_vec_variants<T, E, L, 128, 64, 8, 4>(seed + 10, problems);
    check_vec_variants<T, E, L, 64, 64, 4, 4>(seed + 20, problems);
    check_vec_variants<T, E, L, 128, 32, 8, 4>(seed + 30, problems);
  } else {
    check_vec_variants<T, E, L, 128, 128, 2, 4>(seed, problems);
    check_vec_variants<T, E, L, 128, 64, 2, 2>(seed + 10, problems);
    check_vec_variants<T, E, L, 64, 64, 2, 2>(seed + 20, problems);
    check_vec_variants<T, E, L, 128, 32, 4, 1>(seed + 30, problems);
  }
}

constexpr int kBlockProblems = 6;

TEST(PhaseGemmKernels, SimtFp32Nchw) {
  check_all_tiles<float, Engine::simt, Layout::nchw>(100, kBlockProblems);
}
TEST(PhaseGemmKernels, SimtFp32Nhwc) {
  check_all_tiles<float, Engine::simt, Layout::nhwc>(200, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreTf32Nchw) {
  check_all_tiles<float, Engine::tc, Layout::nchw>(300, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreTf32Nhwc) {
  check_all_tiles<float, Engine::tc, Layout::nhwc>(400, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreFp16Nchw) {
  check_all_tiles<__half, Engine::tc, Layout::nchw>(500, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreFp16Nhwc) {
  check_all_tiles<__half, Engine::tc, Layout::nhwc>(600, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreBf16Nchw) {
  check_all_tiles<__nv_bfloat16, Engine::tc, Layout::nchw>(700, kBlockProblems);
}
TEST(PhaseGemmKernels, TensorCoreBf16Nhwc) {
  check_all_tiles<__nv_bfloat16, Engine::tc, Layout::nhwc>(800, kBlockProblems);
}

// ---- (5) The direct kernel, every CO, on the CPU runtime
// -----------------------------------------

template <typename T, Layout L, int CO>
void check_direct(uint64_t seed, int problems) {
  Rng r(seed);
  GenOpts o;
  o.max_cig = 6;
  o.max_cog = 12;  // several CO chunks and a chunk tail
  o.max_k = 10;    // > kMaxWindowTaps taps per phase for small strides: the generic loop
  const bool wide = sizeof(T) == 4;
  if (!wide) o.max_k_taps = 254;
  int window = 0, generic = 0;
  for (int i = 0; i < problems; ++i) {
    const Problem p = random_problem(r, o);
    const Operands ops = make_operands(p, [&] { return double(small_int(r, wide ? 3 : 1)); });
    check_kernel<T, L>(
        p, ops,
        [&](const ConvDims& d, const T* x, const T* w, const T* b, T* y) {
          const DirectParams dp = direct_params(d, x, w, b, y, 1, d.c_out);
          for (int z = 0; z < dp.z_count; ++z) {
            const PhaseGroup pz = decode_phase_group(z, dp.phases_w, d.groups);
            (window_usable(phase_dim(pz.fw, d.dw)) ? window : generic)++;
          }
          launch_direct_co<T, L, CO>(dp, nullptr);
        },
        std::string("direct co") + std::to_string(CO) + " " + to_string(L));
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(window, 0);
  EXPECT_GT(generic, 0);
}

template <typename T, Layout L>
void check_direct_all(uint64_t seed) {
  check_direct<T, L, 1>(seed, 40);
  check_direct<T, L, 2>(seed + 1, 40);
  check_direct<T, L, 4>(seed + 2, 40);
  check_direct<T, L, 8>(seed + 3, 40);
}

TEST(PhaseGemmDirectKernel, Fp32) {
  check_direct_all<float, Layout::nchw>(900);
  check_direct_all<float, Layout::nhwc>(910);
}
TEST(PhaseGemmDirectKernel, Fp16) {
  check_direct_all<__half, Layout::nchw>(920);
  check_direct_all<__half, Layout::nhwc>(930);
}
TEST(PhaseGemmDirectKernel, Bf16) {
  check_direct_all<__nv_bfloat16, Layout::nchw>(940);
  check_direct_all<__nv_bfloat16, Layout::nhwc>(950);
}

// ---- (6) 1x1 inputs lowered to a plain GEMM ----------------------------------------------------

template <class C>
void run_gemm_lowered(const ConvDims& d, const void* x, const void* w, const void* b, void* y,
                      int bias_div, int bias_mod) {
  launch_gemm<C>(gemm_params(d, x, w, b, y, bias_div, bias_mod), nullptr);
}

template <typename T, Layout L, int CO>
void run_direct_lowered(const ConvDims& d, const void* x, const void* w, const void* b, void* y,
                        int bias_div, int bias_mod) {
  launch_direct_co<T, L, CO>(direct_params(d, x, w, b, y, bias_div, bias_mod), nullptr);
}

// Runs the lowered problem through one GEMM configuration and the direct kernel (real kernels, CPU
// runtime), in layout L, and compares with the reference of the original problem.
template <typename T, Engine E, Layout L>
void check_lowering(uint64_t seed) {
  Rng r(seed);
  int lowered = 0;
  for (int iter = 0; iter < 40; ++iter) {
    Problem p;
    p.n = r.uni(1, 3);
    p.c_in = r.uni(1, 40);
    p.c_out = r.uni(1, 12);
    p.k_h = r.uni(1, 5);
    p.k_w = r.uni(1, 5);
    p.stride_h = r.uni(1, 3);
    p.stride_w = r.uni(1, 3);
    p.has_bias = r.coin(0.7);
    if (iter % 5 == 4) p.pad_h = 1;  // not lowerable: must come back unchanged
    if (p.k_h * p.k_w == 1 || !p.validate().empty()) continue;
    const Lowering lw = lower_problem(p, L);
    ASSERT_EQ(lw.lowered, p.pad_h == 0);
    if (!lw.lowered) {
      EXPECT_EQ(lw.p.to_string(), p.to_string());
      continue;
    }
    ++lowered;
    ASSERT_EQ(lw.p.validate(), "");
    ASSERT_EQ(lw.p.y_elems(), p.y_elems());
    ASSERT_EQ(lw.p.w_elems(), p.w_elems());
    const ConvDims dl = make_conv_dims(lw.p);
    const bool wide = sizeof(T) == 4;
    const Operands ops = make_operands(p, [&] { return double(small_int(r, wide ? 3 : 1)); });
    using Cfg = std::conditional_t<E == Engine::simt, GemmCfg<T, E, L, 64, 64, 4, 4, 1, 1>,
                                   GemmCfg<T, E, L, 128, 32, 4, 1, 1, 1>>;
    check_kernel<T, L>(
        p, ops,
        [&](const ConvDims&, const T* x, const T* w, const T* b, T* y) {
          run_gemm_lowered<Cfg>(dl, x, w, b, y, lw.bias_div, lw.bias_mod);
        },
        "lowered gemm");
    check_kernel<T, L>(
        p, ops,
        [&](const ConvDims&, const T* x, const T* w, const T* b, T* y) {
          run_direct_lowered<T, L, 4>(dl, x, w, b, y, lw.bias_div, lw.bias_mod);
        },
        "lowered direct");
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(lowered, 10);
}

TEST(PhaseGemmLowering, OneByOneInputsAsGemm) {
  check_lowering<float, Engine::simt, Layout::nchw>(31);
  check_lowering<float, Engine::simt, Layout::nhwc>(32);
  check_lowering<__nv_bfloat16, Engine::tc, Layout::nchw>(33);
  check_lowering<__half, Engine::tc, Layout::nhwc>(34);
}

// ---- The plan for the built-in shapes (H100: 132 SMs) ------------------------------------------

Problem shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t s,
              int64_t pad, int64_t out_pad = 0) {
  Problem p;
  p.n = n;
  p.c_in = c_in;
  p.h_in = h;
  p.w_in = w;
  p.c_out = c_out;
  p.k_h = p.k_w = k;
  p.stride_h = p.stride_w = s;
  p.pad_h = p.pad_w = pad;
  p.out_pad_h = p.out_pad_w = out_pad;
  return p;
}

TEST(PhaseGemmPlan, BuiltInShapes) {
  struct Want {
    const char* name;
    Problem p;
    const char* algo_bf16_nhwc;  // describe() with vector loads where the shape allows them
  };
  const Want wants[] = {
      {"dcgan_l1", shape(64, 100, 1, 1, 512, 4, 1, 0), "tc_bf16 64x64x32 nhwc (1x1 input as GEMM)"},
      {"dcgan_l2", shape(64, 512, 4, 4, 256, 4, 2, 1), "tc_bf16 64x64x32 nhwc vecA vecB"},
      {"dcgan_l3", shape(64, 256, 8, 8, 128, 4, 2, 1), "tc_bf16 128x64x32 nhwc vecA vecB"},
      {"dcgan_l4", shape(64, 128, 16, 16, 64, 4, 2, 1), "tc_bf16 128x64x32 nhwc vecA vecB"},
      {"dcgan_l5", shape(64, 64, 32, 32, 3, 4, 2, 1), "direct_bf16 co4 r4 nhwc"},
      {"pix2pix", shape(1, 1024, 16, 16, 256, 4, 2, 1), "tc_bf16 64x64x32 nhwc vecA vecB splitK2"},
      {"unet", shape(1, 1024, 28, 28, 512, 2, 2, 0), "tc_bf16 128x64x32 nhwc vecA vecB"},
      {"cyclegan", shape(1, 256, 64, 64, 128, 3, 2, 1, 1), "tc_bf16 128x64x32 nhwc vecA vecB"},
      {"stylegan2", shape(4, 512, 64, 64, 256, 3, 2, 0), "tc_bf16 128x128x32 nhwc vecA vecB"},
      {"fsrcnn_x4", shape(1, 56, 270, 480, 1, 9, 4, 4, 3), "direct_bf16 co1 r4 nhwc"},
      {"fcn8s", shape(1, 21, 70, 70, 21, 16, 8, 0), "direct_bf16 co8 r4 nhwc"},
      {"fcn32s", shape(1, 21, 16, 16, 21, 64, 32, 0), "direct_bf16 co8 r4 nhwc"},
      {"maskrcnn_head", shape(1000, 2048, 7, 7, 256, 2, 2, 0), "tc_bf16 128x128x32 nhwc vecA vecB"},
  };
  for (const Want& w : wants) {
    ASSERT_EQ(w.p.validate(), "") << w.name;
    const Config cfg{DType::bf16, Layout::nhwc};
    const Lowering lw = lower_problem(w.p, cfg.layout);
    const pg::Plan plan = make_plan(lw.p, cfg, 132);
    EXPECT_EQ(describe(plan, cfg, plan.vec_a, plan.vec_b, lw.lowered), w.algo_bf16_nhwc) << w.name;
    const pg::Plan fp32 =
        make_plan(lower_problem(w.p, Layout::nchw).p, Config{DType::fp32, Layout::nchw}, 132);
    EXPECT_EQ(fp32.direct, plan.direct) << w.name;
    if (!fp32.direct) {
      EXPECT_EQ(fp32.engine, Engine::simt) << w.name;
    }
    if (!plan.direct) {
      EXPECT_EQ(plan.engine, Engine::tc) << w.name;
    }
  }
}

// Split-K only below one tile per SM and with at least kMinSplitKTiles k-tiles a split; the factor
// from the SM count, capped at kMaxSplits.
TEST(PhaseGemmPlan, SplitK) {
  const Config cfg{DType::fp16, Layout::nhwc};
  const Problem pix2pix = shape(1, 1024, 16, 16, 256, 4, 2, 1);  // 64 tiles of 64x64, 128 k-tiles
  EXPECT_EQ(make_plan(pix2pix, cfg, 132).splits, 2);
  EXPECT_EQ(make_plan(pix2pix, cfg, 64).splits, 1) << "one tile per SM already";
  EXPECT_EQ(make_plan(pix2pix, cfg, 1 << 20).splits, kMaxSplits);
  EXPECT_EQ(max_k_tiles(make_conv_dims(pix2pix), 32), 2 * 2 * 32);
  // Short K: 2x2 kernel at stride 2 has one tap per phase; 64 channels are 2 k-tiles.
  const Problem short_k = shape(1, 64, 16, 16, 64, 2, 2, 0);
  EXPECT_EQ(make_plan(short_k, cfg, 1 << 20).splits, 1);
  const pg::Plan p2 = make_plan(pix2pix, cfg, 132);
  EXPECT_EQ(splitk_workspace_floats(p2, pix2pix), 2 * pix2pix.y_elems());
  EXPECT_EQ(splitk_workspace_floats(make_plan(short_k, cfg, 132), short_k), 0);
}

// ---- The Implementation's static answers -------------------------------------------------------

TEST(PhaseGemmImplementation, SupportAndWorkRatio) {
  const auto impl = create_implementation("phase_gemm");
  Problem p;  // maskrcnn_head: k = stride, no padding: every phase reads each input exactly once
  p.n = 1000;
  p.c_in = 2048;
  p.h_in = p.w_in = 7;
  p.c_out = 256;
  p.k_h = p.k_w = 2;
  p.stride_h = p.stride_w = 2;
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
    for (Layout l : {Layout::nchw, Layout::nhwc})
      EXPECT_TRUE(impl->can_implement(p, Config{t, l}).ok) << to_string(t) << " " << to_string(l);
  EXPECT_FALSE(impl->can_implement(p, Config{DType::fp64, Layout::nchw}).ok);
  EXPECT_DOUBLE_EQ(impl->work_ratio(p), 1.0);
  Problem q;  // dcgan l2: k4 s2 p1, 4x4 -> 8x8: two taps per phase, none out of range
  q.n = 64;
  q.c_in = 512;
  q.h_in = q.w_in = 4;
  q.c_out = 256;
  q.k_h = q.k_w = 4;
  q.stride_h = q.stride_w = 2;
  q.pad_h = q.pad_w = 1;
  EXPECT_DOUBLE_EQ(impl->work_ratio(q), 1.0);
  // dcgan l1: a 1x1 input, lowered to a plain GEMM (the phase GEMM alone would do 16x the work).
  EXPECT_DOUBLE_EQ(impl->work_ratio(shape(64, 100, 1, 1, 512, 4, 1, 0)), 1.0);
}

// ---- On a GPU (skipped without one) ------------------------------------------------------------

// Host bytes of `v` in dtype t (values converted by the kernels' own from_float).
std::vector<unsigned char> encode(const std::vector<double>& v, DType t) {
  std::vector<unsigned char> out(v.size() * storage_bytes(t));
  for (size_t i = 0; i < v.size(); ++i) {
    const float f = float(v[i]);
    if (t == DType::fp16) {
      const __half h = from_float<__half>(f);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else if (t == DType::bf16) {
      const __nv_bfloat16 h = from_float<__nv_bfloat16>(f);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &f, 4);
    }
  }
  return out;
}
std::vector<double> decode(const std::vector<unsigned char>& b, DType t) {
  const size_t n = b.size() / storage_bytes(t);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (t == DType::fp16) {
      __half h;
      std::memcpy(&h, b.data() + 2 * i, 2);
      out[i] = to_float(h);
    } else if (t == DType::bf16) {
      __nv_bfloat16 h;
      std::memcpy(&h, b.data() + 2 * i, 2);
      out[i] = to_float(h);
    } else {
      float f;
      std::memcpy(&f, b.data() + 4 * i, 4);
      out[i] = f;
    }
  }
  return out;
}

DeviceBuffer upload(const std::vector<unsigned char>& b) {
  DeviceBuffer d(b.size());
  TCONV_CUDA_CHECK(cudaMemcpy(d.get(), b.data(), b.size(), cudaMemcpyHostToDevice));
  return d;
}

// Runs phase_gemm once (y poisoned with NaN first) and returns y as NCHW doubles; algo out.
std::vector<double> run_on_gpu(Context& ctx, const Problem& p, const Config& cfg,
                               const Operands& ops, std::string* algo) {
  const bool nhwc = cfg.layout == Layout::nhwc;
  const DeviceBuffer x = upload(encode(nhwc ? x_to_nhwc(p, ops.x) : ops.x, cfg.dtype));
  const DeviceBuffer w = upload(encode(nhwc ? w_to_krsc(p, ops.w) : ops.w, cfg.dtype));
  const DeviceBuffer b = upload(encode(ops.bias, cfg.dtype));
  const size_t ybytes = size_t(p.y_elems()) * storage_bytes(cfg.dtype);
  DeviceBuffer y(ybytes);
  TCONV_CUDA_CHECK(cudaMemset(y.get(), 0xff, ybytes));  // NaN in every dtype
  const Tensors t{x.get(), w.get(), p.has_bias ? b.get() : nullptr, y.get()};
  const auto impl = create_implementation("phase_gemm");
  Prepared prep;
  const auto held = prepare_on_device(ctx, *impl, p, cfg, t, &prep);
  EXPECT_TRUE(prep.status.is_ok()) << prep.status.reason;
  // Memory beyond the operands only for split-K's partials.
  EXPECT_EQ(prep.workspace_bytes > 0, impl->algo().find("splitK") != std::string::npos)
      << impl->algo();
  impl->run(ctx, p, cfg, t);
  ctx.synchronize();
  *algo = impl->algo();
  std::vector<unsigned char> out(ybytes);
  TCONV_CUDA_CHECK(cudaMemcpy(out.data(), y.get(), ybytes, cudaMemcpyDeviceToHost));
  std::vector<double> got = decode(out, cfg.dtype);
  return nhwc ? y_nhwc_to_nchw(p, got) : got;
}

const DType kGpuTypes[] = {DType::fp32, DType::tf32, DType::fp16, DType::bf16};
const Layout kGpuLayouts[] = {Layout::nchw, Layout::nhwc};

// Small integers (+-1, at most 254 products per output): exact in every dtype, so any indexing
// slip shows as an exact mismatch.
TEST(GpuPhaseGemm, RandomProblemsExact) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  Context ctx;
  Rng r(2024);
  for (int iter = 0; iter < 60; ++iter) {
    GenOpts o;
    o.max_k_taps = 254;
    if (iter % 2 == 0) {  // channel counts that take the GEMM path
      o.max_cig = 40;
      o.max_cog = 150;
      o.min_cog = 9;
      o.max_groups = 2;
      o.max_hw = 12;
      o.max_n = 3;
      o.depthwise_sometimes = false;
    }
    if (iter % 6 == 0) {  // nhwc vector loads
      o.cig_mult = o.cog_mult = 8;
      o.max_cig = 5;
      o.max_cog = 19;
    }
    const Problem p = random_problem(r, o);
    const Operands ops = make_operands(p, [&] { return double(small_int(r, 1)); });
    const std::vector<double> want = reference(p, ops);
    for (DType t : kGpuTypes)
      for (Layout l : kGpuLayouts) {
        std::string algo;
        const std::vector<double> got = run_on_gpu(ctx, p, Config{t, l}, ops, &algo);
        for (size_t e = 0; e < want.size(); ++e)
          ASSERT_EQ(got[e], want[e]) << to_string(t) << " " << to_string(l) << " " << algo << " "
                                     << p.to_string() << " element " << e;
      }
  }
}

// The built-in shapes, batch cut to keep the CPU reference quick; random reals, tolerance scaled by
// sum |x*w| per output (the rounding budget of the dtype's inputs and fp32 accumulation).
TEST(GpuPhaseGemm, BuiltInShapesWithinTolerance) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  Context ctx;
  Rng r(77);
  const Problem shapes[] = {
      shape(2, 100, 1, 1, 512, 4, 1, 0),    shape(2, 512, 4, 4, 256, 4, 2, 1),
      shape(2, 256, 8, 8, 128, 4, 2, 1),    shape(2, 128, 16, 16, 64, 4, 2, 1),
      shape(2, 64, 32, 32, 3, 4, 2, 1),     shape(1, 1024, 16, 16, 256, 4, 2, 1),
      shape(1, 1024, 28, 28, 512, 2, 2, 0), shape(1, 256, 64, 64, 128, 3, 2, 1, 1),
      shape(1, 512, 64, 64, 256, 3, 2, 0),  shape(1, 56, 270, 480, 1, 9, 4, 4, 3),
      shape(1, 21, 70, 70, 21, 16, 8, 0),   shape(1, 21, 16, 16, 21, 64, 32, 0),
      shape(2, 2048, 7, 7, 256, 2, 2, 0),
  };
  for (Problem p : shapes) {
    p.has_bias = true;
    const Operands ops = make_operands(p, [&] { return r.nonzero(); });
    const std::vector<double> want = reference(p, ops);
    Operands mag = ops;
    for (double& v : mag.x) v = std::fabs(v);
    for (double& v : mag.w) v = std::fabs(v);
    for (double& v : mag.bias) v = std::fabs(v);
    const std::vector<double> scale = reference(p, mag);
    for (DType t : kGpuTypes)
      for (Layout l : kGpuLayouts) {
        // Inputs are rounded to the dtype by the test itself, so the error is the kernel's
        // (tf32 operand rounding, fp32 accumulation, output rounding) plus the input rounding.
        const double tol = t == DType::fp32 ? 5e-5 : t == DType::bf16 ? 2e-2 : 4e-3;
        std::string algo;
        const std::vector<double> got = run_on_gpu(ctx, p, Config{t, l}, ops, &algo);
        for (size_t e = 0; e < want.size(); ++e)
          ASSERT_NEAR(got[e], want[e], tol * scale[e] + 1e-6)
              << to_string(t) << " " << to_string(l) << " " << algo << " " << p.to_string()
              << " element " << e;
      }
  }
}

}  // namespace
}  // namespace tconv
