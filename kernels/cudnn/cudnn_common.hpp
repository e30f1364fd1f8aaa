// Shared plumbing for the cuDNN implementations (cudnn_legacy.cu, cudnn_find.cu, cudnn_graph.cu,
// zero_insert_cudnn.cu): tensor geometry, dtype/math mapping, legacy descriptors (RAII), status
// classification, the zero-insertion and weight-flip index maps, and a bias-add kernel.
//
// The mapping everything rests on: a transposed convolution IS cuDNN's convolution backward-data.
// The forward convolution it is the adjoint of takes a y-shaped tensor (N, C_out, H_out, W_out)
// to an x-shaped one (N, C_in, H_in, W_in) with filter K=C_in, C=C_out/groups, R=k_h, S=k_w,
// which is PyTorch's ConvTranspose2d weight as stored (KCRS for nchw, KRSC for nhwc). So
//   dy = our x,  w = our weight,  dx = our y.
// cuDNN sizes the forward output with floor division; output_padding rows fall inside dx and are
// handled as long as that forward output of (H_out, W_out) is exactly (H_in, W_in), which holds
// unless output_padding >= stride (possible in PyTorch only when dilation > stride).
//
// Everything above the __CUDACC__ line is plain host C++ so tests/test_cudnn_impls.cpp checks the
// geometry and index maps on the CPU against the fp64 references.
#pragma once

#include <cudnn.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/hd.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/common/index_math.hpp"
#include "kernels/common/row_util.hpp"
#include "kernels/cudnn/cudnn_check.hpp"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/common/gpu_context.hpp"
#endif

namespace tconv::dnn {

// ---- Geometry ------------------------------------------------------------------------------
// cuDNN describes every 4-D tensor by dims in (N, C, H, W) order (filters: (K, C, R, S)) plus a
// stride per dim; the layout only changes the strides.
struct Geometry {
  std::array<int64_t, 4> dims{};
  std::array<int64_t, 4> strides{};
  int64_t elems() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
  // Element offset of logical index (a, b, c, d) = (n, c, h, w) or (k, c, r, s).
  int64_t offset(int64_t a, int64_t b, int64_t c, int64_t d) const {
    return a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3];
  }
};

// Activations: nchw packed (N,C,H,W); nhwc packed (N,H,W,C).
inline Geometry activation_geometry(int64_t n, int64_t c, int64_t h, int64_t w, Layout l) {
  Geometry g;
  g.dims = {n, c, h, w};
  if (l == Layout::nchw)
    g.strides = {c * h * w, h * w, w, 1};
  else
    g.strides = {h * w * c, 1, w * c, c};
  return g;
}

// Filters: nchw is KCRS, nhwc is KRSC (cuDNN's CUDNN_TENSOR_NHWC filter format).
inline Geometry filter_geometry(int64_t k, int64_t c, int64_t r, int64_t s, Layout l) {
  Geometry g;
  g.dims = {k, c, r, s};
  if (l == Layout::nchw)
    g.strides = {c * r * s, r * s, s, 1};
  else
    g.strides = {r * s * c, 1, s * c, c};
  return g;
}

// The three operands of the backward-data formulation.
inline Geometry dgrad_dy(const Problem& p, Layout l) {
  return activation_geometry(p.n, p.c_in, p.h_in, p.w_in, l);
}
inline Geometry dgrad_w(const Problem& p, Layout l) {
  return filter_geometry(p.c_in, p.c_out_per_group(), p.k_h, p.k_w, l);
}
inline Geometry dgrad_dx(const Problem& p, Layout l) {
  return activation_geometry(p.n, p.c_out, p.h_out(), p.w_out(), l);
}

// The zero-inserted image: h_out + dil*(k-1) positions per dimension
// (kernels/common/index_math.hpp).
TCONV_HD int64_t zero_insert_h(const Problem& p) {
  return p.h_out() + p.dil_h * (p.k_h - 1);
}
TCONV_HD int64_t zero_insert_w(const Problem& p) {
  return p.w_out() + p.dil_w * (p.k_w - 1);
}

// The three operands of the zero-insertion formulation: a stride-1, pad-0, dilated forward
// convolution of the zero-inserted image with the flipped, channel-swapped weight.
inline Geometry zi_input(const Problem& p, Layout l) {
  return activation_geometry(p.n, p.c_in, zero_insert_h(p), zero_insert_w(p), l);
}
inline Geometry zi_filter(const Problem& p, Layout l) {
  return filter_geometry(p.c_out, p.c_in_per_group(), p.k_h, p.k_w, l);
}
inline Geometry zi_output(const Problem& p, Layout l) {
  return activation_geometry(p.n, p.c_out, p.h_out(), p.w_out(), l);
}

