// The forward convolution with the transposed convolution's weights: the adjoint, written as a
// gather over the y-shaped input (a different loop nest from ref_direct's scatter on purpose).
#include "reference/reference.hpp"

namespace tconv::ref {

void conv_forward(const Problem& p, const double* y, const double* w, double* x) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t ci = 0; ci < p.c_in; ++ci) {
      const int64_t g = ci / cig;
      for (int64_t iy = 0; iy < p.h_in; ++iy)
        for (int64_t ix = 0; ix < p.w_in; ++ix) {
          double acc = 0.0;
          for (int64_t j = 0; j < cog; ++j)
            for (int64_t ky = 0; ky < p.k_h; ++ky) {
              const int64_t yy = iy * p.stride_h - p.pad_h + ky * p.dil_h;
              if (yy < 0 || yy >= ho) continue;
              for (int64_t kx = 0; kx < p.k_w; ++kx) {
                const int64_t yx = ix * p.stride_w - p.pad_w + kx * p.dil_w;
                if (yx < 0 || yx >= wo) continue;
                acc += y[((n * p.c_out + g * cog + j) * ho + yy) * wo + yx] *
                       w[((ci * cog + j) * p.k_h + ky) * p.k_w + kx];
              }
            }
          x[((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix] = acc;
        }
    }
}

}  // namespace tconv::ref
