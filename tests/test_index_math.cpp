// The kernels' index arithmetic (kernels/common/index_math.hpp, kernels/direct/gather_element.hpp) checked on
// the CPU: against brute force over the defining relation o = i*stride - pad + k*dil, and
// against the fp64 references.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "kernels/direct/gather_element.hpp"
#include "kernels/common/index_math.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

idx::Dim random_dim(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    idx::Dim d;
    d.in = pick(1, 9), d.k = pick(1, 9), d.stride = pick(1, 6), d.dil = pick(1, 4);
    d.pad = pick(0, 6);
    const int out_pad = pick(0, std::max(d.stride, d.dil) - 1);
    d.out = (d.in - 1) * d.stride - 2 * d.pad + d.dil * (d.k - 1) + out_pad + 1;
    if (d.out >= 1) return d;
  }
}

// All (tap, input) pairs reaching output o, by brute force.
std::set<std::pair<int, int>> brute_taps(int o, const idx::Dim& d) {
  std::set<std::pair<int, int>> s;
  for (int i = 0; i < d.in; ++i)
    for (int k = 0; k < d.k; ++k)
      if (i * d.stride - d.pad + k * d.dil == o) s.insert({k, i});
  return s;
}

TEST(IndexMath, FloorAndCeilDivision) {
  for (int a = -20; a <= 20; ++a)
    for (int b = 1; b <= 7; ++b) {
      EXPECT_EQ(idx::floor_div(a, b), int(std::floor(double(a) / b))) << a << "/" << b;
      EXPECT_EQ(idx::ceil_div(a, b), int(std::ceil(double(a) / b))) << a << "/" << b;
    }
}

TEST(IndexMath, TapsForOutputMatchBruteForce) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    const idx::Dim d = random_dim(rng);
    for (int o = 0; o < d.out; ++o) {
      const idx::TapRange tr = idx::taps_for_output(o, d);
      std::set<std::pair<int, int>> got;
      for (int t = 0; t < tr.count; ++t) {
        const int k = tr.first + t * tr.step;
        got.insert({k, idx::input_of_tap(o, k, d)});
      }
      ASSERT_EQ(got, brute_taps(o, d)) << "o=" << o << " in=" << d.in << " k=" << d.k
                                       << " s=" << d.stride << " p=" << d.pad << " d=" << d.dil;
    }
  }
}

TEST(IndexMath, PhasesPartitionOutputsAndTaps) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 2000; ++trial) {
    const idx::Dim d = random_dim(rng);
    std::vector<int> seen(size_t(d.out), 0);
    std::set<std::pair<int, int>> pairs;  // (output, tap) pairs that land, via the phases
    for (int r = 0; r < d.stride; ++r) {
      const int first = idx::phase_first_output(r, d);
      const int count = idx::phase_output_count(r, d);
      for (int q = 0; q < count; ++q) {
        const int o = first + q * d.stride;
        ASSERT_LT(o, d.out);
        ASSERT_EQ((o + d.pad) % d.stride, r);
        ++seen[size_t(o)];
        for (int t = 0; t < idx::phase_tap_count(r, d); ++t) {
          const int tap = idx::phase_tap_first(r, d) + t * idx::phase_tap_step(d);
          ASSERT_LT(tap, d.k);
          ASSERT_LE(idx::phase_tap_count(r, d), idx::phase_max_taps(d));
          const int i = q + idx::phase_input_offset(r, tap, d);
          // The phase relation is exact: o = i*stride - pad + tap*dil.
          ASSERT_EQ(i * d.stride - d.pad + tap * d.dil, o);
          if (i >= 0 && i < d.in) pairs.insert({o, tap});
        }
      }
    }
    for (int o = 0; o < d.out; ++o) ASSERT_EQ(seen[size_t(o)], 1) << "output " << o;
    std::set<std::pair<int, int>> expected;
    for (int o = 0; o < d.out; ++o)
      for (const auto& [k, i] : brute_taps(o, d)) expected.insert({o, k});
    ASSERT_EQ(pairs, expected);
  }
}

TEST(IndexMath, ZeroInsertSourceMatchesDefinition) {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 2000; ++trial) {
    const idx::Dim d = random_dim(rng);
    const int lead = idx::zero_insert_lead(d);
    for (int z = 0; z < idx::zero_insert_size(d); ++z) {
      int expected = -1;
      for (int i = 0; i < d.in; ++i)
        if (lead + i * d.stride == z) expected = i;
      ASSERT_EQ(idx::zero_insert_source(z, d), expected);
    }
  }
}

TEST(IndexMath, OutputOfTapMatchesDefinition) {
  std::mt19937_64 rng(14);
  for (int trial = 0; trial < 1000; ++trial) {
    const idx::Dim d = random_dim(rng);
    for (int i = 0; i < d.in; ++i)
      for (int k = 0; k < d.k; ++k) {
        const int o = i * d.stride - d.pad + k * d.dil;
        ASSERT_EQ(idx::output_of_tap(i, k, d), (o >= 0 && o < d.out) ? o : -1);
      }
  }
}

// gather_element<double> is what the GPU fp64 reference and the gather kernel run per output.
TEST(IndexMath, GatherElementMatchesReference) {
  std::mt19937_64 rng(15);
  for (int trial = 0; trial < 300; ++trial) {
    const Problem p = testing::random_problem(rng);
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    const auto b = testing::random_data(rng, p.c_out);
    std::vector<double> y(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), b.data(), y.data());
    size_t e = 0;
    for (int n = 0; n < p.n; ++n)
      for (int co = 0; co < p.c_out; ++co)
        for (int oy = 0; oy < p.h_out(); ++oy)
          for (int ox = 0; ox < p.w_out(); ++ox, ++e)
            ASSERT_NEAR(gather_element<double>(p, x.data(), w.data(), b.data(), n, co, oy, ox), y[e],
                        1e-12)
                << p.to_string();
  }
}

}  // namespace
}  // namespace tconv

namespace tconv {
namespace {

// Strides and dilations up to Problem's field limit (2^24): tap*dil passes int32.
TEST(IndexMath, FirstTapOfResidueWithLargeStrideAndDilation) {
  const int stride = (1 << 24) - 1, dil = (1 << 24) - 3;
  const int step = stride / idx::gcd(stride, dil);
  for (int t : {0, 1, 5, 200}) {
    const int r = int((static_cast<long long>(t) * dil) % stride);
    EXPECT_EQ(idx::first_tap_of_residue(r, stride, dil, step), t);
  }
}

}  // namespace
}  // namespace tconv
