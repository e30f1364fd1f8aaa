// ref_zero_insert: the "insert zeros, pad, convolve with the flipped kernel" formulation.
// The zero-inserted buffer holds (h_out + dil*(k-1)) x (w_out + dil*(k-1)) values per channel.
#include <vector>

#include "reference/reference.hpp"

namespace tconv::ref {

void zero_insert(const Problem& p, const double* x, const double* w, const double* bias,
                 double* y) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  // Leading padding; negative means the first rows of the zero-inserted image are cropped.
  const int64_t top = p.dil_h * (p.k_h - 1) - p.pad_h;
  const int64_t left = p.dil_w * (p.k_w - 1) - p.pad_w;
  // top + (h_in-1)*s + 1 + bottom, bottom = dil*(k-1) - end padding: equals h_out + dil*(k-1).
  const int64_t hz = ho + p.dil_h * (p.k_h - 1);
  const int64_t wz = wo + p.dil_w * (p.k_w - 1);
  std::vector<double> z(size_t(p.c_in * hz * wz));
  for (int64_t n = 0; n < p.n; ++n) {
    std::fill(z.begin(), z.end(), 0.0);
    for (int64_t ci = 0; ci < p.c_in; ++ci)
      for (int64_t iy = 0; iy < p.h_in; ++iy)
        for (int64_t ix = 0; ix < p.w_in; ++ix) {
          const int64_t zy = top + iy * p.stride_h, zx = left + ix * p.stride_w;
          if (zy < 0 || zy >= hz || zx < 0 || zx >= wz) continue;  // cropped by negative pad
          z[size_t((ci * hz + zy) * wz + zx)] = x[((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix];
        }
    // Stride-1 dilated convolution. The flipped, channel-swapped kernel
    //   wf[co, ci, ky, kx] = w[ci, co_local, k_h-1-ky, k_w-1-kx].
    for (int64_t co = 0; co < p.c_out; ++co) {
      const int64_t g = co / cog, j = co % cog;
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          double acc = p.has_bias && bias ? bias[co] : 0.0;
          for (int64_t cl = 0; cl < cig; ++cl) {
            const int64_t ci = g * cig + cl;
            for (int64_t ky = 0; ky < p.k_h; ++ky)
              for (int64_t kx = 0; kx < p.k_w; ++kx) {
                const double wf =
                    w[((ci * cog + j) * p.k_h + (p.k_h - 1 - ky)) * p.k_w + (p.k_w - 1 - kx)];
                acc += wf * z[size_t((ci * hz + oy + ky * p.dil_h) * wz + ox + kx * p.dil_w)];
              }
          }
          y[((n * p.c_out + co) * ho + oy) * wo + ox] = acc;
        }
    }
  }
}

}  // namespace tconv::ref
