// The plain CUDA implementations' per-thread code (kernels/*_math.hpp), run on the CPU in double
// with the very __host__ __device__ functions the kernels call, against the fp64 references on
// random small problems (groups, dilation, output_padding, asymmetric h/w, stride > k, k not
// divisible by the stride, bias), in both layouts where the kernel supports both. The cuBLAS and
// cuSPARSE calls are replayed with a column-major CPU GEMM / a CSR SpMM using exactly the
// parameters the kernels pass. GpuKernelsPlain* exercise what the generic all-implementations GPU
// test does not: the chunked paths and the memory-budget skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/harness.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/gather_math.hpp"
#include "kernels/direct/scatter_math.hpp"
#include "kernels/explicit/explicit_gemm_math.hpp"
#include "kernels/explicit/explicit_spmm_math.hpp"
#include "kernels/gemm_col2im/gemm_col2im_math.hpp"
#include "kernels/zero_insert/zero_insert_direct_math.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

constexpr int kTrials = 200;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A random problem with its operands (NCHW, PyTorch weight layout) and ref::direct's output.
struct Case {
  Problem p;
  std::vector<double> x, w, b, y;
};

Case make_case(std::mt19937_64& rng, int max_spatial = 6) {
  Case c;
  c.p = testing::random_problem(rng, max_spatial);
  c.x = testing::random_data(rng, c.p.x_elems());
  c.w = testing::random_data(rng, c.p.w_elems());
  c.b = testing::random_data(rng, c.p.c_out);
  c.y.resize(size_t(c.p.y_elems()));
  ref::direct(c.p, c.x.data(), c.w.data(), c.b.data(), c.y.data());
  return c;
}

// (A,B,C,D) -> (A,C,D,B): x and y NCHW -> NHWC, and w (C_in,C_out/g,k_h,k_w) ->
// (C_in,k_h,k_w,C_out/g).
std::vector<double> to_last(const std::vector<double>& v, int64_t a, int64_t b, int64_t c,
                            int64_t d) {
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k)
        for (int64_t l = 0; l < d; ++l)
          out[size_t(((i * c + k) * d + l) * b + j)] = v[size_t(((i * b + j) * c + k) * d + l)];
  return out;
}

// The operands in the requested layout (x, w, expected y).
struct Operands {
  std::vector<double> x, w, y;
};
Operands in_layout(const Case& c, bool nhwc) {
  if (!nhwc) return {c.x, c.w, c.y};
  const Problem& p = c.p;
  return {to_last(c.x, p.n, p.c_in, p.h_in, p.w_in),
          to_last(c.w, p.c_in, p.c_out_per_group(), p.k_h, p.k_w),
          to_last(c.y, p.n, p.c_out, p.h_out(), p.w_out())};
}

// Every element equal within a relative tolerance; NaN (an output never written) fails.
void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(std::fabs(got[i] - want[i]) <= 1e-11 * (1.0 + std::fabs(want[i])))
        << what << "\n element " << i << ": got " << got[i] << ", want " << want[i];
}

// Column-major GEMM, C = op(A) * op(B) (beta = 0 unless accumulate), as cuBLAS defines it; every
// index is bounds-checked against the array sizes so a wrong ld or offset cannot pass silently.
void gemm_colmajor(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a,
                   size_t a_size, int64_t lda, const double* b, size_t b_size, int64_t ldb,
                   double* c, size_t c_size, int64_t ldc, bool accumulate) {
  ASSERT_GE(lda, ta ? k : m);
  ASSERT_GE(ldb, tb ? n : k);
  ASSERT_GE(ldc, m);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t l = 0; l < k; ++l) {
        const int64_t ia = ta ? l + i * lda : i + l * lda;
        const int64_t ib = tb ? j + l * ldb : l + j * ldb;
        ASSERT_LT(size_t(ia), a_size);
        ASSERT_LT(size_t(ib), b_size);
        s += a[ia] * b[ib];
      }
      const int64_t ic = i + j * ldc;
      ASSERT_LT(size_t(ic), c_size);
      c[ic] = accumulate ? c[ic] + s : s;
    }
}

// ---- Shared layout helpers -------------------------------------------------------------------