// cuDNN's forward output size: floor((in + 2*pad - dil*(k-1) - 1) / stride) + 1.
inline int64_t forward_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// Backward-data can express the problem iff the forward convolution of a y-sized image gives
// exactly x's size. Its convolution descriptor has one padding per axis for both ends, so begin/end
// padding outside PyTorch's (padding, output_padding) form cannot be said at all.
inline std::string begin_end_text(const Problem& p) {
  return std::to_string(p.pad_begin_h()) + ":" + std::to_string(p.pad_end_h()) + "," +
         std::to_string(p.pad_begin_w()) + ":" + std::to_string(p.pad_end_w());
}
inline Support dgrad_shape_support(const Problem& p) {
  if (!p.pytorch_pads())
    return Support::no(
        "cuDNN legacy backward-data takes symmetric padding (one value per axis); "
        "begin:end padding " +
        begin_end_text(p) + " is not padding plus an output_padding below max(stride, dilation)");
  const int64_t fh = forward_out_size(p.h_out(), p.k_h, p.pad_h, p.stride_h, p.dil_h);
  const int64_t fw = forward_out_size(p.w_out(), p.k_w, p.pad_w, p.stride_w, p.dil_w);
  if (fh != p.h_in || fw != p.w_in)
    return Support::no(
        "cuDNN backward-data cannot express output_padding >= stride: the "
        "forward conv of " +
        std::to_string(p.h_out()) + "x" + std::to_string(p.w_out()) + " gives " +
        std::to_string(fh) + "x" + std::to_string(fw) + ", not " + std::to_string(p.h_in) + "x" +
        std::to_string(p.w_in));
  return Support::yes();
}

// fp32, tf32, fp16, bf16 in nchw or nhwc; fp64 is for the CPU references.
inline Support dtype_support(const Config& cfg) {
  if (cfg.dtype == DType::fp64)
    return Support::no("dtype fp64 not implemented (cuDNN rows: fp32, tf32, fp16, bf16)");
  return Support::yes();
}

// can_implement of the backward-data rows (cudnn_algo*, cudnn_find, cudnn_graph).
inline Support dgrad_support(const Problem& p, const Config& cfg) {
  Support s = dtype_support(cfg);
  if (!s.ok) return s;
  return dgrad_shape_support(p);
}

// Operations the zero-insertion forward convolution executes per useful operation:
// (C_out * H_out * W_out * C_in/g * k_h * k_w) / (C_in * H_in * W_in * C_out/g * k_h * k_w),
// which is H_out*W_out / (H_in*W_in), about stride_h*stride_w.
inline double zero_insert_work_ratio(const Problem& p) {
  const double conv_flops = 2.0 * double(p.n) * double(p.c_out) * double(p.h_out()) *
                            double(p.w_out()) * double(p.c_in_per_group()) * double(p.k_h) *
                            double(p.k_w);
  return conv_flops / p.flops();
}

// ---- Index maps of the zero-insertion method -----------------------------------------------
// Templated on the index type: the kernels use int (z and x are within int32 indexing, checked
// in prepare) because 64-bit division is several times slower on the GPU; the CPU tests run both.

// Flat index into x of the value at flat index e of the zero-inserted image (same layout), or -1
// for an inserted or padding zero.
template <typename I>
TCONV_HD I zero_insert_source_index(const Problem& p, bool nhwc, I e) {
  const I zh = I(zero_insert_h(p)), zw = I(zero_insert_w(p)), c = I(p.c_in);
  const I h_in = I(p.h_in), w_in = I(p.w_in);
  I n, ch, zy, zx;
  if (nhwc) {
    ch = e % c;
    const I pix = e / c;
    zx = pix % zw;
    zy = (pix / zw) % zh;
    n = pix / zw / zh;
  } else {
    zx = e % zw;
    const I row = e / zw;
    zy = row % zh;
    const I plane = row / zh;
    ch = plane % c;
    n = plane / c;
  }
  const int iy = idx::zero_insert_source(int(zy), idx::dim_h(p));
  const int ix = idx::zero_insert_source(int(zx), idx::dim_w(p));
  if (iy < 0 || ix < 0) return I(-1);
  return nhwc ? ((n * h_in + I(iy)) * w_in + I(ix)) * c + ch
              : ((n * c + ch) * h_in + I(iy)) * w_in + I(ix);
}

