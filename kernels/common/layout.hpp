// Layout-aware tensor offsets shared by the plain CUDA implementations (scatter, gather,
// zero_insert_direct, explicit_gemm, explicit_spmm) and by tests/test_kernels_math.cpp, which runs
// the very same __host__ __device__ code on the CPU against the fp64 references. The layouts are
// those of kernels/common/implementation.hpp.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/problem.hpp"

namespace tconv::kmath {

// Activations: nchw (N,C,H,W), nhwc (N,H,W,C). With n = 0 these are also the flattened
// per-sample row/column coordinates of the explicit C matrix.
TCONV_HD int64_t act_offset(bool nhwc, int64_t n, int64_t c, int64_t h, int64_t w, int64_t C,
                            int64_t H, int64_t W) {
  return nhwc ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}

// Weights: nchw (C_in, C_out/g, k_h, k_w), nhwc (C_in, k_h, k_w, C_out/g).
TCONV_HD int64_t weight_offset(bool nhwc, int64_t ci, int64_t j, int64_t ky, int64_t kx,
                               int64_t cog, int64_t kh, int64_t kw) {
  return nhwc ? ((ci * kh + ky) * kw + kx) * cog + j : ((ci * cog + j) * kh + ky) * kw + kx;
}
// Distance between the weights of output channels j and j+1 (same ci and tap).
TCONV_HD int64_t weight_channel_stride(bool nhwc, int64_t kh, int64_t kw) {
  return nhwc ? 1 : kh * kw;
}

// Output channel of element e of y (for the bias fill kernels).
TCONV_HD int64_t y_channel(const Problem& p, bool nhwc, int64_t e) {
  return nhwc ? e % p.c_out : (e / (p.h_out() * p.w_out())) % p.c_out;
}

}  // namespace tconv::kmath
