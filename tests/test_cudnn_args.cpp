// The cuDNN legacy call sites held to cuDNN's contract on the CPU: the REAL descriptors our code
// builds (dnn::build_dgrad for cudnn_algo*/cudnn_find, dnn::build_zero_insert_forward for
// zero_insert_cudnn) are read back through cuDNN's own Get functions, and what cuDNN documents
// for those parameters is executed by an fp64 host convolution that knows nothing but the
// read-back values: tensor dims and strides, the filter's dims and format (NCHW = KCRS,
// NHWC = KRSC), pads, strides, dilations, the convolution mode (CUDNN_CONVOLUTION flips the
// filter, CUDNN_CROSS_CORRELATION does not), the group count. The result must be ref::direct's
// within the bench's tolerance, so a wrong mode, a swapped pad, a wrong stride or filter format
// fails here. Data, compute and math types are compared with the documented contract of each
// dtype (tests/test_cudnn_impls.cpp checks the geometry functions and cuDNN's acceptance).
#include <cudnn.h>
#include <gtest/gtest.h>

#include <limits>

#include <random>
#include <string>
#include <vector>

#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/cudnn/cudnn_graph.hpp"
#include "tests/support/kernel_check.hpp"

namespace tconv {
namespace {

using testing::HostRun;

#define EXPECT_CUDNN_OK(call) ASSERT_EQ((call), CUDNN_STATUS_SUCCESS) << #call

struct TensorRB {
  cudnnDataType_t type;
  int dims[4], strides[4];
  int64_t elems() const { return int64_t(dims[0]) * dims[1] * dims[2] * dims[3]; }
  int64_t offset(int64_t a, int64_t b, int64_t c, int64_t d) const {
    return a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3];
  }
};
struct FilterRB {
  cudnnDataType_t type;
  cudnnTensorFormat_t format;
  int dims[4];  // K, C, R, S
  // cuDNN's packed filter formats: NCHW is KCRS, NHWC is KRSC.
  int64_t offset(int64_t k, int64_t c, int64_t r, int64_t s) const {
    const int64_t C = dims[1], R = dims[2], S = dims[3];
    return format == CUDNN_TENSOR_NHWC ? ((k * R + r) * S + s) * C + c
                                       : ((k * C + c) * R + r) * S + s;
  }
};
struct ConvRB {
  int pad[2], stride[2], dil[2];
  cudnnConvolutionMode_t mode;
  cudnnDataType_t compute;
  int groups;
  cudnnMathType_t math;
};
struct ReadBack {
  TensorRB in, out;
  FilterRB filter;
  ConvRB conv;
};

void read_tensor(cudnnTensorDescriptor_t d, TensorRB& t) {
  int nb = 0;
  EXPECT_CUDNN_OK(cudnnGetTensorNdDescriptor(d, 4, &t.type, &nb, t.dims, t.strides));
  ASSERT_EQ(nb, 4);
}

void read_back(const dnn::LegacyConv& d, ReadBack& rb) {
  read_tensor(d.in.get(), rb.in);
  read_tensor(d.out.get(), rb.out);
  int nb = 0;
  EXPECT_CUDNN_OK(cudnnGetFilterNdDescriptor(d.filter.get(), 4, &rb.filter.type,
                                             &rb.filter.format, &nb, rb.filter.dims));
  ASSERT_EQ(nb, 4);
  int len = 0;
  EXPECT_CUDNN_OK(cudnnGetConvolutionNdDescriptor(d.conv.get(), 2, &len, rb.conv.pad,
                                                  rb.conv.stride, rb.conv.dil, &rb.conv.mode,
                                                  &rb.conv.compute));
  ASSERT_EQ(len, 2);
  EXPECT_CUDNN_OK(cudnnGetConvolutionGroupCount(d.conv.get(), &rb.conv.groups));
  EXPECT_CUDNN_OK(cudnnGetConvolutionMathType(d.conv.get(), &rb.conv.math));
}

// The documented contract of each dtype, written out here rather than taken from dnn::data_type /
// dnn::math_type: storage type of the operands, fp32 accumulation, and tensor cores for tf32,
// fp16, bf16 but never for fp32 (CUDNN_DEFAULT_MATH would allow TF32 on Ampere and later).
void check_types(const ReadBack& rb, DType dt) {
  const cudnnDataType_t want = dt == DType::fp16   ? CUDNN_DATA_HALF
                               : dt == DType::bf16 ? CUDNN_DATA_BFLOAT16
                                                   : CUDNN_DATA_FLOAT;
  EXPECT_EQ(rb.in.type, want);
  EXPECT_EQ(rb.out.type, want);
  EXPECT_EQ(rb.filter.type, want);
  EXPECT_EQ(rb.conv.compute, CUDNN_DATA_FLOAT);
  if (dt == DType::fp32)
    EXPECT_EQ(rb.conv.math, CUDNN_FMA_MATH);
  else
    EXPECT_EQ(rb.conv.math, CUDNN_TENSOR_OP_MATH);
}

// cuDNN's forward convolution y = conv(x, w) over the read-back parameters, or (adjoint = true)
// its backward-data dx = conv^T(dy, w), where `x` is then dx and `y` is dy. The filter's K x C
// covers groups: input channel c of output k is (k / (K/groups)) * C + c.
void host_conv(const ReadBack& rb, const TensorRB& xd, const TensorRB& yd, std::vector<double>& x,
               const std::vector<double>& w, std::vector<double>& y, bool adjoint) {
  const int64_t N = xd.dims[0], C = xd.dims[1], H = xd.dims[2], W = xd.dims[3];
  const int64_t K = rb.filter.dims[0], Cg = rb.filter.dims[1], R = rb.filter.dims[2],
                S = rb.filter.dims[3];
  const int64_t P = yd.dims[2], Q = yd.dims[3];
  const int64_t groups = rb.conv.groups, Kg = K / groups;
  ASSERT_EQ(Cg * groups, C) << "filter C x groups != input channels";
  ASSERT_EQ(yd.dims[0], N);
  ASSERT_EQ(yd.dims[1], K);
  const bool flip = rb.conv.mode == CUDNN_CONVOLUTION;
  auto in_range = [](int64_t off, size_t size) { return off >= 0 && off < int64_t(size); };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t yo = yd.offset(n, k, p, q);
          ASSERT_TRUE(in_range(yo, y.size())) << "y offset outside the tensor";
          double acc = 0;
          for (int64_t cl = 0; cl < Cg; ++cl)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t h = p * rb.conv.stride[0] - rb.conv.pad[0] + r * rb.conv.dil[0];
                const int64_t ww = q * rb.conv.stride[1] - rb.conv.pad[1] + s * rb.conv.dil[1];
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                const int64_t xo = xd.offset(n, (k / Kg) * Cg + cl, h, ww);
                const int64_t wo =
                    flip ? rb.filter.offset(k, cl, R - 1 - r, S - 1 - s) : rb.filter.offset(k, cl, r, s);
                ASSERT_TRUE(in_range(xo, x.size())) << "x offset outside the tensor";
                ASSERT_TRUE(in_range(wo, w.size())) << "w offset outside the tensor";
                if (adjoint)
                  x[size_t(xo)] += y[size_t(yo)] * w[size_t(wo)];
                else
                  acc += x[size_t(xo)] * w[size_t(wo)];
              }
          if (!adjoint) y[size_t(yo)] = acc;
        }
}