TEST(KernelsMath, OffsetsMatchLayouts) {
  // nchw is C order over (n, c, h, w); nhwc over (n, h, w, c).
  const int64_t N = 2, C = 3, H = 4, W = 5;
  int64_t e = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          ASSERT_EQ(kmath::act_offset(false, n, c, h, w, C, H, W), e++);
  e = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          ASSERT_EQ(kmath::act_offset(true, n, c, h, w, C, H, W), e++);
  e = 0;
  for (int64_t ci = 0; ci < 2; ++ci)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t ky = 0; ky < 2; ++ky)
        for (int64_t kx = 0; kx < 4; ++kx) {
          ASSERT_EQ(kmath::weight_offset(false, ci, j, ky, kx, 3, 2, 4), e++);
          ASSERT_EQ(kmath::weight_offset(false, ci, j, ky, kx, 3, 2, 4) +
                        kmath::weight_channel_stride(false, 2, 4),
                    kmath::weight_offset(false, ci, j + 1, ky, kx, 3, 2, 4));
          ASSERT_EQ(kmath::weight_offset(true, ci, j, ky, kx, 3, 2, 4),
                    ((ci * 2 + ky) * 4 + kx) * 3 + j);
        }
}

TEST(KernelsMath, LandingPairsMatchBruteForce) {
  std::mt19937_64 rng(101);
  for (int t = 0; t < kTrials; ++t) {
    const Problem p = testing::random_problem(rng, 9);
    for (const idx::Dim& d : {idx::dim_h(p), idx::dim_w(p)}) {
      int64_t brute = 0;
      for (int i = 0; i < d.in; ++i)
        for (int k = 0; k < d.k; ++k) brute += idx::output_of_tap(i, k, d) >= 0;
      ASSERT_EQ(kmath::landing_pairs(d), brute) << p.to_string();
    }
    // The landing fraction of the useful FLOPs is what a landing-only kernel executes: 2 flops
    // per nonzero of C per batch item.
    std::vector<int64_t> sy, sx;
    kmath::csr_tap_prefix(p, sy, sx);
    ASSERT_NEAR(kmath::landing_fraction(p) * p.flops(),
                2.0 * double(p.n) * double(kmath::csr_nnz(p, sy.data(), sx.data())),
                1e-9 * p.flops());
  }
}

// ---- gather -----------------------------------------------------------------------------------

template <int CoT>
void check_gather(const Case& c, bool nhwc) {
  const Problem& p = c.p;
  const Operands o = in_layout(c, nhwc);
  std::vector<double> y(o.y.size(), kNaN);
  std::vector<int> writes(o.y.size(), 0);
  const int cog = int(p.c_out_per_group());
  const int64_t items = kmath::gather_item_count(p, CoT);
  for (int64_t i = 0; i < items; ++i) {
    const kmath::GatherItem it = kmath::gather_item(p, nhwc, CoT, i);
    kmath::gather_tile<CoT, double>(p, nhwc, o.x.data(), o.w.data(), c.b.data(), y.data(), it);
    for (int ch = 0; ch < CoT && it.j0 + ch < cog; ++ch)
      ++writes[size_t(kmath::act_offset(nhwc, it.n, it.g * cog + it.j0 + ch, it.oy, it.ox, p.c_out,
                                        p.h_out(), p.w_out()))];
  }
  for (size_t e = 0; e < writes.size(); ++e)
    ASSERT_EQ(writes[e], 1) << "y element " << e << " written " << writes[e] << " times, "
                            << p.to_string();
  expect_close(y, o.y,
               std::string("gather CoT=") + std::to_string(CoT) + (nhwc ? " nhwc " : " nchw ") +
                   p.to_string());
}