// The zero-insertion weight wz (C_out, C_in/g, k_h, k_w) [nhwc: (C_out, k_h, k_w, C_in/g)] is the
// transposed-convolution weight with its channel axes swapped within each group and both spatial
// axes flipped:  wz[g*cog + j, cl, ky, kx] = w[g*cig + cl, j, k_h-1-ky, k_w-1-kx].
// Returns the flat index into w (its own layout) of wz's flat element e.
template <typename I>
TCONV_HD I flipped_weight_source_index(const Problem& p, bool nhwc, I e) {
  const I kh = I(p.k_h), kw = I(p.k_w), cig = I(p.c_in_per_group()), cog = I(p.c_out_per_group());
  I co, cl, ky, kx;
  if (nhwc) {
    cl = e % cig;
    kx = (e / cig) % kw;
    ky = (e / (cig * kw)) % kh;
    co = e / (cig * kw * kh);
  } else {
    kx = e % kw;
    ky = (e / kw) % kh;
    cl = (e / (kw * kh)) % cig;
    co = e / (kw * kh * cig);
  }
  const I g = co / cog, j = co % cog, ci = g * cig + cl;
  const I fy = kh - 1 - ky, fx = kw - 1 - kx;
  return nhwc ? ((ci * kh + fy) * kw + fx) * cog + j : ((ci * cog + j) * kh + fy) * kw + fx;
}

// Channel of y's flat element e (bias add; y is within int32 indexing).
template <typename I>
TCONV_HD I output_channel(const Problem& p, bool nhwc, I e) {
  return nhwc ? e % I(p.c_out) : (e / I(p.h_out() * p.w_out())) % I(p.c_out);
}

// ---- dtype and math ------------------------------------------------------------------------
inline cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::fp16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    case DType::fp64:
      return CUDNN_DATA_DOUBLE;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

// fp32 must not use tensor cores (CUDNN_DEFAULT_MATH allows TF32 on Ampere and later, FMA does
// not). tf32 asks for tensor ops but not ALLOW_CONVERSION, which may down-convert fp32 to fp16.
inline cudnnMathType_t math_type(DType t) {
  return t == DType::fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

// Whether a math type cuDNN reports (cudnnFind*) respects the dtype's precision contract.
inline bool math_type_allowed(DType t, cudnnMathType_t m) {
  if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  if (t == DType::fp32) return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
  return true;
}

inline const char* math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH:
      return "default";
    case CUDNN_TENSOR_OP_MATH:
      return "tensor_op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return "tensor_op_allow_conversion";
    case CUDNN_FMA_MATH:
      return "fma";
  }
  return "?";
}

inline const char* bwd_data_algo_name(cudnnConvolutionBwdDataAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED";
    default:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_?";
  }
}

inline const char* fwd_algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
      return "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
      return "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
      return "CUDNN_CONVOLUTION_FWD_ALGO_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT:
      return "CUDNN_CONVOLUTION_FWD_ALGO_DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT:
      return "CUDNN_CONVOLUTION_FWD_ALGO_FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
      return "CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD:
      return "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED:
      return "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED";
    default:
      return "CUDNN_CONVOLUTION_FWD_ALGO_?";
  }
}

// ---- Status --------------------------------------------------------------------------------
// cuDNN's own words for a failure: the status name plus the thread's last error message (one
// line, bounded so it fits a CSV cell). Every path that turns a status into a row's reason goes
// through here or is_refusal, so both first stop the run on a broken installation (FatalError).
inline std::string describe_status(cudnnStatus_t st) {
  throw_if_cudnn_fatal(st, "a cuDNN call");
  std::string s = cudnnGetErrorString(st);
  char buf[1024] = {0};
  cudnnGetLastErrorString(buf, sizeof(buf));
  std::string last(buf);
  for (char& ch : last)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  while (!last.empty() && last.back() == ' ') last.pop_back();
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  if (!last.empty()) s += " (" + last + ")";
  return s;
}

