// ref_direct: the scatter definition, in the most literal loops possible. Slow; small problems.
#include "reference/reference.hpp"

#include <algorithm>

namespace tconv::ref {

void direct(const Problem& p, const double* x, const double* w, const double* bias, double* y) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  std::fill(y, y + p.y_elems(), 0.0);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t ci = 0; ci < p.c_in; ++ci) {
      const int64_t g = ci / cig;
      for (int64_t iy = 0; iy < p.h_in; ++iy)
        for (int64_t ix = 0; ix < p.w_in; ++ix) {
          const double xv = x[((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix];
          for (int64_t j = 0; j < cog; ++j) {
            const int64_t co = g * cog + j;
            for (int64_t ky = 0; ky < p.k_h; ++ky) {
              const int64_t oy = iy * p.stride_h - p.pad_h + ky * p.dil_h;
              if (oy < 0 || oy >= ho) continue;
              for (int64_t kx = 0; kx < p.k_w; ++kx) {
                const int64_t ox = ix * p.stride_w - p.pad_w + kx * p.dil_w;
                if (ox < 0 || ox >= wo) continue;
                y[((n * p.c_out + co) * ho + oy) * wo + ox] +=
                    xv * w[((ci * cog + j) * p.k_h + ky) * p.k_w + kx];
              }
            }
          }
        }
    }
  if (p.has_bias && bias)
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t co = 0; co < p.c_out; ++co)
        for (int64_t i = 0; i < ho * wo; ++i) y[(n * p.c_out + co) * ho * wo + i] += bias[co];
}

}  // namespace tconv::ref