TEST(KernelsMathGather, TilesMatchDirectInBothLayouts) {
  std::mt19937_64 rng(102);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng);
    for (bool nhwc : {false, true}) {
      check_gather<1>(c, nhwc);
      check_gather<2>(c, nhwc);
      check_gather<4>(c, nhwc);
      check_gather<8>(c, nhwc);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(KernelsMathGather, ChannelTilePick) {
  Problem p;
  for (int64_t cog : {1, 2, 3, 4, 5, 7, 8, 9, 64}) {
    p.c_out = 2 * cog, p.groups = 2, p.c_in = 2;
    const int t = kmath::pick_co_tile(p);
    EXPECT_LE(t, cog);
    EXPECT_EQ(t, cog >= 8 ? 8 : cog >= 4 ? 4 : cog >= 2 ? 2 : 1);
  }
}

// ---- scatter ----------------------------------------------------------------------------------

TEST(KernelsMathScatter, ContributionsMatchDirectInBothLayouts) {
  std::mt19937_64 rng(103);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng);
    const Problem& p = c.p;
    for (bool nhwc : {false, true}) {
      const Operands o = in_layout(c, nhwc);
      // What run() does first: y = broadcast bias (or zero).
      std::vector<double> y(o.y.size());
      for (int64_t e = 0; e < p.y_elems(); ++e)
        y[size_t(e)] = p.has_bias ? c.b[size_t(kmath::y_channel(p, nhwc, e))] : 0.0;
      const int64_t items = kmath::scatter_item_count(p);
      std::vector<int> seen(size_t(items), 0);
      for (int64_t i = 0; i < items; ++i) {
        const kmath::ScatterItem it = kmath::scatter_item(p, nhwc, i);
        // The item decomposition is a bijection onto (n, co, iy, ix).
        ++seen[size_t(((int64_t(it.n) * p.c_out + it.co) * p.h_in + it.iy) * p.w_in + it.ix)];
        kmath::scatter_contributions<double>(p, nhwc, o.x.data(), o.w.data(), it,
                                             [&](int64_t off, double v) {
                                               ASSERT_GE(off, 0);
                                               ASSERT_LT(off, p.y_elems());
                                               y[size_t(off)] += v;
                                             });
      }
      for (int s : seen) ASSERT_EQ(s, 1) << p.to_string();
      expect_close(y, o.y, std::string("scatter") + (nhwc ? " nhwc " : " nchw ") + p.to_string());
      if (HasFatalFailure()) return;
    }
  }
}

// ---- zero_insert_direct -----------------------------------------------------------------------

// z built the way reference/ref_zero_insert.cpp builds it, independently of idx::zero_insert_*.
std::vector<double> z_by_definition(const Problem& p, const std::vector<double>& x) {
  const int64_t hz = p.h_out() + p.dil_h * (p.k_h - 1), wz = p.w_out() + p.dil_w * (p.k_w - 1);
  const int64_t top = p.dil_h * (p.k_h - 1) - p.pad_h, left = p.dil_w * (p.k_w - 1) - p.pad_w;
  std::vector<double> z(size_t(p.n * p.c_in * hz * wz), 0.0);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t ci = 0; ci < p.c_in; ++ci)
      for (int64_t iy = 0; iy < p.h_in; ++iy)
        for (int64_t ix = 0; ix < p.w_in; ++ix) {
          const int64_t zy = top + iy * p.stride_h, zx = left + ix * p.stride_w;
          if (zy < 0 || zy >= hz || zx < 0 || zx >= wz) continue;
          z[size_t(((n * p.c_in + ci) * hz + zy) * wz + zx)] =
              x[size_t(((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix)];
        }
  return z;
}

// The conv kernel's block, on the CPU: the weight chunk staged slot by slot, then every thread
// of the tile accumulating the chunk, then the bias and the store.
template <int CoT>
void zi_conv_cpu(const Problem& p, const kmath::ZiGeom& g, const std::vector<double>& z,
                 const std::vector<double>& w, const double* bias, std::vector<double>& y,
                 int64_t n0, int64_t items, int chunk, int tile_w, int tile_h) {
  const int64_t blocks = kmath::zi_block_count(g, int(p.groups), items, CoT, tile_w, tile_h);
  const int64_t entries = kmath::zi_entry_count(g);
  std::vector<double> ws(size_t(chunk) * CoT);
  for (int64_t b = 0; b < blocks; ++b) {
    const kmath::ZiBlock blk = kmath::zi_block(g, int(p.groups), CoT, tile_w, tile_h, b);
    std::vector<double> acc(size_t(tile_w) * tile_h * CoT, 0.0);
    for (int64_t e0 = 0; e0 < entries; e0 += chunk) {
      const int ne = int(std::min<int64_t>(chunk, entries - e0));
      for (int s = 0; s < ne * CoT; ++s) {
        ws[size_t(s)] = kmath::zi_weight_slot<CoT, double>(g, w.data(), blk.grp, blk.j0, e0, s);
        // Channels past the group's end are zero slots, not reads past the weight tensor.
        if (blk.j0 + s % CoT >= g.cog) {
          ASSERT_EQ(ws[size_t(s)], 0.0);
        }
      }
      for (int ty = 0; ty < tile_h; ++ty)
        for (int tx = 0; tx < tile_w; ++tx) {
          const int oy = blk.ty * tile_h + ty, ox = blk.tx * tile_w + tx;
          if (oy >= g.ho || ox >= g.wo) continue;
          kmath::zi_accumulate<CoT, double>(g, z.data(), ws.data(), blk.nl, blk.grp, e0, ne, oy, ox,
                                            &acc[size_t((ty * tile_w + tx) * CoT)]);
        }
    }
    for (int ty = 0; ty < tile_h; ++ty)
      for (int tx = 0; tx < tile_w; ++tx) {
        const int oy = blk.ty * tile_h + ty, ox = blk.tx * tile_w + tx;
        if (oy >= g.ho || ox >= g.wo) continue;
        for (int c = 0; c < CoT; ++c) {
          const int j = blk.j0 + c;
          if (j >= g.cog) continue;
          const int co = blk.grp * g.cog + j;
          const size_t off =
              size_t(kmath::act_offset(false, n0 + blk.nl, co, oy, ox, p.c_out, g.ho, g.wo));
          ASSERT_TRUE(std::isnan(y[off])) << "y written twice at " << off;
          y[off] = acc[size_t((ty * tile_w + tx) * CoT + c)] + (bias ? bias[co] : 0.0);
        }
      }
  }
}

TEST(KernelsMathZeroInsert, FillMatchesDefinition) {
  std::mt19937_64 rng(104);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng);
    const Problem& p = c.p;
    const kmath::ZiGeom g = kmath::zi_geom(p);
    const std::vector<double> want = z_by_definition(p, c.x);
    ASSERT_EQ(int64_t(want.size()), p.n * kmath::zi_item_elems(g));
    // Chunks of one item (n0 > 0) and of the whole batch.
    for (int64_t chunk : {int64_t(1), p.n}) {
      for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
        const int64_t items = std::min(chunk, p.n - n0);
        for (int64_t e = 0; e < items * kmath::zi_item_elems(g); ++e) {
          const int64_t src = kmath::zi_fill_source(p, g, n0, e);
          const double v = src < 0 ? 0.0 : c.x[size_t(src)];
          ASSERT_EQ(v, want[size_t(n0 * kmath::zi_item_elems(g) + e)])
              << "z element " << e << " of chunk at " << n0 << ", " << p.to_string();
        }
      }
    }
  }
}

