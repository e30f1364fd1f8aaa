// Index helpers of kernels/explicit/explicit_gemm.cu: the entries of the explicit matrix C^T and the
// cuBLAS call that applies it, in column-major terms that tests/test_kernels_math.cpp replays on
// the CPU against ref::build_c and ref::direct.
//
// C (reference/ref_matrix.cpp) has rows r = (c_out, h_out, w_out) and columns k = (c_in, h_in,
// w_in), flattened in the layout's order (nchw: channel-major; nhwc: channel fastest, so that a
// batch item of x or y in nhwc is again one contiguous row vector). Then y_row = x_row * C^T.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "kernels/common/index_math.hpp"
#include "kernels/common/layout.hpp"

namespace tconv::kmath {

// K: columns of C = length of an x row; R: rows of C = length of a y row.
TCONV_HD int64_t c_cols(const Problem& p) { return p.c_in * p.h_in * p.w_in; }
TCONV_HD int64_t c_rows(const Problem& p) { return p.c_out * p.h_out() * p.w_out(); }

// One candidate nonzero per (ci, iy, ix, j, ky, kx): e enumerates them with kx fastest.
TCONV_HD int64_t ct_candidate_count(const Problem& p) {
  return p.c_in * p.h_in * p.w_in * p.c_out_per_group() * p.k_h * p.k_w;
}

// C^T[k][r] = w[w_off]; r < 0 when the tap falls outside the output (no entry).
struct CtEntry {
  int64_t k, r, w_off;
};

TCONV_HD CtEntry ct_entry(const Problem& p, bool nhwc, int64_t e) {
  const int64_t kh = p.k_h, kw = p.k_w, cog = p.c_out_per_group();
  const int kx = int(e % kw);
  e /= kw;
  const int ky = int(e % kh);
  e /= kh;
  const int64_t j = e % cog;
  e /= cog;
  const int ix = int(e % p.w_in);
  e /= p.w_in;
  const int iy = int(e % p.h_in);
  const int64_t ci = e / p.h_in;
  CtEntry out;
  out.k = act_offset(nhwc, 0, ci, iy, ix, p.c_in, p.h_in, p.w_in);
  out.w_off = weight_offset(nhwc, ci, j, ky, kx, cog, kh, kw);
  const int oy = idx::output_of_tap(iy, ky, idx::dim_h(p));
  const int ox = idx::output_of_tap(ix, kx, idx::dim_w(p));
  const int64_t co = (ci / p.c_in_per_group()) * cog + j;
  out.r = (oy < 0 || ox < 0) ? -1 : act_offset(nhwc, 0, co, oy, ox, p.c_out, p.h_out(), p.w_out());
  return out;
}

// C^T is stored row-major K x R (entry (k, r) at k*R + r), which is C column-major (R x K, ld R).
// x (N x K row-major) is X^T column-major (K x N, ld K); y likewise Y^T (R x N, ld R). So
//   Y^T = C * X^T:  gemm(N, N, m=R, n=N, k=K, A=C^T buffer, lda=R, B=x, ldb=K, C=y, ldc=R).
struct DenseGemm {
  int64_t m, n, k, lda, ldb, ldc;  // transa = transb = N
};
inline DenseGemm explicit_gemm_plan(const Problem& p) {
  const int64_t R = c_rows(p), K = c_cols(p);
  return {R, p.n, K, R, K, R};
}

// Bytes of the dense C, computed in double: K*R overflows int64 for problems people do try.
inline double explicit_c_bytes(const Problem& p, double elem_bytes) {
  return double(c_cols(p)) * double(c_rows(p)) * elem_bytes;
}

// The GEMM does 2*N*K*R flops; the useful count is 2*N*C_in*H_in*W_in*(C_out/g)*k_h*k_w, so the
// ratio is R / ((C_out/g)*k_h*k_w) = C_out*H_out*W_out / ((C_out/g)*k_h*k_w).
inline double explicit_work_ratio(const Problem& p) {
  return double(c_rows(p)) / (double(p.c_out_per_group()) * double(p.k_h) * double(p.k_w));
}

}  // namespace tconv::kmath
