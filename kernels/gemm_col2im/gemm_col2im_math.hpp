// Index helpers of kernels/gemm_col2im/gemm_col2im.cu: the column buffer, the cuBLAS call parameters (column
// major, spelled out so that tests/test_kernels_math.cpp can replay them with a CPU GEMM) and the
// col2im gather. NCHW only.
//
// Per (batch item, group):  col_g = W_g^T * X_g   with
//   W_g (C_in/g) x M,  M = C_out/g * k_h * k_w   row-major, rows ci of the group (the stored weight)
//   X_g (C_in/g) x HW, HW = H_in * W_in          row-major (the stored x)
//   col_g       M x HW                           row-major, rows idx::col_row, cols idx::col_col
// The column buffer of a chunk of batch items is ordered (nl, g, M, HW).
#pragma once

#include <cstdint>
#include <vector>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/common/index_math.hpp"

namespace tconv::kmath {

TCONV_HD int64_t col_m(const Problem& p) { return p.c_out_per_group() * p.k_h * p.k_w; }
TCONV_HD int64_t col_hw(const Problem& p) { return p.h_in * p.w_in; }
// Column-buffer elements per batch item (all groups).
TCONV_HD int64_t col_item_elems(const Problem& p) { return p.groups * col_m(p) * col_hw(p); }

TCONV_HD int64_t col_offset(const Problem& p, int64_t nl, int64_t g, int64_t m, int64_t pix) {
  return ((nl * p.groups + g) * col_m(p) + m) * col_hw(p) + pix;
}

// The GEMM in cuBLAS's column-major terms. A row-major R x C matrix is a column-major C x R one,
// so col_g^T (HW x M, column-major, ld HW) = X_g^T (HW x cig, column-major = X_g as stored,
// ld HW) * W_g (cig x M) where W_g is the column-major M x cig matrix (W_g as stored, ld M)
// taken transposed:  gemm(N, T, m=HW, n=M, k=cig, A=x_g, lda=HW, B=w_g, ldb=M, C=col_g, ldc=HW).
struct GemmCall {
  int64_t a_off, b_off, c_off;  // element offsets: A from the chunk's x, B from w, C from col
  int64_t stride_a, stride_b, stride_c;
  int batch;
};
struct Col2imGemm {
  int m, n, k, lda, ldb, ldc;  // transa = N, transb = T
  std::vector<GemmCall> calls;
};

// The strided-batched calls for a chunk of `items` batch items. x at (nl, g) starts at
// (nl*groups + g)*cig*HW, but w_g depends on g alone, so one strided batch cannot cover both:
// batch over items (one call per group, stride_b = 0) when there are at least as many items as
// groups, otherwise over groups (one call per item).
inline Col2imGemm col2im_gemm_plan(const Problem& p, int items) {
  const int64_t m_rows = col_m(p), hw = col_hw(p), cig = p.c_in_per_group();
  Col2imGemm plan;
  plan.m = int(hw), plan.n = int(m_rows), plan.k = int(cig);
  plan.lda = int(hw), plan.ldb = int(m_rows), plan.ldc = int(hw);
  if (items >= p.groups) {
    for (int64_t g = 0; g < p.groups; ++g)
      plan.calls.push_back({g * cig * hw, g * cig * m_rows, g * m_rows * hw, p.c_in * hw, 0,
                            p.groups * m_rows * hw, items});
  } else {
    for (int64_t nl = 0; nl < items; ++nl)
      plan.calls.push_back({nl * p.c_in * hw, 0, nl * p.groups * m_rows * hw, cig * hw,
                            cig * m_rows, m_rows * hw, int(p.groups)});
  }
  return plan;
}

// col2im as a gather: y[n0+nl, co, oy, ox] = bias[co] + sum over the taps reaching (oy, ox) of
// col_g[col_row(j, ky, kx), col_col(iy, ix)]. Deterministic, writes every output once.
template <typename Acc, typename C>
TCONV_HD Acc col2im_element(const Problem& p, const C* __restrict__ col, int64_t nl, int co,
                            int oy, int ox) {
  const idx::Dim dh = idx::dim_h(p), dw = idx::dim_w(p);
  const int cog = int(p.c_out_per_group());
  const int g = co / cog, j = co % cog;
  const int kh = int(p.k_h), kw = int(p.k_w), w_in = int(p.w_in);
  const idx::TapRange ty = idx::taps_for_output(oy, dh);
  const idx::TapRange tx = idx::taps_for_output(ox, dw);
  const C* colg = col + col_offset(p, nl, g, 0, 0);
  const int64_t hw = col_hw(p);
  Acc acc = Acc(0);
  for (int a = 0; a < ty.count; ++a) {
    const int ky = ty.first + a * ty.step;
    const int iy = idx::input_of_tap(oy, ky, dh);
    for (int b = 0; b < tx.count; ++b) {
      const int kx = tx.first + b * tx.step;
      const int ix = idx::input_of_tap(ox, kx, dw);
      acc += Acc(colg[int64_t(idx::col_row(j, ky, kx, kh, kw)) * hw + idx::col_col(iy, ix, w_in)]);
    }
  }
  return acc;
}

// Batch items per chunk: as many as fit `cap_bytes` of column buffer (at least one), at most n.
// Returns 0 when a single item's columns exceed `budget_bytes`.
inline int64_t col2im_chunk_items(const Problem& p, double elem_bytes, double cap_bytes,
                                  double budget_bytes) {
  const double per_item = double(col_item_elems(p)) * elem_bytes;
  if (per_item > budget_bytes) return 0;
  double items = cap_bytes / per_item;
  if (items < 1) items = 1;
  if (items * per_item > budget_bytes) items = budget_bytes / per_item;
  const int64_t k = int64_t(items);
  return k < 1 ? 1 : (k > p.n ? p.n : k);
}

}  // namespace tconv::kmath