// Statuses that mean "cuDNN does not do this configuration" rather than a broken call: the
// NOT_SUPPORTED family and the BAD_PARAM values cuDNN uses for unsupported shapes and types
// (the legacy API reports e.g. FFT with dilation as BAD_PARAM). Pointer, finalization and
// attribute-type errors are our bugs and stay errors.
inline bool is_refusal(cudnnStatus_t st) {
  throw_if_cudnn_fatal(st, "a cuDNN call");
  const int cat = int(st) / 1000 * 1000;
  if (cat == int(CUDNN_STATUS_NOT_SUPPORTED)) return true;
  if (cat != int(CUDNN_STATUS_BAD_PARAM)) return false;
  switch (st) {
    case CUDNN_STATUS_BAD_PARAM_NULL_POINTER:
    case CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER:
    case CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED:
    case CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH:
    case CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE:
    case CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE:
      return false;
    default:
      return true;
  }
}

// Throws NotSupported ("<what>: <cuDNN's reason>") for a refusal, tconv::Error otherwise.
[[noreturn]] inline void throw_status(cudnnStatus_t st, const std::string& what) {
  const std::string msg = what + ": " + describe_status(st);
  if (is_refusal(st)) throw NotSupported(msg);
  throw Error(msg);
}

}  // namespace tconv::dnn

// A cuDNN call whose refusal makes the row not_supported (any other failure is an error).
#define TCONV_CUDNN_REFUSABLE(call, what)                                                 \
  do {                                                                                    \
    cudnnStatus_t tconv_st_ = (call);                                                     \
    if (tconv_st_ != CUDNN_STATUS_SUCCESS) ::tconv::dnn::throw_status(tconv_st_, (what)); \
  } while (0)