// What cuDNN documents for the scaling of a convolution call: y = alpha * op + beta * y_prior,
// and with beta = 0 y_prior is not read. y_prior is NaN (the harness poisons y), so a beta that
// reads it, or an alpha other than what the operation needs, fails the comparison.
void apply_scaling(const dnn::Scaling& sc, std::vector<double>& op_result) {
  const double prior = std::numeric_limits<double>::quiet_NaN();
  for (double& v : op_result)
    v = double(sc.alpha) * v + (sc.beta == 0.0f ? 0.0 : double(sc.beta) * prior);
}

const DType kTypes[] = {DType::fp32, DType::tf32, DType::fp16, DType::bf16};

Problem no_bias_problem(std::mt19937_64& rng, int i) {
  Problem p = testing::cpu_run_problem(rng, i);
  p.has_bias = false;  // the bias is a separate pass (dnn::add_bias), not part of these calls
  return p;
}

// cudnn_algo*/cudnn_find: cudnnConvolutionBackwardData(w, dy = x, conv, dx = y).
TEST(CudnnArgs, BackwardDataDescriptorsExecuteAsTheTransposedConv) {
  std::mt19937_64 rng(501);
  int checked = 0, grouped = 0, dilated = 0;
  for (int i = 0; checked < testing::kCpuRunProblems; ++i) {
    const Problem p = no_bias_problem(rng, i);
    if (!dnn::dgrad_shape_support(p).ok) continue;  // refused as not_supported before any call
    ++checked;
    grouped += p.groups > 1;
    dilated += p.dil_h > 1 || p.dil_w > 1;
    for (DType dt : kTypes)
      for (bool nhwc : {false, true}) {
        const Config cfg{dt, nhwc ? Layout::nhwc : Layout::nchw};
        dnn::LegacyConv d;
        dnn::build_dgrad(d, p, cfg);
        ReadBack rb;
        read_back(d, rb);
        if (HasFatalFailure()) return;
        check_types(rb, dt);
        HostRun r = testing::make_run(p, dt, nhwc, rng);
        std::vector<double> dy = convert::from_storage(dt, r.xs.data(), size_t(p.x_elems()));
        const std::vector<double> w = convert::from_storage(dt, r.ws.data(), size_t(p.w_elems()));
        ASSERT_EQ(rb.in.elems(), p.x_elems());
        ASSERT_EQ(rb.out.elems(), p.y_elems());
        std::vector<double> dx(size_t(p.y_elems()), 0.0);
        host_conv(rb, rb.out, rb.in, dx, w, dy, true);
        if (HasFatalFailure()) return;
        apply_scaling(dnn::conv_scaling(), dx);
        r.ys = convert::to_storage(dt, dx.data(), dx.size());
        ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
      }
  }
  EXPECT_GT(grouped, 0);
  EXPECT_GT(dilated, 0);
}

