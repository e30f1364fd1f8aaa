// How cutlass_dgrad hands our problem to CUTLASS, as plain host code (no CUTLASS headers) so the
// CPU tests check it against the fp64 references.
//
// Our transposed convolution is CUTLASS's conv2d dgrad (as in CUTLASS example 34): the forward
// convolution it is the adjoint of maps an image of our y's shape (N, H_out, W_out, C_out) to
// one of our x's shape, so in CUTLASS's names
//   dy (N, P, Q, K)  = our x, nhwc      (P, Q = H_in, W_in; K = C_in)
//   w  (K, R, S, C)  = our nhwc weight  (C_in, k_h, k_w, C_out/groups): KRSC as stored
//   dx (N, H, W, C)  = our y, nhwc      (H, W = H_out, W_out; C = C_out)
// and CUTLASS's dgrad definition, mode kCrossCorrelation, is
//   dx[n,h,w,c] = sum over k, r, s with h = p*stride_h - pad_h + r*dil_h (same for w) of
//                 dy[n,p,q,k] * w[k,r,s,c].
// output_padding needs nothing: it only makes H, W larger, and H, W are given, not derived.
// Begin/end padding outside PyTorch's form is refused (padding_support): Conv2dProblemSize has one
// padding per axis, and CUTLASS 2.x's strided dgrad derives where outputs end from it.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv::cutlass_dgrad {

// The fields of cutlass::conv::Conv2dProblemSize, in 64 bits so a size CUTLASS's int cannot hold
// is caught before the conversion (fits_int).
struct Shape {
  int64_t N = 0, H = 0, W = 0, C = 0;  // dx = our y
  int64_t K = 0, R = 0, S = 0;         // w: K = C_in
  int64_t P = 0, Q = 0;                // dy = our x
  int64_t pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  // Split-K stays 1: CUTLASS's strided dgrad refuses split-K.

  bool fits_int() const {
    for (int64_t v : {N, H, W, C, K, R, S, P, Q, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w,
                      groups})
      if (v < 0 || v > std::numeric_limits<int>::max()) return false;
    return true;
  }
};

inline Shape shape_of(const Problem& p) {
  Shape s;
  s.N = p.n, s.H = p.h_out(), s.W = p.w_out(), s.C = p.c_out;
  s.K = p.c_in, s.R = p.k_h, s.S = p.k_w;
  s.P = p.h_in, s.Q = p.w_in;
  s.pad_h = p.pad_h, s.pad_w = p.pad_w;
  s.stride_h = p.stride_h, s.stride_w = p.stride_w;
  s.dil_h = p.dil_h, s.dil_w = p.dil_w;
  s.groups = p.groups;
  return s;
}

// Packed NHWC / KRSC element offsets, CUTLASS's TensorNHWC layout.
inline int64_t dy_offset(const Shape& s, int64_t n, int64_t p, int64_t q, int64_t k) {
  return ((n * s.P + p) * s.Q + q) * s.K + k;
}
inline int64_t w_offset(const Shape& s, int64_t k, int64_t r, int64_t t, int64_t c) {
  return ((k * s.R + r) * s.S + t) * (s.C / s.groups) + c;
}
inline int64_t dx_offset(const Shape& s, int64_t n, int64_t h, int64_t w, int64_t c) {
  return ((n * s.H + h) * s.W + w) * s.C + c;
}

// What the row can never run, whatever CUTLASS says: the dtypes and layout it is built for.
inline Support static_support(const Config& cfg) {
  if (cfg.layout != Layout::nhwc)
    return Support::no("layout nchw not implemented (CUTLASS dgrad kernels are NHWC only)");
  if (cfg.dtype == DType::fp64)
    return Support::no("dtype fp64 not implemented (cutlass_dgrad: fp32, tf32, fp16, bf16)");
  return Support::yes();
}

// CUTLASS 2.x's conv problem takes symmetric padding: only PyTorch's form of the problem.
inline Support padding_support(const Problem& p) {
  if (p.pytorch_pads()) return Support::yes();
  return Support::no("CUTLASS 2.x conv2d takes symmetric padding (one pad_h, pad_w); begin:end "
                     "padding " + std::to_string(p.pad_begin_h()) + ":" +
                     std::to_string(p.pad_end_h()) + "," + std::to_string(p.pad_begin_w()) + ":" +
                     std::to_string(p.pad_end_w()) +
                     " is not padding plus an output_padding below max(stride, dilation)");
}

}  // namespace tconv::cutlass_dgrad
