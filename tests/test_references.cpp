// The fp64 references against each other, against hand-computed values and against the adjoint
// identity. They are the ground truth for every GPU implementation, so they are checked from
// several independent directions.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "reference/reference.hpp"
#include "test_util.hpp"

namespace tconv {
namespace {

Problem example_4x4() {
  Problem p;  // 2x2 input, 3x3 kernel, stride 1, no padding -> 4x4 output
  p.h_in = p.w_in = 2;
  p.k_h = p.k_w = 3;
  return p;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

double max_abs(const std::vector<double>& a) {
  double m = 0.0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

TEST(References, WorkedExample4x4) {
  const Problem p = example_4x4();
  const std::vector<double> x = {1, 2, 3, 4};
  const std::vector<double> w = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  // Worked by hand: y[oy][ox] = sum over x[iy][ix] * w[oy-iy][ox-ix].
  const std::vector<double> expected = {1,  4,  7,  6,   //
                                        7,  23, 33, 24,  //
                                        19, 53, 63, 42,  //
                                        21, 52, 59, 36};
  std::vector<double> y(16);
  ref::direct(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, expected);
  ref::matrix(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, expected);
  ref::zero_insert(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, expected);
}

TEST(References, WorkedExampleMatrixC) {
  const Problem p = example_4x4();
  const std::vector<double> w = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<double> c = ref::build_c(p, w.data());
  ASSERT_EQ(c.size(), 16u * 4u);  // C is 16x4: 4x4 forward input, 2x2 forward output
  auto at = [&](int r, int col) { return c[size_t(r * 4 + col)]; };
  // Row (0,0) of the 4x4 image only reaches output (0,0), through w[0][0].
  EXPECT_EQ(at(0, 0), 1);
  EXPECT_EQ(at(0, 1) + at(0, 2) + at(0, 3), 0);
  // Pixel (1,1) reaches all four outputs: through w[1][1], w[1][0], w[0][1], w[0][0].
  EXPECT_EQ(at(5, 0), 5);
  EXPECT_EQ(at(5, 1), 4);
  EXPECT_EQ(at(5, 2), 2);
  EXPECT_EQ(at(5, 3), 1);
  // Pixel (3,3) only reaches output (1,1), through w[2][2].
  EXPECT_EQ(at(15, 3), 9);
  int nnz = 0;
  for (double v : c) nnz += v != 0.0;
  EXPECT_EQ(nnz, 4 * 9);  // every output of the forward conv reads all 9 taps

  // I * C is the forward convolution (a cross-correlation) of I with w.
  std::vector<double> image(16);
  std::iota(image.begin(), image.end(), 1.0);
  std::vector<double> via_c(4, 0.0), via_conv(4);
  for (int col = 0; col < 4; ++col)
    for (int r = 0; r < 16; ++r) via_c[col] += image[r] * at(r, col);
  ref::conv_forward(p, image.data(), w.data(), via_conv.data());
  EXPECT_EQ(via_c, via_conv);
  // Explicitly: output (0,0) = sum_{a,b} image[a][b] * w[a][b] over the top-left 3x3 window.
  double tl = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) tl += image[a * 4 + b] * w[a * 3 + b];
  EXPECT_EQ(via_conv[0], tl);
}

TEST(References, CTimesCTransposeIsNotIdentity) {
  const Problem p = example_4x4();
  const std::vector<double> w = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<double> c = ref::build_c(p, w.data());
  // C*C^T is 16x16 of rank <= 4: far from the 16x16 identity.
  double frob = 0.0;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      double acc = 0.0;
      for (int k = 0; k < 4; ++k) acc += c[size_t(i * 4 + k)] * c[size_t(j * 4 + k)];
      const double d = acc - (i == j ? 1.0 : 0.0);
      frob += d * d;
    }
  EXPECT_GT(std::sqrt(frob), 1.0);
  // Applying the transposed conv after the forward conv does not give the image back either.
  std::vector<double> image(16), small(4), back(16);
  std::iota(image.begin(), image.end(), 1.0);
  ref::conv_forward(p, image.data(), w.data(), small.data());
  ref::direct(p, small.data(), w.data(), nullptr, back.data());
  EXPECT_GT(max_abs_diff(image, back), 1.0);
}

// Hundreds of random problems: the three formulations agree, with and without bias.
TEST(References, FormulationsAgreeOnRandomProblems) {
  std::mt19937_64 rng(20261125);
  int with_groups = 0, with_dil = 0, with_out_pad = 0, strided_gt_k = 0, k_not_mult = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const Problem p = testing::random_problem(rng);
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    const auto b = testing::random_data(rng, p.c_out);
    std::vector<double> yd(size_t(p.y_elems())), ym(yd.size(), 7.0), yz(yd.size(), 7.0);
    ref::direct(p, x.data(), w.data(), b.data(), yd.data());
    ref::matrix(p, x.data(), w.data(), b.data(), ym.data());
    ref::zero_insert(p, x.data(), w.data(), b.data(), yz.data());
    const double tol = 1e-12 * std::max(1.0, max_abs(yd));
    ASSERT_LE(max_abs_diff(yd, ym), tol) << p.to_string();
    ASSERT_LE(max_abs_diff(yd, yz), tol) << p.to_string();
    with_groups += p.groups > 1;
    with_dil += p.dil_h > 1 || p.dil_w > 1;
    with_out_pad += p.out_pad_h > 0 || p.out_pad_w > 0;
    strided_gt_k += p.stride_h > p.k_h;
    k_not_mult += p.k_h % p.stride_h != 0;
  }
  // The generator really covered the features.
  EXPECT_GT(with_groups, 50);
  EXPECT_GT(with_dil, 50);
  EXPECT_GT(with_out_pad, 50);
  EXPECT_GT(strided_gt_k, 20);
  EXPECT_GT(k_not_mult, 50);
}

// <conv_transpose(x), y> == <x, conv(y)> for the same weights.
TEST(References, AdjointIdentity) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    Problem p = testing::random_problem(rng);
    p.has_bias = false;  // the identity holds for the linear part
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    const auto yv = testing::random_data(rng, p.y_elems());
    std::vector<double> tx(size_t(p.y_elems())), fy(size_t(p.x_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, tx.data());
    ref::conv_forward(p, yv.data(), w.data(), fy.data());
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (size_t i = 0; i < tx.size(); ++i) lhs += tx[i] * yv[i], scale += std::fabs(tx[i] * yv[i]);
    for (size_t i = 0; i < fy.size(); ++i) rhs += x[i] * fy[i];
    ASSERT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, scale)) << p.to_string();
  }
}