// zero_insert_cudnn: cudnnConvolutionForward(z, w flipped, conv, y) on the zero-inserted image
// and the explicitly flipped weight, both built by the production index maps.
TEST(CudnnArgs, ZeroInsertForwardDescriptorsExecuteAsTheTransposedConv) {
  std::mt19937_64 rng(502);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = no_bias_problem(rng, i);
    for (DType dt : kTypes)
      for (bool nhwc : {false, true}) {
        const Config cfg{dt, nhwc ? Layout::nhwc : Layout::nchw};
        dnn::LegacyConv d;
        dnn::build_zero_insert_forward(d, p, cfg);
        ReadBack rb;
        read_back(d, rb);
        if (HasFatalFailure()) return;
        check_types(rb, dt);
        HostRun r = testing::make_run(p, dt, nhwc, rng);
        const std::vector<double> x = convert::from_storage(dt, r.xs.data(), size_t(p.x_elems()));
        const std::vector<double> w = convert::from_storage(dt, r.ws.data(), size_t(p.w_elems()));
        std::vector<double> z(size_t(rb.in.elems()));
        for (int64_t e = 0; e < int64_t(z.size()); ++e) {
          const int64_t src = dnn::zero_insert_source_index<int64_t>(p, nhwc, e);
          z[size_t(e)] = src >= 0 ? x[size_t(src)] : 0.0;
        }
        std::vector<double> wz(w.size());
        for (int64_t e = 0; e < int64_t(wz.size()); ++e)
          wz[size_t(e)] = w[size_t(dnn::flipped_weight_source_index<int64_t>(p, nhwc, e))];
        ASSERT_EQ(rb.out.elems(), p.y_elems());
        std::vector<double> y(size_t(p.y_elems()), 0.0);
        host_conv(rb, rb.in, rb.out, z, wz, y, false);
        if (HasFatalFailure()) return;
        apply_scaling(dnn::conv_scaling(), y);
        r.ys = convert::to_storage(dt, y.data(), y.size());
        ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
      }
  }
}

// The host convolution itself must see the mode: the same descriptors with the mode switched to
// CUDNN_CONVOLUTION give a different answer on a problem with an asymmetric kernel.
TEST(CudnnArgs, HostConvolutionDistinguishesTheModes) {
  Problem p;
  p.c_in = 2, p.c_out = 3, p.h_in = 4, p.w_in = 5, p.k_h = 3, p.k_w = 2, p.stride_h = 2;
  const Config cfg{DType::fp32, Layout::nchw};
  dnn::LegacyConv d;
  dnn::build_dgrad(d, p, cfg);
  ReadBack rb;
  read_back(d, rb);
  ASSERT_EQ(rb.conv.mode, CUDNN_CROSS_CORRELATION);
  std::mt19937_64 rng(503);
  HostRun r = testing::make_run(p, DType::fp32, false, rng);
  std::vector<double> dy = r.x;
  std::vector<double> dx(size_t(p.y_elems()), 0.0);
  rb.conv.mode = CUDNN_CONVOLUTION;
  host_conv(rb, rb.out, rb.in, dx, r.w, dy, true);
  r.ys = convert::to_storage(DType::fp32, dx.data(), dx.size());
  EXPECT_NE(testing::judge(r), "");
}