TEST(KernelsMathZeroInsert, ConvMatchesDirect) {
  std::mt19937_64 rng(105);
  std::uniform_int_distribution<int> pick_chunk(1, 9);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng);
    const Problem& p = c.p;
    const kmath::ZiGeom g = kmath::zi_geom(p);
    const std::vector<double> z = z_by_definition(p, c.x);
    const double* bias = p.has_bias ? c.b.data() : nullptr;
    // Small chunks cross channel boundaries mid-chunk; 256 is the kernel's; odd tiles leave
    // partial tiles at the borders.
    const int chunk = t % 3 == 0 ? 256 : pick_chunk(rng);
    const int tile_w = t % 2 ? 32 : 3, tile_h = t % 2 ? 8 : 2;
    auto run = [&](auto co_tile_tag) {
      constexpr int CoT = decltype(co_tile_tag)::value;
      std::vector<double> y(c.y.size(), kNaN);
      // Whole batch in one go (z of the whole batch, n0 = 0) ...
      zi_conv_cpu<CoT>(p, g, z, c.w, bias, y, 0, p.n, chunk, tile_w, tile_h);
      expect_close(y, c.y, "zero_insert conv CoT=" + std::to_string(CoT) + " " + p.to_string());
      // ... and one item at a time, as run() does when the buffer holds a chunk.
      std::fill(y.begin(), y.end(), kNaN);
      for (int64_t n0 = 0; n0 < p.n; ++n0) {
        const std::vector<double> zi(z.begin() + n0 * kmath::zi_item_elems(g),
                                     z.begin() + (n0 + 1) * kmath::zi_item_elems(g));
        zi_conv_cpu<CoT>(p, g, zi, c.w, bias, y, n0, 1, chunk, tile_w, tile_h);
      }
      expect_close(y, c.y,
                   "zero_insert conv chunked CoT=" + std::to_string(CoT) + " " + p.to_string());
    };
    run(std::integral_constant<int, 1>{});
    run(std::integral_constant<int, 2>{});
    run(std::integral_constant<int, 4>{});
    run(std::integral_constant<int, 8>{});
    if (HasFatalFailure()) return;
  }
}

TEST(KernelsMathZeroInsert, WorkRatioIsMultipliesOverUseful) {
  std::mt19937_64 rng(106);
  for (int t = 0; t < kTrials; ++t) {
    const Problem p = testing::random_problem(rng, 9);
    const double executed = 2.0 * double(p.n * p.c_out * p.h_out() * p.w_out()) *
                            double(p.c_in_per_group() * p.k_h * p.k_w);
    ASSERT_NEAR(kmath::zi_work_ratio(p), executed / p.flops(), 1e-12 * executed / p.flops());
  }
}

