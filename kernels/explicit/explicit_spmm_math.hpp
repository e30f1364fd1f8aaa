// Index helpers of kernels/explicit/explicit_spmm.cu: the CSR form of C (rows r = (c_out, h_out, w_out),
// columns k = (c_in, h_in, w_in), flattened in the layout's order as in explicit_gemm_math.hpp),
// built on the GPU without a scan: a row's nonzero count is (C_in/g) * taps(oy) * taps(ox), so
// its start follows in closed form from 1-D prefix sums of the tap counts. tests/ builds the CSR
// on the CPU with these same functions and compares it with ref::build_c.
#pragma once

#include <cstdint>
#include <vector>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/direct/gather_math.hpp"  // landing_fraction
#include "kernels/common/index_math.hpp"
#include "kernels/common/layout.hpp"

namespace tconv::kmath {

// sy[o] = number of (tap, input) pairs reaching the outputs before o in one dimension;
// sy has h_out + 1 entries, sx w_out + 1.
inline void csr_tap_prefix(const Problem& p, std::vector<int64_t>& sy, std::vector<int64_t>& sx) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  sy.assign(size_t(dh.out + 1), 0);
  sx.assign(size_t(dw.out + 1), 0);
  for (int o = 0; o < dh.out; ++o) sy[size_t(o) + 1] = sy[size_t(o)] + idx::taps_for_output(o, dh).count;
  for (int o = 0; o < dw.out; ++o) sx[size_t(o) + 1] = sx[size_t(o)] + idx::taps_for_output(o, dw).count;
}

TCONV_HD int64_t csr_nnz(const Problem& p, const int64_t* sy, const int64_t* sx) {
  return p.c_in_per_group() * p.c_out * sy[p.h_out()] * sx[p.w_out()];
}

struct CsrRow {
  int co, oy, ox;
};
TCONV_HD CsrRow csr_row(const Problem& p, bool nhwc, int64_t r) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  CsrRow row;
  if (nhwc) {
    row.co = int(r % p.c_out);
    r /= p.c_out;
    row.ox = int(r % wo);
    row.oy = int(r / wo);
  } else {
    row.ox = int(r % wo);
    r /= wo;
    row.oy = int(r % ho);
    row.co = int(r / ho);
  }
  return row;
}

// Offset of row r's first nonzero; r == R (rows of C) gives nnz.
TCONV_HD int64_t csr_row_start(const Problem& p, bool nhwc, int64_t r, const int64_t* sy,
                               const int64_t* sx) {
  const int64_t ho = p.h_out(), wo = p.w_out(), cig = p.c_in_per_group();
  if (r == p.c_out * ho * wo) return csr_nnz(p, sy, sx);
  const CsrRow row = csr_row(p, nhwc, r);
  const int64_t ty = sy[ho], tx = sx[wo];
  const int64_t cy = sy[row.oy + 1] - sy[row.oy], cx = sx[row.ox + 1] - sx[row.ox];
  if (nhwc)  // rows ordered (oy, ox, co)
    return cig * (sy[row.oy] * tx * p.c_out + cy * sx[row.ox] * p.c_out + row.co * cy * cx);
  // rows ordered (co, oy, ox)
  return cig * (row.co * ty * tx + sy[row.oy] * tx + cy * sx[row.ox]);
}

// Work item (r, cl): writes the nonzeros of row r that come from input channel cl of the row's
// group, in ascending column order within the row (cuSPARSE expects sorted columns), and the
// row's offset (and the final offset nnz) once, from cl == 0.
template <typename I, typename V, typename T>
TCONV_HD void csr_fill(const Problem& p, bool nhwc, int64_t r, int cl, const int64_t* sy,
                       const int64_t* sx, const T* __restrict__ w, I* row_ptr, I* col, V* val) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  const int cig = int(p.c_in_per_group()), cog = int(p.c_out_per_group());
  const int64_t rows = p.c_out * p.h_out() * p.w_out();
  const int64_t start = csr_row_start(p, nhwc, r, sy, sx);
  if (cl == 0) {
    row_ptr[r] = I(start);
    if (r == rows - 1) row_ptr[rows] = I(csr_row_start(p, nhwc, rows, sy, sx));
  }
  const CsrRow row = csr_row(p, nhwc, r);
  const int g = row.co / cog, j = row.co % cog;
  const int64_t ci = int64_t(g) * cig + cl;
  const idx::TapRange ty = idx::taps_for_output(row.oy, dh);
  const idx::TapRange tx = idx::taps_for_output(row.ox, dw);
  const int ny = ty.count, nx = tx.count;
  // A larger tap reads a smaller input index, so taps are walked from the last one down.
  for (int a = 0; a < ny; ++a) {
    const int ky = ty.first + (ny - 1 - a) * ty.step;
    const int iy = idx::input_of_tap(row.oy, ky, dh);
    for (int b = 0; b < nx; ++b) {
      const int kx = tx.first + (nx - 1 - b) * tx.step;
      const int ix = idx::input_of_tap(row.ox, kx, dw);
      const int64_t pos = nhwc ? start + (int64_t(a) * nx + b) * cig + cl
                               : start + (int64_t(cl) * ny + a) * nx + b;
      col[pos] = I(act_offset(nhwc, 0, ci, iy, ix, p.c_in, p.h_in, p.w_in));
      val[pos] = V(w[weight_offset(nhwc, ci, j, ky, kx, cog, p.k_h, p.k_w)]);
    }
  }
}

}  // namespace tconv::kmath