namespace tconv::dnn {

// The helpers every library row shares (kernels/common/row_util.hpp).
using ::tconv::mib;
using ::tconv::try_allocate;

// ---- RAII legacy descriptors ---------------------------------------------------------------
class TensorDesc {
 public:
  TensorDesc() { TCONV_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  // Explicit strides: the same numbers the graph API and the CPU tests use.
  void set(const Geometry& g, DType t) {
    TCONV_CUDNN_REFUSABLE(
        cudnnSetTensor4dDescriptorEx(d_, data_type(t), int(g.dims[0]), int(g.dims[1]),
                                     int(g.dims[2]), int(g.dims[3]), int(g.strides[0]),
                                     int(g.strides[1]), int(g.strides[2]), int(g.strides[3])),
        "cudnnSetTensor4dDescriptorEx");
  }
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc() { TCONV_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_)); }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  // Filters take a format, not strides: NCHW = KCRS, NHWC = KRSC (filter_geometry's strides).
  void set(const Geometry& g, DType t, Layout l) {
    TCONV_CUDNN_REFUSABLE(
        cudnnSetFilter4dDescriptor(d_, data_type(t),
                                   l == Layout::nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                   int(g.dims[0]), int(g.dims[1]), int(g.dims[2]), int(g.dims[3])),
        "cudnnSetFilter4dDescriptor");
  }
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc() { TCONV_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d_); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  // Cross-correlation, fp32 accumulation for every storage dtype.
  void set(int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w, int64_t dil_h,
           int64_t dil_w, int64_t groups, cudnnMathType_t math) {
    TCONV_CUDNN_REFUSABLE(cudnnSetConvolution2dDescriptor(
                              d_, int(pad_h), int(pad_w), int(stride_h), int(stride_w), int(dil_h),
                              int(dil_w), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                          "cudnnSetConvolution2dDescriptor");
    TCONV_CUDNN_REFUSABLE(cudnnSetConvolutionGroupCount(d_, int(groups)),
                          "cudnnSetConvolutionGroupCount");
    set_math(math);
  }
  void set_math(cudnnMathType_t math) {
    TCONV_CUDNN_REFUSABLE(cudnnSetConvolutionMathType(d_, math), "cudnnSetConvolutionMathType");
    math_ = math;
  }
  cudnnMathType_t math() const { return math_; }
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
  cudnnMathType_t math_ = CUDNN_DEFAULT_MATH;
};

// Descriptors of one legacy convolution call. For backward-data: `in` = dy (our x), `out` = dx
// (our y). For the zero-insertion forward: `in` = the zero-inserted image, `out` = y.
struct LegacyConv {
  TensorDesc in, out;
  FilterDesc filter;
  ConvDesc conv;
};

// Checks the forward output of `fwd_in` through conv/filter is `fwd_out`: the invariant both
// formulations rely on (cuDNN would otherwise reject or mis-size the call).
inline void check_forward_dims(const LegacyConv& d, const TensorDesc& fwd_in,
                               const Geometry& fwd_out) {
  int n = 0, c = 0, h = 0, w = 0;
  TCONV_CUDNN_REFUSABLE(cudnnGetConvolution2dForwardOutputDim(d.conv.get(), fwd_in.get(),
                                                              d.filter.get(), &n, &c, &h, &w),
                        "cudnnGetConvolution2dForwardOutputDim");
  if (n != fwd_out.dims[0] || c != fwd_out.dims[1] || h != fwd_out.dims[2] || w != fwd_out.dims[3])
    throw NotSupported("cuDNN's forward output is " + std::to_string(n) + "x" + std::to_string(c) +
                       "x" + std::to_string(h) + "x" + std::to_string(w) + ", expected " +
                       std::to_string(fwd_out.dims[0]) + "x" + std::to_string(fwd_out.dims[1]) +
                       "x" + std::to_string(fwd_out.dims[2]) + "x" +
                       std::to_string(fwd_out.dims[3]));
}

// Backward-data descriptors for the transposed convolution p.
inline void build_dgrad(LegacyConv& d, const Problem& p, const Config& cfg) {
  d.in.set(dgrad_dy(p, cfg.layout), cfg.dtype);
  d.out.set(dgrad_dx(p, cfg.layout), cfg.dtype);
  d.filter.set(dgrad_w(p, cfg.layout), cfg.dtype, cfg.layout);
  d.conv.set(p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dil_h, p.dil_w, p.groups,
             math_type(cfg.dtype));
  // The forward conv runs dx -> dy.
  check_forward_dims(d, d.out, dgrad_dy(p, cfg.layout));
}

// Zero-insertion forward descriptors: stride 1, pad 0, dilation as in p.
inline void build_zero_insert_forward(LegacyConv& d, const Problem& p, const Config& cfg) {
  d.in.set(zi_input(p, cfg.layout), cfg.dtype);
  d.out.set(zi_output(p, cfg.layout), cfg.dtype);
  d.filter.set(zi_filter(p, cfg.layout), cfg.dtype, cfg.layout);
  d.conv.set(0, 0, 1, 1, p.dil_h, p.dil_w, p.groups, math_type(cfg.dtype));
  check_forward_dims(d, d.in, zi_output(p, cfg.layout));
}

// ---- Scaling of the convolution calls ------------------------------------------------------
// cuDNN's convolution calls compute y = alpha * op(...) + beta * y, with float alpha/beta for
// float, half and bfloat16 data. beta = 0: cuDNN documents that y is then not read, so the
// NaN-poisoned y is simply overwritten. The bias is a separate pass, never beta = 1.
struct Scaling {
  float alpha, beta;
};
inline Scaling conv_scaling() {
  return {1.0f, 0.0f};
}

// ---- Algorithm search (cudnnFind*AlgorithmEx) ----------------------------------------------
// What the search's workspace may take: the budget, but never the last bytes of the device.
// cuDNN allocates for itself during a search even with the Ex variants (kernel modules loaded
// lazily on first launch, runtime-compiled engines, the FFT algorithms' internal plans), and when
// a workspace sized to the last free byte starves it, cudnnFind reports the best algorithms as
// failed (ALLOC_FAILED), which would read as "not supported". Headroom: 1 GiB or 5% of the
// device, whichever is more (about 7 GB on a 141 GB H200, far above what those need).
inline size_t search_workspace_cap(size_t budget, size_t free_bytes, size_t total_bytes) {
  const size_t headroom = std::max<size_t>(size_t(1) << 30, total_bytes / 20);
  const size_t usable = free_bytes > headroom ? free_bytes - headroom : 0;
  return std::min(budget, usable);
}
inline size_t search_workspace_cap(size_t budget) {
  size_t free_b = 0, total_b = 0;
  TCONV_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return search_workspace_cap(budget, free_b, total_b);
}

// Workspace for the search: the most any of the `count` algorithms asks for (query(a, &bytes)
// returns cuDNN's status; algorithms it refuses are ignored).
template <typename Query>
size_t search_workspace_want(int count, Query&& query) {
  size_t want = 0;
  for (int a = 0; a < count; ++a) {
    size_t bytes = 0;
    if (query(a, &bytes) == CUDNN_STATUS_SUCCESS) want = std::max(want, bytes);
  }
  return want;
}

// The results of a search come sorted by time: tries them in that order until one runs.
// Skips failed entries, those needing more than the `ws` bytes the search had and math types
// that break the dtype's contract; sets conv's math (fp32 keeps `requested` whatever label Find
// gave: DEFAULT would allow TF32), then try_run(r), which throws NotSupported when cuDNN refuses
// r at run time. Returns when one ran; throws NotSupported with every status when none did.
// `kind` ("backward-data", "forward") and algo_name only word that message.
template <typename Perf, typename AlgoName, typename TryRun>
void run_first_found(const std::vector<Perf>& perf, int returned, size_t ws, DType t,
                     ConvDesc& conv, cudnnMathType_t requested, const char* kind,
                     AlgoName&& algo_name, TryRun&& try_run) {
  std::string refused;
  for (int i = 0; i < returned; ++i) {
    const Perf& r = perf[size_t(i)];
    throw_if_cudnn_fatal(r.status, std::string("cudnnFind (") + kind + ")");
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > ws) continue;
    if (!math_type_allowed(t, r.mathType)) continue;
    conv.set_math(t == DType::fp32 ? requested : r.mathType);
    try {
      try_run(r);
    } catch (const NotSupported& e) {
      refused += std::string(refused.empty() ? "" : "; ") + e.what();
      continue;
    }
    return;
  }
  std::string statuses;
  for (int i = 0; i < returned; ++i)
    statuses += std::string(i ? ", " : "") + algo_name(perf[size_t(i)].algo) + "=" +
                cudnnGetErrorString(perf[size_t(i)].status);
  throw NotSupported(std::string("cudnnFind: no ") + kind + " algorithm usable (" + statuses +
                     (refused.empty() ? "" : "; " + refused) + ")");
}