// ---- gemm_col2im ------------------------------------------------------------------------------

TEST(KernelsMathCol2im, GemmPlanAndGatherMatchDirect) {
  std::mt19937_64 rng(107);
  int both_branches[2] = {0, 0};
  for (int t = 0; t < kTrials; ++t) {
    Case c = make_case(rng);
    if (t % 4 == 0) {  // n = 3 or 4 too, so chunks of 2 leave a tail
      c.p.n = 3 + t % 8 / 4;
      c.x = testing::random_data(rng, c.p.x_elems());
      c.y.resize(size_t(c.p.y_elems()));
      ref::direct(c.p, c.x.data(), c.w.data(), c.b.data(), c.y.data());
    }
    const Problem& p = c.p;
    const int64_t item_elems = kmath::col_item_elems(p);
    for (int64_t chunk : {int64_t(1), int64_t(2), p.n}) {
      std::vector<double> y(c.y.size(), kNaN);
      for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
        const int64_t items = std::min(chunk, p.n - n0);
        const kmath::Col2imGemm plan = kmath::col2im_gemm_plan(p, int(items));
        ++both_branches[items >= p.groups ? 0 : 1];
        std::vector<double> col(size_t(items * item_elems), kNaN);
        std::vector<int> writes(col.size(), 0);
        const double* xc = c.x.data() + n0 * p.c_in * p.h_in * p.w_in;
        const size_t x_left = c.x.size() - size_t(n0 * p.c_in * p.h_in * p.w_in);
        for (const kmath::GemmCall& call : plan.calls)
          for (int bi = 0; bi < call.batch; ++bi) {
            const int64_t a = call.a_off + bi * call.stride_a, b = call.b_off + bi * call.stride_b,
                          cc = call.c_off + bi * call.stride_c;
            ASSERT_GE(a, 0);
            ASSERT_GE(b, 0);
            ASSERT_GE(cc, 0);
            gemm_colmajor(false, true, plan.m, plan.n, plan.k, xc + a, x_left - size_t(a), plan.lda,
                          c.w.data() + b, c.w.size() - size_t(b), plan.ldb, col.data() + cc,
                          col.size() - size_t(cc), plan.ldc, false);
            for (int64_t q = 0; q < int64_t(plan.n) * plan.ldc; ++q) ++writes[size_t(cc + q)];
          }
        for (int wcount : writes)
          ASSERT_EQ(wcount, 1) << "column buffer coverage, " << p.to_string();
        // col2im over the chunk, with the bias, as col2im_kernel does.
        for (int64_t nl = 0; nl < items; ++nl)
          for (int co = 0; co < p.c_out; ++co)
            for (int oy = 0; oy < p.h_out(); ++oy)
              for (int ox = 0; ox < p.w_out(); ++ox) {
                double v = kmath::col2im_element<double>(p, col.data(), nl, co, oy, ox);
                if (p.has_bias) v += c.b[size_t(co)];
                y[size_t(kmath::act_offset(false, n0 + nl, co, oy, ox, p.c_out, p.h_out(),
                                           p.w_out()))] = v;
              }
      }
      expect_close(y, c.y, "gemm_col2im chunk " + std::to_string(chunk) + " " + p.to_string());
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(both_branches[0], 0);
  EXPECT_GT(both_branches[1], 0);
}

TEST(KernelsMathCol2im, ChunkItemsFollowCapAndBudget) {
  Problem p;
  p.n = 10, p.c_in = 4, p.c_out = 6, p.h_in = 5, p.w_in = 7, p.k_h = 3, p.k_w = 2;
  const double per_item = double(kmath::col_item_elems(p)) * 4.0;
  ASSERT_EQ(kmath::col_item_elems(p), 6 * 3 * 2 * 5 * 7);
  EXPECT_EQ(kmath::col2im_chunk_items(p, 4, 1e12, 1e12), 10);           // all fit
  EXPECT_EQ(kmath::col2im_chunk_items(p, 4, 3.5 * per_item, 1e12), 3);  // cap
  EXPECT_EQ(kmath::col2im_chunk_items(p, 4, 1e12, 2.5 * per_item), 2);  // budget
  EXPECT_EQ(kmath::col2im_chunk_items(p, 4, 0.5 * per_item, 1e12), 1);  // at least one
  EXPECT_EQ(kmath::col2im_chunk_items(p, 4, 1e12, 0.9 * per_item), 0);  // none fits
}

// ---- explicit_gemm ----------------------------------------------------------------------------

// C from ref::build_c (nchw rows/columns), re-indexed to the layout's flattening, as C^T (K x R).
std::vector<double> ct_reference(const Problem& p, const std::vector<double>& w_nchw, bool nhwc) {
  const std::vector<double> cm = ref::build_c(p, w_nchw.data());
  const int64_t R = kmath::c_rows(p), K = kmath::c_cols(p), ho = p.h_out(), wo = p.w_out();
  std::vector<double> ct(size_t(K * R));
  for (int64_t co = 0; co < p.c_out; ++co)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox)
        for (int64_t ci = 0; ci < p.c_in; ++ci)
          for (int64_t iy = 0; iy < p.h_in; ++iy)
            for (int64_t ix = 0; ix < p.w_in; ++ix) {
              const int64_t r0 = (co * ho + oy) * wo + ox, k0 = (ci * p.h_in + iy) * p.w_in + ix;
              const int64_t r = kmath::act_offset(nhwc, 0, co, oy, ox, p.c_out, ho, wo);
              const int64_t k = kmath::act_offset(nhwc, 0, ci, iy, ix, p.c_in, p.h_in, p.w_in);
              ct[size_t(k * R + r)] = cm[size_t(r0 * K + k0)];
            }
  return ct;
}