// cudnn_graph: the frontend's conv_dgrad node. Every attribute the graph holds after validate()
// (the tensors' dims and strides, pre/post padding, stride, dilation, mode; groups implied by
// dx's channels over w's) is read back and executed by an fp64 host backward-data that knows
// nothing else, against ref::direct. A swapped stride, a wrong padding or a transposed weight
// layout in make_dgrad_graph then fails on the CPU.
TEST(CudnnArgs, FrontendGraphAttributesExecuteAsTheTransposedConv) {
  std::mt19937_64 rng(503);
  int checked = 0;
  for (int i = 0; checked < testing::kCpuRunProblems; ++i) {
    const Problem p = no_bias_problem(rng, i);
    if (!dnn::dgrad_shape_support(p).ok) continue;
    ++checked;
    for (DType dt : kTypes)
      for (bool nhwc : {false, true}) {
        dnn::DgradGraph g = dnn::make_dgrad_graph(p, {dt, nhwc ? Layout::nhwc : Layout::nchw}, 16);
        const dnn::fe::error_t e = g.graph->validate();
        ASSERT_TRUE(e.is_good()) << e.err_msg;
        const auto dyd = g.dy->get_dim(), dys = g.dy->get_stride();
        const auto wd = g.w->get_dim(), ws = g.w->get_stride();
        const auto dxd = g.dx->get_dim(), dxs = g.dx->get_stride();
        const auto pre = g.conv.get_pre_padding(), post = g.conv.get_post_padding();
        const auto st = g.conv.get_stride(), dil = g.conv.get_dilation();
        ASSERT_EQ(g.conv.get_convolution_mode(), dnn::fe::ConvolutionMode_t::CROSS_CORRELATION);
        ASSERT_EQ(pre, post) << "asymmetric padding is not a transposed conv of ours";
        const int64_t K = wd[0], Cg = wd[1], R = wd[2], S = wd[3];
        ASSERT_EQ(dyd[1], K);
        const int64_t groups = dxd[1] / Cg, Kg = K / groups;
        HostRun r = testing::make_run(p, dt, nhwc, rng);
        const std::vector<double> dy = convert::from_storage(dt, r.xs.data(), size_t(p.x_elems()));
        const std::vector<double> w = convert::from_storage(dt, r.ws.data(), size_t(p.w_elems()));
        std::vector<double> dx(size_t(p.y_elems()), 0.0);
        auto at = [](const std::vector<int64_t>& strides, int64_t a, int64_t b, int64_t c, int64_t d) {
          return size_t(a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3]);
        };
        // dgrad is the adjoint of the forward conv dx -> dy: every (dy pixel, tap) adds into the
        // dx pixel the forward conv would have read.
        for (int64_t n = 0; n < dyd[0]; ++n)
          for (int64_t k = 0; k < K; ++k)
            for (int64_t q = 0; q < dyd[2]; ++q)
              for (int64_t v = 0; v < dyd[3]; ++v)
                for (int64_t c = 0; c < Cg; ++c)
                  for (int64_t rr = 0; rr < R; ++rr)
                    for (int64_t ss = 0; ss < S; ++ss) {
                      const int64_t h = q * st[0] - pre[0] + rr * dil[0];
                      const int64_t x = v * st[1] - pre[1] + ss * dil[1];
                      if (h < 0 || h >= dxd[2] || x < 0 || x >= dxd[3]) continue;
                      dx[at(dxs, n, (k / Kg) * Cg + c, h, x)] +=
                          dy[at(dys, n, k, q, v)] * w[at(ws, k, c, rr, ss)];
                    }
        r.ys = convert::to_storage(dt, dx.data(), dx.size());
        ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
      }
  }
}

}  // namespace
}  // namespace tconv
