// Random valid problems and random nonzero data for the CPU tests.
#pragma once

#include <random>
#include <vector>

#include "core/problem.hpp"

namespace tconv::testing {

// Values in [-1, -0.1] U [0.1, 1]: never zero, so a dropped term always shows.
inline std::vector<double> random_data(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<double> mag(0.1, 1.0);
  std::bernoulli_distribution sign(0.5);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& e : v) e = sign(rng) ? mag(rng) : -mag(rng);
  return v;
}

// Small random valid problems across groups, dilation, output_padding, bias and asymmetric h/w,
// including stride > kernel and kernels not divisible by the stride.
inline Problem random_problem(std::mt19937_64& rng, int max_spatial = 6) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    Problem p;
    p.groups = pick(1, 3);
    p.n = pick(1, 2);
    p.c_in = p.groups * pick(1, 3);
    p.c_out = p.groups * pick(1, 3);
    p.h_in = pick(1, max_spatial), p.w_in = pick(1, max_spatial);
    p.k_h = pick(1, 5), p.k_w = pick(1, 5);
    p.stride_h = pick(1, 4), p.stride_w = pick(1, 4);
    p.dil_h = pick(1, 3), p.dil_w = pick(1, 3);
    p.pad_h = pick(0, 3), p.pad_w = pick(0, 3);
    p.out_pad_h = pick(0, 3), p.out_pad_w = pick(0, 3);
    p.has_bias = pick(0, 1) == 1;
    if (p.validate().empty()) return p;
  }
}

// A random problem with begin/end padding outside PyTorch's form on at least one axis: end above
// begin (cropped more at the end), or below zero (outputs past the full output), or more than
// max(stride, dil) - 1 below begin. The rest as random_problem draws it.
inline Problem random_begin_end_problem(std::mt19937_64& rng, int max_spatial = 6) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    Problem p = random_problem(rng, max_spatial);
    p.set_pads_h(pick(0, 4), pick(-5, 4));
    p.set_pads_w(pick(0, 4), pick(-5, 4));
    if (pick(0, 3) == 0) p.set_pads_h(0, 0);  // one axis symmetric now and then
    if (p.validate().empty() && !p.pytorch_pads()) return p;
  }
}

}  // namespace tconv::testing