TEST(KernelsMathExplicitGemm, DenseCtAndGemmMatchReference) {
  std::mt19937_64 rng(108);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng, 5);
    const Problem& p = c.p;
    const int64_t R = kmath::c_rows(p), K = kmath::c_cols(p);
    for (bool nhwc : {false, true}) {
      const Operands o = in_layout(c, nhwc);
      // build_ct_kernel after the memset.
      std::vector<double> ct(size_t(K * R), 0.0);
      std::vector<int> writes(ct.size(), 0);
      for (int64_t e = 0; e < kmath::ct_candidate_count(p); ++e) {
        const kmath::CtEntry en = kmath::ct_entry(p, nhwc, e);
        if (en.r < 0) continue;
        ASSERT_LT(en.k, K);
        ASSERT_LT(en.r, R);
        ct[size_t(en.k * R + en.r)] = o.w[size_t(en.w_off)];
        ++writes[size_t(en.k * R + en.r)];
      }
      for (int wcount : writes) ASSERT_LE(wcount, 1) << p.to_string();
      ASSERT_EQ(ct, ct_reference(p, c.w, nhwc)) << (nhwc ? "nhwc " : "nchw ") << p.to_string();
      // run(): y = bias (beta = 1) or beta = 0, then the one GEMM.
      std::vector<double> y(o.y.size(), kNaN);
      if (p.has_bias)
        for (int64_t e = 0; e < p.y_elems(); ++e)
          y[size_t(e)] = c.b[size_t(kmath::y_channel(p, nhwc, e))];
      const kmath::DenseGemm g = kmath::explicit_gemm_plan(p);
      gemm_colmajor(false, false, g.m, g.n, g.k, ct.data(), ct.size(), g.lda, o.x.data(),
                    o.x.size(), g.ldb, y.data(), y.size(), g.ldc, p.has_bias);
      expect_close(y, o.y,
                   std::string("explicit_gemm") + (nhwc ? " nhwc " : " nchw ") + p.to_string());
      if (HasFatalFailure()) return;
    }
    EXPECT_DOUBLE_EQ(kmath::explicit_c_bytes(p, 4), 4.0 * double(R) * double(K));
    // 2*N*K*R executed over the useful flops.
    EXPECT_NEAR(kmath::explicit_work_ratio(p),
                2.0 * double(p.n) * double(K) * double(R) / p.flops(),
                1e-9 * kmath::explicit_work_ratio(p));
  }
}

TEST(KernelsMathExplicitGemm, BytesDoNotOverflow) {
  Problem p;  // K = R = 2^32, so K*R*4 = 2^66: past int64, exact in double
  p.c_in = p.c_out = 1 << 12, p.h_in = p.w_in = 1 << 10;
  EXPECT_EQ(kmath::explicit_c_bytes(p, 4), std::ldexp(1.0, 66));
}

// ---- explicit_spmm ----------------------------------------------------------------------------