// Zero insertion with the flipped kernel, written out independently here for one channel:
// the definition everyone draws (insert, pad, slide the kernel rotated by 180 degrees).
TEST(References, FlippedKernelEquivalence) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    Problem p = testing::random_problem(rng);
    p.n = 1, p.c_in = 1, p.c_out = 1, p.groups = 1, p.has_bias = false;
    p.dil_h = p.dil_w = 1;
    p.out_pad_h = std::min(p.out_pad_h, p.stride_h - 1);
    p.out_pad_w = std::min(p.out_pad_w, p.stride_w - 1);
    if (!p.validate().empty()) continue;
    const auto x = testing::random_data(rng, p.x_elems());
    const auto w = testing::random_data(rng, p.w_elems());
    // Full zero-inserted image with generous margins, then crop.
    const int64_t kh = p.k_h, kw = p.k_w;
    const int64_t zh = (p.h_in - 1) * p.stride_h + 1 + 2 * (kh - 1) + p.out_pad_h;
    const int64_t zw = (p.w_in - 1) * p.stride_w + 1 + 2 * (kw - 1) + p.out_pad_w;
    std::vector<double> z(size_t(zh * zw), 0.0);
    for (int64_t iy = 0; iy < p.h_in; ++iy)
      for (int64_t ix = 0; ix < p.w_in; ++ix)
        z[size_t((kh - 1 + iy * p.stride_h) * zw + kw - 1 + ix * p.stride_w)] = x[size_t(iy * p.w_in + ix)];
    // Full convolution output before removing `pad` from each side.
    const int64_t fh = zh - kh + 1, fw = zw - kw + 1;
    std::vector<double> full(size_t(fh * fw), 0.0);
    for (int64_t oy = 0; oy < fh; ++oy)
      for (int64_t ox = 0; ox < fw; ++ox)
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b)
            full[size_t(oy * fw + ox)] += z[size_t((oy + a) * zw + ox + b)] * w[size_t((kh - 1 - a) * kw + (kw - 1 - b))];
    std::vector<double> y(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, y.data());
    for (int64_t oy = 0; oy < p.h_out(); ++oy)
      for (int64_t ox = 0; ox < p.w_out(); ++ox)
        ASSERT_NEAR(y[size_t(oy * p.w_out() + ox)], full[size_t((oy + p.pad_h) * fw + ox + p.pad_w)], 1e-12)
            << p.to_string();
  }
}

TEST(References, BiasIsAddedOncePerOutput) {
  std::mt19937_64 rng(3);
  Problem p = testing::random_problem(rng);
  p.has_bias = true;
  const auto x = testing::random_data(rng, p.x_elems());
  const auto w = testing::random_data(rng, p.w_elems());
  const auto b = testing::random_data(rng, p.c_out);
  std::vector<double> with(size_t(p.y_elems())), without(with.size());
  ref::direct(p, x.data(), w.data(), b.data(), with.data());
  Problem q = p;
  q.has_bias = false;
  ref::direct(q, x.data(), w.data(), nullptr, without.data());
  const int64_t plane = p.h_out() * p.w_out();
  for (int64_t i = 0; i < p.y_elems(); ++i)
    ASSERT_NEAR(with[size_t(i)] - without[size_t(i)], b[size_t((i / plane) % p.c_out)], 1e-12);
}

}  // namespace
}  // namespace tconv
