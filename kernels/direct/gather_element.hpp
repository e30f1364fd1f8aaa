// One output element of the gather formulation: the sum over the taps that reach it. Shared by the
// fp64 GPU reference, the gather kernel and the CPU tests (templated on the value type).
#pragma once

#include "core/problem.hpp"
#include "kernels/common/index_math.hpp"

namespace tconv {

// y[n, co, oy, ox] for NCHW operands; Acc is the accumulation type.
template <typename Acc, typename T>
TCONV_HD Acc gather_element(const Problem& p, const T* x, const T* w, const T* bias, int n, int co,
                            int oy, int ox) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  const int cig = int(p.c_in_per_group()), cog = int(p.c_out_per_group());
  const int g = co / cog, j = co % cog;
  const int kh = int(p.k_h), kw = int(p.k_w);
  const idx::TapRange ty = idx::taps_for_output(oy, dh);
  const idx::TapRange tx = idx::taps_for_output(ox, dw);
  Acc acc = (p.has_bias && bias) ? Acc(bias[co]) : Acc(0);
  for (int cl = 0; cl < cig; ++cl) {
    const int ci = g * cig + cl;
    const T* xc = x + (int64_t(n) * p.c_in + ci) * p.h_in * p.w_in;
    const T* wc = w + (int64_t(ci) * cog + j) * kh * kw;
    for (int a = 0; a < ty.count; ++a) {
      const int ky = ty.first + a * ty.step;
      const int iy = idx::input_of_tap(oy, ky, dh);
      for (int b = 0; b < tx.count; ++b) {
        const int kx = tx.first + b * tx.step;
        const int ix = idx::input_of_tap(ox, kx, dw);
        acc += Acc(xc[int64_t(iy) * p.w_in + ix]) * Acc(wc[ky * kw + kx]);
      }
    }
  }
  return acc;
}

}  // namespace tconv