TEST(KernelsMathExplicitSpmm, CsrMatchesBuildCAndSpmmMatchesDirect) {
  std::mt19937_64 rng(109);
  for (int t = 0; t < kTrials; ++t) {
    const Case c = make_case(rng, 5);
    const Problem& p = c.p;
    const int64_t R = kmath::c_rows(p), K = kmath::c_cols(p);
    std::vector<int64_t> sy, sx;
    kmath::csr_tap_prefix(p, sy, sx);
    const int64_t nnz = kmath::csr_nnz(p, sy.data(), sx.data());
    for (bool nhwc : {false, true}) {
      const Operands o = in_layout(c, nhwc);
      std::vector<int64_t> row_ptr(size_t(R + 1), -1), col(size_t(nnz), -1);
      std::vector<double> val(size_t(nnz), kNaN);
      // csr_fill_kernel: one item per (row, input channel of the group).
      const int cig = int(p.c_in_per_group());
      for (int64_t e = 0; e < R * cig; ++e)
        kmath::csr_fill<int64_t, double, double>(p, nhwc, e / cig, int(e % cig), sy.data(),
                                                 sx.data(), o.w.data(), row_ptr.data(), col.data(),
                                                 val.data());
      ASSERT_EQ(row_ptr[0], 0);
      ASSERT_EQ(row_ptr[size_t(R)], nnz);
      for (int64_t r = 0; r < R; ++r) {
        ASSERT_LE(row_ptr[size_t(r)], row_ptr[size_t(r) + 1]);
        for (int64_t q = row_ptr[size_t(r)]; q < row_ptr[size_t(r) + 1]; ++q) {
          ASSERT_GE(col[size_t(q)], 0) << "slot " << q << " never written, " << p.to_string();
          ASSERT_LT(col[size_t(q)], K);
          if (q > row_ptr[size_t(r)]) {
            ASSERT_LT(col[size_t(q) - 1], col[size_t(q)]) << "row " << r;
          }
        }
      }
      // Densified, it is C^T's transpose, entry for entry (zeros where nothing lands).
      std::vector<double> ct(size_t(K * R), 0.0);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t q = row_ptr[size_t(r)]; q < row_ptr[size_t(r) + 1]; ++q)
          ct[size_t(col[size_t(q)] * R + r)] = val[size_t(q)];
      ASSERT_EQ(ct, ct_reference(p, c.w, nhwc)) << (nhwc ? "nhwc " : "nchw ") << p.to_string();
      // SpMM on the column-major views: Y^T[r, n] (y[n*R + r]) = sum C[r, k] * X^T[k, n].
      std::vector<double> y(o.y.size());
      for (int64_t e = 0; e < p.y_elems(); ++e)
        y[size_t(e)] = p.has_bias ? c.b[size_t(kmath::y_channel(p, nhwc, e))] : 0.0;
      for (int64_t n = 0; n < p.n; ++n)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t q = row_ptr[size_t(r)]; q < row_ptr[size_t(r) + 1]; ++q)
            y[size_t(n * R + r)] += val[size_t(q)] * o.x[size_t(n * K + col[size_t(q)])];
      expect_close(y, o.y,
                   std::string("explicit_spmm") + (nhwc ? " nhwc " : " nchw ") + p.to_string());
      if (HasFatalFailure()) return;
    }
  }
}

TEST(KernelsMathExplicitSpmm, NoLandingTapMeansNoNonzeros) {
  Problem p;  // the only input lands at -1: output row 0 receives nothing
  p.h_in = p.w_in = 1, p.stride_h = p.stride_w = 3, p.pad_h = p.pad_w = 1;
  p.out_pad_h = p.out_pad_w = 2;
  ASSERT_EQ(p.validate(), "");
  std::vector<int64_t> sy, sx;
  kmath::csr_tap_prefix(p, sy, sx);
  EXPECT_EQ(kmath::csr_nnz(p, sy.data(), sx.data()), 0);
  EXPECT_EQ(kmath::landing_fraction(p), 0.0);
}

// ---- GPU: chunked paths and budget skips ------------------------------------------------------

bool skip_without_gpu() {
  return !gpu_available();
}