// The legacy heuristics' answer (cudnnGetConvolution*Algorithm_v7: best first, no timing) as a
// preference order: the indices of the entries that succeeded and whose math type keeps the
// dtype's contract, in cuDNN's order. PyTorch with cudnn.benchmark off takes the first of them
// whose workspace it can allocate; the harness does the same (PlanChoice::first_that_fits).
// A fatal status in any entry throws.
template <typename Perf>
std::vector<int> heuristic_order(const std::vector<Perf>& perf, int returned, DType t) {
  std::vector<int> order;
  for (int i = 0; i < returned && i < int(perf.size()); ++i) {
    const Perf& r = perf[size_t(i)];
    throw_if_cudnn_fatal(r.status, "cuDNN heuristics");
    if (r.status == CUDNN_STATUS_SUCCESS && math_type_allowed(t, r.mathType)) order.push_back(i);
  }
  return order;
}

// The algo() suffix of a searched row: Find's own time and the kept workspace.
inline std::string find_note(float time_ms, size_t ws_bytes) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), " (find: %.4f ms, ws %s)", double(time_ms),
                mib(ws_bytes).c_str());
  return buf;
}

}  // namespace tconv::dnn

#if defined(__CUDACC__)
#include "kernels/cudnn/cudnn_kernels.cuh"
// ---- Device side: dtype dispatch and the bias add ------------------------------------------
// In an anonymous namespace: every .cu file that includes this gets its own kernels, so there is
// no cross-module symbol to resolve (the library is built without separable compilation).
namespace tconv::dnn {
namespace {

template <typename F>
inline void dispatch_storage(DType t, F&& f) {
  ::tconv::dispatch_storage(t, "cuDNN implementations", std::forward<F>(f));
}

// The bias pass after the library call (kernels/common/bias_add.cuh).
inline void add_bias(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) {
  ::tconv::add_bias(ctx, p, cfg, t, "cuDNN implementations");
}

// The backward-data call of cudnn_algo* and cudnn_find, then the bias pass. refusable: a cuDNN
// refusal becomes NotSupported (the untimed trial in prepare) instead of an error.
inline void run_backward_data(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t,
                              const LegacyConv& d, cudnnConvolutionBwdDataAlgo_t algo,
                              void* workspace, size_t ws_bytes, bool refusable) {
  const Scaling sc = conv_scaling();
  const cudnnStatus_t st = cudnnConvolutionBackwardData(
      ctx.cudnn(), &sc.alpha, d.filter.get(), t.w, d.in.get(), t.x, d.conv.get(), algo, workspace,
      ws_bytes, &sc.beta, d.out.get(), t.y);
  if (st != CUDNN_STATUS_SUCCESS) {
    const std::string what =
        std::string("cudnnConvolutionBackwardData with ") + bwd_data_algo_name(algo);
    if (refusable) throw_status(st, what);
    throw Error(what + ": " + describe_status(st));
  }
  add_bias(ctx, p, cfg, t);
}

}  // namespace
}  // namespace tconv::dnn
#endif
