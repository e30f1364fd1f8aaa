// The one description of a 2-D transposed convolution: PyTorch's torch.nn.ConvTranspose2d, and
// the begin/end padding of ONNX's ConvTranspose (pads, auto_pad, output_shape), TensorFlow's
// 'same' and the cuDNN frontend's pre/post padding. Everything else (references, kernels, bench,
// CLI) takes a Problem; nothing passes sizes around as loose ints.
//
// Tensors (NCHW, the default layout):
//   x      (N, C_in, H_in, W_in)
//   weight (C_in, C_out/groups, k_h, k_w)      as PyTorch stores it
//   bias   (C_out)                              when has_bias
//   y      (N, C_out, H_out, W_out)
// Output pixel oy receives input row iy through tap ky when  oy = iy*stride_h - pad_h + ky*dil_h.
//
// Padding per axis, begin and end: output o is element o + begin of the full output
// ((in-1)*stride + dil*(k-1) + 1 elements), and h_out = full - begin - end; an end below zero adds
// outputs past the full output (zeros plus bias). One pair of fields holds both forms:
//   pad = begin, out_pad = begin - end.
// PyTorch's form (padding P, output_padding A) is begin = P, end = P - A, with 0 <= A <
// max(stride, dil): the fields are then exactly PyTorch's. set_pads_h/w() writes any begin/end and
// sets begin_end_pads, under which validate() checks the begin/end rules instead of PyTorch's
// (out_pad may then be negative or >= max(stride, dil)). Every index formula needs only pad (the
// offset) and h_out()/w_out() (the extent), so it holds for both forms alike.
#pragma once

#include <cstdint>
#include <string>

#include "core/hd.hpp"

namespace tconv {

struct Problem {
  int64_t n = 1, c_in = 1, h_in = 1, w_in = 1, c_out = 1;
  int64_t k_h = 1, k_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t out_pad_h = 0, out_pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  bool has_bias = false;
  bool begin_end_pads = false;  // padding given as begin/end (set_pads_h/w), see above

  TCONV_HD int64_t pad_begin_h() const { return pad_h; }
  TCONV_HD int64_t pad_begin_w() const { return pad_w; }
  TCONV_HD int64_t pad_end_h() const { return pad_h - out_pad_h; }
  TCONV_HD int64_t pad_end_w() const { return pad_w - out_pad_w; }
  void set_pads_h(int64_t begin, int64_t end) {
    pad_h = begin, out_pad_h = begin - end, begin_end_pads = true;
  }
  void set_pads_w(int64_t begin, int64_t end) {
    pad_w = begin, out_pad_w = begin - end, begin_end_pads = true;
  }
  // Whether PyTorch's (padding, output_padding) describes this problem: both axes have
  // 0 <= out_pad < max(stride, dil). Libraries that take one padding per axis need this (and
  // begin == end unless they take an output padding too).
  TCONV_HD bool pytorch_pads() const {
    return out_pad_h >= 0 && out_pad_w >= 0 && out_pad_h < (stride_h > dil_h ? stride_h : dil_h) &&
           out_pad_w < (stride_w > dil_w ? stride_w : dil_w);
  }

  TCONV_HD int64_t h_out() const {
    return (h_in - 1) * stride_h - 2 * pad_h + dil_h * (k_h - 1) + out_pad_h + 1;
  }
  TCONV_HD int64_t w_out() const {
    return (w_in - 1) * stride_w - 2 * pad_w + dil_w * (k_w - 1) + out_pad_w + 1;
  }
  TCONV_HD int64_t c_in_per_group() const { return c_in / groups; }
  TCONV_HD int64_t c_out_per_group() const { return c_out / groups; }

  TCONV_HD int64_t x_elems() const { return n * c_in * h_in * w_in; }
  TCONV_HD int64_t w_elems() const { return c_in * c_out_per_group() * k_h * k_w; }
  TCONV_HD int64_t bias_elems() const { return has_bias ? c_out : 0; }
  TCONV_HD int64_t y_elems() const { return n * c_out * h_out() * w_out(); }

  // Useful FLOPs, the CUTLASS/cuDNN dgrad convention: one multiply and one add per
  // (input element, output channel of its group, tap), whether or not the tap lands inside the
  // output. Bias adds are not counted.
  double flops() const {
    return 2.0 * double(n) * double(c_in) * double(h_in) * double(w_in) *
           double(c_out_per_group()) * double(k_h) * double(k_w);
  }
  // Minimum traffic: x, weight and bias read once, y written once.
  double min_bytes(double elem_bytes) const {
    return elem_bytes * double(x_elems() + w_elems() + bias_elems() + y_elems());
  }

  // Empty when valid, else one sentence naming the field and the rule it breaks.
  std::string validate() const;
  // Compact one-line description, e.g. "n=1 c_in=16 16x16 c_out=8 k=3x3 s=2x2 p=1x1 ...";
  // outside PyTorch's form, "pad=B:E,B:E (begin:end)" replaces pad and out_pad.
  std::string to_string() const;
};

// Largest element count of one tensor: the GPU kernels index elements with int32.
constexpr int64_t kMaxTensorElems = 2147483647;

}  // namespace tconv