// fp32 nchw operands on the device, the implementation through the harness's lifecycle and run
// once, y back in double; a status that is not ok comes back in *status with y empty.
std::vector<double> run_fp32_nchw(Context& ctx, Implementation& impl, const Case& c,
                                  Status* status = nullptr) {
  const Problem& p = c.p;
  auto upload = [](const std::vector<double>& v) {
    std::vector<float> f(v.begin(), v.end());
    DeviceBuffer d(std::max<size_t>(f.size(), 1) * sizeof(float));
    TCONV_CUDA_CHECK(
        cudaMemcpy(d.get(), f.data(), f.size() * sizeof(float), cudaMemcpyHostToDevice));
    return d;
  };
  DeviceBuffer x = upload(c.x), w = upload(c.w), b = upload(c.b);
  DeviceBuffer y(size_t(p.y_elems()) * sizeof(float));
  TCONV_CUDA_CHECK(cudaMemset(y.get(), 0xFF, y.bytes()));  // NaN poison, as the harness does
  Tensors t{x.get(), w.get(), p.has_bias ? b.get() : nullptr, y.get()};
  Config cfg;
  Prepared prep;
  const auto held = prepare_on_device(ctx, impl, p, cfg, t, &prep);
  if (status) *status = prep.status;
  if (!prep.status.is_ok()) {
    EXPECT_TRUE(status) << impl.name() << ": " << prep.status.reason;
    return {};
  }
  impl.run(ctx, p, cfg, t);
  ctx.synchronize();
  std::vector<float> out(size_t(p.y_elems()));
  TCONV_CUDA_CHECK(cudaMemcpy(out.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  return std::vector<double>(out.begin(), out.end());
}

void expect_close_fp32(const std::vector<double>& got, const std::vector<double>& want,
                       const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(std::fabs(got[i] - want[i]) <= 1e-4 * (1.0 + std::fabs(want[i])))
        << what << ": element " << i << " got " << got[i] << " want " << want[i];
}

Case fixed_case(int64_t n) {
  std::mt19937_64 rng(110);
  Case c;
  Problem& p = c.p;
  p.n = n, p.c_in = 6, p.c_out = 4, p.groups = 2, p.h_in = 7, p.w_in = 5, p.k_h = 3, p.k_w = 4;
  p.stride_h = 2, p.stride_w = 3, p.pad_h = 1, p.pad_w = 2, p.out_pad_h = 1, p.out_pad_w = 0;
  p.dil_h = 2, p.dil_w = 1, p.has_bias = true;
  c.x = testing::random_data(rng, p.x_elems());
  c.w = testing::random_data(rng, p.w_elems());
  c.b = testing::random_data(rng, p.c_out);
  c.y.resize(size_t(p.y_elems()));
  ref::direct(p, c.x.data(), c.w.data(), c.b.data(), c.y.data());
  return c;
}

TEST(GpuKernelsPlain, ChunkedBuffersMatchReference) {
  if (skip_without_gpu()) GTEST_SKIP() << "no CUDA device: chunked-buffer test needs a GPU";
  Context ctx;
  const Case c = fixed_case(5);
  const Problem& p = c.p;
  // A budget of 1.5 items' column buffers forces chunks of one batch item.
  ctx.set_memory_budget(size_t(1.5 * double(kmath::col_item_elems(p)) * 4.0));
  auto col2im = create_implementation("gemm_col2im");
  expect_close_fp32(run_fp32_nchw(ctx, *col2im, c), c.y, "gemm_col2im, 1 item per chunk");
  // 2.5 items: chunks of 2, 2 and a tail of 1.
  ctx.set_memory_budget(size_t(2.5 * double(kmath::col_item_elems(p)) * 4.0));
  expect_close_fp32(run_fp32_nchw(ctx, *col2im, c), c.y, "gemm_col2im, 2 items per chunk");
  auto zi = create_implementation("zero_insert_direct");
  ctx.set_memory_budget(size_t(2.5 * double(kmath::zi_item_elems(kmath::zi_geom(p))) * 4.0));
  expect_close_fp32(run_fp32_nchw(ctx, *zi, c), c.y, "zero_insert_direct, 2 items per chunk");
}

TEST(GpuKernelsPlain, OverBudgetIsSkipped) {
  if (skip_without_gpu()) GTEST_SKIP() << "no CUDA device: budget-skip test needs a GPU";
  Context ctx;
  ctx.set_memory_budget(64);
  const Case c = fixed_case(2);
  for (const char* name : {"explicit_gemm", "explicit_spmm", "gemm_col2im", "zero_insert_direct"}) {
    auto impl = create_implementation(name);
    Status st;
    EXPECT_TRUE(run_fp32_nchw(ctx, *impl, c, &st).empty()) << name;
    EXPECT_EQ(st.code, StatusCode::skipped) << name << ": " << st.reason;
    EXPECT_NE(st.reason.find("over the memory budget"), std::string::npos) << st.reason;
  }
}

}  // namespace
}  // namespace tconv
