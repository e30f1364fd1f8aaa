// ref_matrix: C built from the forward convolution's definition (which input pixel each output
// pixel reads), then the transposed convolution as the product with C^T. Memory is
// (c_out*h_out*w_out)*(c_in*h_in*w_in) doubles: small problems only.
#include <algorithm>

#include "reference/reference.hpp"

namespace tconv::ref {

std::vector<double> build_c(const Problem& p, const double* w) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  const int64_t rows = p.c_out * ho * wo;  // forward conv input (y-shaped)
  const int64_t cols = p.c_in * p.h_in * p.w_in;  // forward conv output (x-shaped)
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  std::vector<double> c(size_t(rows * cols), 0.0);
  // Forward conv: out[ci, iy, ix] = sum over co in ci's group and taps of
  //   in[co, iy*s - p + ky*d, ix*s - p + kx*d] * w[ci, co_local, ky, kx].
  for (int64_t ci = 0; ci < p.c_in; ++ci) {
    const int64_t g = ci / cig;
    for (int64_t iy = 0; iy < p.h_in; ++iy)
      for (int64_t ix = 0; ix < p.w_in; ++ix) {
        const int64_t col = (ci * p.h_in + iy) * p.w_in + ix;
        for (int64_t j = 0; j < cog; ++j)
          for (int64_t ky = 0; ky < p.k_h; ++ky)
            for (int64_t kx = 0; kx < p.k_w; ++kx) {
              const int64_t oy = iy * p.stride_h - p.pad_h + ky * p.dil_h;
              const int64_t ox = ix * p.stride_w - p.pad_w + kx * p.dil_w;
              if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;  // forward conv's padding
              const int64_t row = ((g * cog + j) * ho + oy) * wo + ox;
              c[size_t(row * cols + col)] = w[((ci * cog + j) * p.k_h + ky) * p.k_w + kx];
            }
      }
  }
  return c;
}

void matrix(const Problem& p, const double* x, const double* w, const double* bias, double* y) {
  const std::vector<double> c = build_c(p, w);
  const int64_t rows = p.c_out * p.h_out() * p.w_out();
  const int64_t cols = p.c_in * p.h_in * p.w_in;
  const int64_t plane = p.h_out() * p.w_out();
  for (int64_t n = 0; n < p.n; ++n) {
    const double* xr = x + n * cols;
    double* yr = y + n * rows;
    // y_row[r] = sum_k x_row[k] * C^T[k, r] = sum_k x_row[k] * C[r, k]
    for (int64_t r = 0; r < rows; ++r) {
      const double* crow = c.data() + r * cols;
      double acc = 0.0;
      for (int64_t k = 0; k < cols; ++k) acc += xr[k] * crow[k];
      yr[r] = acc + (p.has_bias && bias ? bias[r / plane] : 0.0);
    }
  }
}

}  // namespace tconv::ref
