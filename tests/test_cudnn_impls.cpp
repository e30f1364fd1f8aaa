// The cuDNN implementations (kernels/cudnn/*.cu, kernels/zero_insert/zero_insert_cudnn.cu).
//
// CPU: everything those files compute themselves is checked against the fp64 references on
// random valid problems in both layouts: the tensor geometry handed to cuDNN (dims/strides),
// the claim that cuDNN's backward-data with dy = x, w = weight, dx = y IS the transposed
// convolution (emulated literally from cuDNN's forward-convolution definition over that
// geometry), the zero-insertion and weight-flip index maps followed by an emulated stride-1
// forward convolution, the bias channel map, status classification and can_implement; the
// cuDNN-frontend graph of cudnn_graph read back from the frontend's attribute objects, lowered to
// cuDNN's backend without a GPU, its precision filters and its error classification.
// GPU (suites Gpu*): each legacy algorithm either matches ref::direct or is refused as
// not_supported; cudnn_find, cudnn_graph and zero_insert_cudnn match ref::direct in every dtype
// and layout (or say not_supported), and overwrite a NaN-poisoned y completely.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/convert.hpp"
#include "bench/harness.hpp"
#include "bench/tolerance.hpp"
#include "core/problem.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/cudnn/cudnn_graph.hpp"
#include "reference/reference.hpp"
#include "tests/test_util.hpp"

namespace tconv {
namespace {

using dnn::Geometry;

constexpr Layout kLayouts[] = {Layout::nchw, Layout::nhwc};

// x (N,C_in,H,W) and w (C_in,C_out/g,k_h,k_w) as the layout stores them.
std::vector<double> x_in_layout(const Problem& p, const std::vector<double>& x, Layout l) {
  return l == Layout::nchw ? x : convert::nchw_to_nhwc(x.data(), p.n, p.c_in, p.h_in, p.w_in);
}
std::vector<double> w_in_layout(const Problem& p, const std::vector<double>& w, Layout l) {
  return l == Layout::nchw
             ? w
             : convert::nchw_to_nhwc(w.data(), p.c_in, p.c_out_per_group(), p.k_h, p.k_w);
}
std::vector<double> y_to_nchw(const Problem& p, const std::vector<double>& y, Layout l) {
  return l == Layout::nchw ? y
                           : convert::nhwc_to_nchw(y.data(), p.n, p.c_out, p.h_out(), p.w_out());
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

// ---- Geometry ------------------------------------------------------------------------------

TEST(CudnnGeometry, StridesMatchTheLayoutDefinitions) {
  std::mt19937_64 rng(11);
  auto pick = [&](int lo, int hi) {
    return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t A = pick(1, 3), B = pick(1, 5), C = pick(1, 4), D = pick(1, 6);
    for (Layout l : kLayouts) {
      const Geometry act = dnn::activation_geometry(A, B, C, D, l);
      const Geometry fil = dnn::filter_geometry(A, B, C, D, l);
      EXPECT_EQ(act.elems(), A * B * C * D);
      std::set<int64_t> seen_act, seen_fil;
      for (int64_t a = 0; a < A; ++a)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t d = 0; d < D; ++d) {
              // nchw: (n,c,h,w) row-major; nhwc: (n,h,w,c) row-major. Filters: KCRS / KRSC.
              const int64_t want =
                  l == Layout::nchw ? ((a * B + b) * C + c) * D + d : ((a * C + c) * D + d) * B + b;
              EXPECT_EQ(act.offset(a, b, c, d), want);
              EXPECT_EQ(fil.offset(a, b, c, d), want);
              seen_act.insert(act.offset(a, b, c, d));
              seen_fil.insert(fil.offset(a, b, c, d));
            }
      EXPECT_EQ(int64_t(seen_act.size()), A * B * C * D);
      EXPECT_EQ(*seen_act.rbegin(), A * B * C * D - 1);
      EXPECT_EQ(int64_t(seen_fil.size()), A * B * C * D);
    }
  }
}

// The project's nhwc conventions are exactly these geometries: x (N,H,W,C_in) and w
// (C_in,k_h,k_w,C_out/g) as bench/convert.hpp produces them.
TEST(CudnnGeometry, AgreesWithTheProjectsNhwcConversion) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 40; ++trial) {
    const Problem p = testing::random_problem(rng);
    const std::vector<double> x = testing::random_data(rng, p.x_elems());
    const std::vector<double> w = testing::random_data(rng, p.w_elems());
    const std::vector<double> xl = x_in_layout(p, x, Layout::nhwc);
    const std::vector<double> wl = w_in_layout(p, w, Layout::nhwc);
    const Geometry gx = dnn::dgrad_dy(p, Layout::nhwc), gw = dnn::dgrad_w(p, Layout::nhwc);
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t c = 0; c < p.c_in; ++c)
        for (int64_t h = 0; h < p.h_in; ++h)
          for (int64_t ww = 0; ww < p.w_in; ++ww)
            ASSERT_EQ(xl[size_t(gx.offset(n, c, h, ww))],
                      x[size_t(((n * p.c_in + c) * p.h_in + h) * p.w_in + ww)]);
    for (int64_t k = 0; k < p.c_in; ++k)
      for (int64_t c = 0; c < p.c_out_per_group(); ++c)
        for (int64_t r = 0; r < p.k_h; ++r)
          for (int64_t s = 0; s < p.k_w; ++s)
            ASSERT_EQ(wl[size_t(gw.offset(k, c, r, s))],
                      w[size_t(((k * p.c_out_per_group() + c) * p.k_h + r) * p.k_w + s)]);
  }
}

// ---- Backward-data = transposed convolution ------------------------------------------------

// cuDNN's backward-data, written from its forward definition over the geometry we describe to
// cuDNN: the forward conv maps dx (N,C,H,W) to dy (N,K,P,Q) with P = forward_out_size(H, ...),
//   dy[n,k,p,q] = sum_{c in k's group, r, s} dx[n,c,p*str-pad+r*dil, q*str-pad+s*dil] *
//   w[k,c%Cg,r,s]
// and backward-data is its adjoint. Returns dx in the layout.
std::vector<double> emulate_dgrad(const Problem& p, Layout l, const std::vector<double>& dy,
                                  const std::vector<double>& w) {
  const Geometry gdy = dnn::dgrad_dy(p, l), gw = dnn::dgrad_w(p, l), gdx = dnn::dgrad_dx(p, l);
  const int64_t N = gdx.dims[0], C = gdx.dims[1], H = gdx.dims[2], W = gdx.dims[3];
  const int64_t K = gw.dims[0], Cg = gw.dims[1], R = gw.dims[2], S = gw.dims[3];
  const int64_t groups = C / Cg, Kg = K / groups;
  const int64_t P = dnn::forward_out_size(H, R, p.pad_h, p.stride_h, p.dil_h);
  const int64_t Q = dnn::forward_out_size(W, S, p.pad_w, p.stride_w, p.dil_w);
  EXPECT_EQ(P, gdy.dims[2]);
  EXPECT_EQ(Q, gdy.dims[3]);
  std::vector<double> dx(size_t(gdx.elems()), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = k / Kg;
      for (int64_t pp = 0; pp < P; ++pp)
        for (int64_t q = 0; q < Q; ++q) {
          const double v = dy[size_t(gdy.offset(n, k, pp, q))];
          for (int64_t cl = 0; cl < Cg; ++cl)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
                const int64_t ww = q * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                dx[size_t(gdx.offset(n, g * Cg + cl, h, ww))] +=
                    v * w[size_t(gw.offset(k, cl, r, s))];
              }
        }
    }
  return dx;
}

TEST(CudnnDgrad, BackwardDataOfTheForwardConvIsTheTransposedConv) {
  std::mt19937_64 rng(21);
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Problem p = testing::random_problem(rng);
    p.has_bias = false;
    if (!dnn::dgrad_shape_support(p).ok) continue;
    const std::vector<double> x = testing::random_data(rng, p.x_elems());
    const std::vector<double> w = testing::random_data(rng, p.w_elems());
    std::vector<double> ref(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, ref.data());
    for (Layout l : kLayouts) {
      const std::vector<double> y =
          y_to_nchw(p, emulate_dgrad(p, l, x_in_layout(p, x, l), w_in_layout(p, w, l)), l);
      ASSERT_LT(max_rel_diff(y, ref), 1e-12) << p.to_string() << " " << to_string(l);
    }
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

TEST(CudnnDgrad, ShapeSupportIsExactlyOutputPaddingBelowStride) {
  std::mt19937_64 rng(22);
  for (int trial = 0; trial < 2000; ++trial) {
    const Problem p = testing::random_problem(rng);
    const bool expect = p.out_pad_h < p.stride_h && p.out_pad_w < p.stride_w;
    const Support s = dnn::dgrad_shape_support(p);
    ASSERT_EQ(s.ok, expect) << p.to_string() << ": " << s.reason;
    if (!s.ok) {
      EXPECT_NE(s.reason.find("output_padding >= stride"), std::string::npos);
      EXPECT_EQ(s.reason.find('\n'), std::string::npos);
    }
  }
  // PyTorch allows output_padding < dilation: stride 1, dilation 3, output_padding 2.
  Problem p;
  p.h_in = p.w_in = 5, p.k_h = p.k_w = 3, p.dil_h = 3, p.out_pad_h = 2;
  ASSERT_EQ(p.validate(), "");
  EXPECT_FALSE(dnn::dgrad_shape_support(p).ok);
}

// cuDNN itself checks shapes when descriptors are built, no GPU needed: the legacy forward
// output of dx must be dy (cudnnGetConvolution2dForwardOutputDim), and lowering the frontend
// graph to a backend operation graph (build_operation_graph without a handle) finalizes the
// backward-data operation, where cuDNN validates every spatial dim. Both must accept our
// descriptors exactly when dgrad_shape_support says so (groups, dilation, output_padding, nhwc
// filter format, every dtype), and the zero-insertion forward convolution always.
TEST(CudnnDescriptors, CudnnAcceptsOurDescriptorsExactlyWhenSupported) {
  std::mt19937_64 rng(23);
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Problem p = testing::random_problem(rng);
    const bool ok = dnn::dgrad_shape_support(p).ok;
    for (DType t : {DType::fp32, DType::fp16, DType::bf16})
      for (Layout l : kLayouts) {
        const Config cfg{t, l};
        bool legacy_ok = true, graph_ok = true;
        std::string why;
        try {
          dnn::LegacyConv d;
          dnn::build_dgrad(d, p, cfg);
        } catch (const NotSupported& e) {
          legacy_ok = false;
          why = e.what();
        }
        try {
          dnn::DgradGraph g = dnn::make_dgrad_graph(p, cfg, 16);
          dnn::fe_check(g.graph->validate(), "validate");
          dnn::fe_check(g.graph->build_operation_graph(nullptr), "build_operation_graph");
        } catch (const NotSupported& e) {
          graph_ok = false;
          why += std::string(" | ") + e.what();
          EXPECT_EQ(why.find('\n'), std::string::npos);
        }
        ASSERT_EQ(legacy_ok, ok) << p.to_string() << " " << to_string(t) << " " << to_string(l)
                                 << ": " << why;
        ASSERT_EQ(graph_ok, ok) << p.to_string() << " " << to_string(t) << " " << to_string(l)
                                << ": " << why;
        (ok ? accepted : rejected)++;
        dnn::LegacyConv z;
        EXPECT_NO_THROW(dnn::build_zero_insert_forward(z, p, cfg)) << p.to_string();
      }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

// ---- The frontend graph of cudnn_graph -----------------------------------------------------

std::vector<int64_t> dims_of(const Geometry& g) {
  return {g.dims[0], g.dims[1], g.dims[2], g.dims[3]};
}
std::vector<int64_t> strides_of(const Geometry& g) {
  return {g.strides[0], g.strides[1], g.strides[2], g.strides[3]};
}

// What the graph holds, read back from the frontend's own attribute objects, against the problem
// model: dy = x (N, C_in, H_in, W_in), w = (C_in, C_out/g, k_h, k_w), dx = y (N, C_out, H_out,
// W_out), each with the layout's strides (checked against the layout definitions above and by
// the emulation in CudnnDgrad); padding both sides, stride, dilation; cross-correlation; storage
// type = dtype (tf32 stores fp32), fp32 compute; after validate(), the frontend's inferred
// properties are still ours.
TEST(CudnnFrontendGraph, AttributesAreTheProblemModel) {
  std::mt19937_64 rng(24);
  for (int trial = 0; trial < 100; ++trial) {
    const Problem p = testing::random_problem(rng);
    for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
      for (Layout l : kLayouts) {
        const int64_t align = int64_t(1) << (trial % 5);
        dnn::DgradGraph g = dnn::make_dgrad_graph(p, {t, l}, align);
        const auto want_type = t == DType::fp16   ? dnn::fe::DataType_t::HALF
                               : t == DType::bf16 ? dnn::fe::DataType_t::BFLOAT16
                                                  : dnn::fe::DataType_t::FLOAT;
        auto check = [&](const char* stage) {
          SCOPED_TRACE(std::string(stage) + " " + p.to_string() + " " + to_string(t) + " " +
                       to_string(l));
          const std::vector<int64_t> x_dims = {p.n, p.c_in, p.h_in, p.w_in};
          const std::vector<int64_t> w_dims = {p.c_in, p.c_out_per_group(), p.k_h, p.k_w};
          const std::vector<int64_t> y_dims = {p.n, p.c_out, p.h_out(), p.w_out()};
          EXPECT_EQ(g.dy->get_dim(), x_dims);
          EXPECT_EQ(g.w->get_dim(), w_dims);
          EXPECT_EQ(g.dx->get_dim(), y_dims);
          EXPECT_EQ(g.dy->get_dim(), dims_of(dnn::dgrad_dy(p, l)));
          EXPECT_EQ(g.dy->get_stride(), strides_of(dnn::dgrad_dy(p, l)));
          EXPECT_EQ(g.w->get_stride(), strides_of(dnn::dgrad_w(p, l)));
          EXPECT_EQ(g.dx->get_stride(), strides_of(dnn::dgrad_dx(p, l)));
          if (l == Layout::nhwc) {  // channels innermost in all three
            EXPECT_EQ(g.dy->get_stride()[1], 1);
            EXPECT_EQ(g.w->get_stride()[1], 1);
            EXPECT_EQ(g.dx->get_stride()[1], 1);
          } else {
            EXPECT_EQ(g.dy->get_stride()[3], 1);
            EXPECT_EQ(g.w->get_stride()[3], 1);
            EXPECT_EQ(g.dx->get_stride()[3], 1);
          }
          for (const auto& tensor : {g.dy, g.w, g.dx}) {
            EXPECT_EQ(tensor->get_data_type(), want_type);
            EXPECT_EQ(tensor->get_alignment(), align);
            EXPECT_FALSE(tensor->get_is_virtual());
          }
          EXPECT_EQ(g.dy->get_uid(), dnn::kUidX);
          EXPECT_EQ(g.w->get_uid(), dnn::kUidW);
          EXPECT_EQ(g.dx->get_uid(), dnn::kUidY);
          EXPECT_EQ(g.conv.get_pre_padding(), (std::vector<int64_t>{p.pad_h, p.pad_w}));
          EXPECT_EQ(g.conv.get_post_padding(), (std::vector<int64_t>{p.pad_h, p.pad_w}));
          EXPECT_EQ(g.conv.get_stride(), (std::vector<int64_t>{p.stride_h, p.stride_w}));
          EXPECT_EQ(g.conv.get_dilation(), (std::vector<int64_t>{p.dil_h, p.dil_w}));
          EXPECT_EQ(g.conv.get_convolution_mode(), dnn::fe::ConvolutionMode_t::CROSS_CORRELATION);
          EXPECT_EQ(g.conv.compute_data_type, dnn::fe::DataType_t::FLOAT);
          // Groups are implied: C_out / (W's C dim).
          EXPECT_EQ(g.dx->get_dim()[1] / g.w->get_dim()[1], p.groups);
        };
        check("built");
        const dnn::fe::error_t e = g.graph->validate();
        ASSERT_TRUE(e.is_good()) << e.err_msg;
        check("validated");
      }
  }
}

// fp32 must never reach a tensor-core (TF32) engine; tf32 may; no dtype may down-convert its
// inputs or reduce in less than fp32. These are the notes prepare() deselects.
TEST(CudnnFrontendGraph, PrecisionContractByNumericalNotes) {
  using N = dnn::fe::NumericalNote_t;
  auto has = [](DType t, N n) {
    const std::vector<N> v = dnn::excluded_notes(t);
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  EXPECT_TRUE(has(DType::fp32, N::TENSOR_CORE));
  for (DType t : {DType::tf32, DType::fp16, DType::bf16}) EXPECT_FALSE(has(t, N::TENSOR_CORE));
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
    EXPECT_TRUE(has(t, N::DOWN_CONVERT_INPUTS)) << to_string(t);
    EXPECT_TRUE(has(t, N::REDUCED_PRECISION_REDUCTION)) << to_string(t);
    EXPECT_FALSE(has(t, N::FFT)) << to_string(t);
    EXPECT_FALSE(has(t, N::NONDETERMINISTIC)) << to_string(t);
  }
  EXPECT_EQ(dnn::fe_data_type(DType::tf32), dnn::fe::DataType_t::FLOAT);
  EXPECT_EQ(dnn::fe_data_type(DType::fp32), dnn::fe::DataType_t::FLOAT);
  EXPECT_EQ(dnn::fe_data_type(DType::fp16), dnn::fe::DataType_t::HALF);
  EXPECT_EQ(dnn::fe_data_type(DType::bf16), dnn::fe::DataType_t::BFLOAT16);
}

// Frontend errors: refusals become NotSupported with one line of cuDNN's words, our bugs stay
// errors, and a broken installation named anywhere in the message is a FatalError.
TEST(CudnnFrontendGraph, ErrorClassification) {
  using C = dnn::fe::error_code_t;
  const std::string bad_shape =
      "detail::finalize(dgrad_operation.get_raw_desc()) failed with message: is_valid_spatial_dim"
      "(...),\nand code: CUDNN_STATUS_BAD_PARAM";
  EXPECT_THROW(dnn::fe_check({C::CUDNN_BACKEND_API_FAILED, bad_shape}, "x"), NotSupported);
  try {
    dnn::fe_check({C::CUDNN_BACKEND_API_FAILED, bad_shape}, "building");
  } catch (const NotSupported& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("CUDNN_STATUS_BAD_PARAM"), std::string::npos) << what;
    EXPECT_NE(what.find("building"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_THROW(dnn::fe_check({C::GRAPH_EXECUTION_PLAN_CREATION_FAILED, "no plan"}, "x"),
               NotSupported);
  EXPECT_THROW(dnn::fe_check({C::HEURISTIC_QUERY_FAILED, "none"}, "x"), NotSupported);
  EXPECT_NO_THROW(dnn::fe_check({C::OK, ""}, "x"));
  // Not refusals: a null pointer, an execution failure, our own attribute mistakes, CUDA.
  for (const auto& e : std::vector<dnn::fe::error_t>{
           {C::CUDNN_BACKEND_API_FAILED, "code: CUDNN_STATUS_BAD_PARAM_NULL_POINTER"},
           {C::CUDNN_BACKEND_API_FAILED, "code: CUDNN_STATUS_EXECUTION_FAILED"},
           {C::CUDNN_BACKEND_API_FAILED, "no status named"},
           {C::ATTRIBUTE_NOT_SET, "Pre padding not set."},
           {C::INVALID_VARIANT_PACK, "Uid 3 not found"},
           {C::CUDA_API_FAILED, "cudaErrorIllegalAddress"}}) {
    try {
      dnn::fe_check(e, "x");
      ADD_FAILURE() << "no throw for " << e.err_msg;
    } catch (const NotSupported&) {
      ADD_FAILURE() << "a refusal: " << e.err_msg;
    } catch (const FatalError&) {
      ADD_FAILURE() << "fatal: " << e.err_msg;
    } catch (const Error&) {
    }
  }
  // Fatal statuses, whatever the frontend code, and even inside a refusal code.
  for (cudnnStatus_t s : {CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, CUDNN_STATUS_NOT_INITIALIZED,
                          CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH}) {
    const std::string msg = std::string("failed, and code: ") + cudnnGetErrorString(s);
    EXPECT_THROW(dnn::fe_check({C::CUDNN_BACKEND_API_FAILED, msg}, "x"), FatalError) << msg;
    EXPECT_THROW(dnn::fe_check({C::GRAPH_EXECUTION_PLAN_CREATION_FAILED, msg}, "x"), FatalError)
        << msg;
  }
  // A status name is matched whole: EXECUTION_FAILED is not EXECUTION_FAILED_CUDART (fatal).
  const auto st = dnn::statuses_in_message("code: CUDNN_STATUS_EXECUTION_FAILED.");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0], CUDNN_STATUS_EXECUTION_FAILED);
}

// ---- Zero insertion ------------------------------------------------------------------------

// The zero-inserted image and flipped weight built with the kernels' index maps (both index
// types), then cuDNN's stride-1, pad-0, dilated forward cross-correlation over the zi_*
// geometry. Returns y in the layout.
std::vector<double> emulate_zero_insert(const Problem& p, Layout l, const std::vector<double>& x,
                                        const std::vector<double>& w) {
  const bool nhwc = l == Layout::nhwc;
  const Geometry gz = dnn::zi_input(p, l), gw = dnn::zi_filter(p, l), gy = dnn::zi_output(p, l);
  std::vector<double> z(size_t(gz.elems()));
  std::vector<int> used(x.size(), 0);
  for (int64_t e = 0; e < gz.elems(); ++e) {
    const int64_t src = dnn::zero_insert_source_index<int64_t>(p, nhwc, e);
    EXPECT_EQ(src, int64_t(dnn::zero_insert_source_index<int>(p, nhwc, int(e))));
    EXPECT_GE(src, -1);
    EXPECT_LT(src, int64_t(x.size()));
    if (src >= 0) ++used[size_t(src)];
    z[size_t(e)] = src >= 0 ? x[size_t(src)] : 0.0;
  }
  for (int u : used) EXPECT_LE(u, 1);  // every input lands at most once
  std::vector<double> wz(size_t(gw.elems()));
  std::vector<int> hit(w.size(), 0);
  for (int64_t e = 0; e < gw.elems(); ++e) {
    const int64_t src = dnn::flipped_weight_source_index<int64_t>(p, nhwc, e);
    EXPECT_EQ(src, int64_t(dnn::flipped_weight_source_index<int>(p, nhwc, int(e))));
    ++hit[size_t(src)];
    wz[size_t(e)] = w[size_t(src)];
  }
  for (int u : hit) EXPECT_EQ(u, 1);  // a permutation
  const int64_t groups = p.groups, Cg = gw.dims[1], Kg = gy.dims[1] / groups;
  EXPECT_EQ(dnn::forward_out_size(gz.dims[2], p.k_h, 0, 1, p.dil_h), gy.dims[2]);
  EXPECT_EQ(dnn::forward_out_size(gz.dims[3], p.k_w, 0, 1, p.dil_w), gy.dims[3]);
  std::vector<double> y(size_t(gy.elems()), 0.0);
  for (int64_t n = 0; n < gy.dims[0]; ++n)
    for (int64_t k = 0; k < gy.dims[1]; ++k)
      for (int64_t oy = 0; oy < gy.dims[2]; ++oy)
        for (int64_t ox = 0; ox < gy.dims[3]; ++ox) {
          double acc = 0;
          const int64_t g = k / Kg;
          for (int64_t cl = 0; cl < Cg; ++cl)
            for (int64_t r = 0; r < gw.dims[2]; ++r)
              for (int64_t s = 0; s < gw.dims[3]; ++s)
                acc += z[size_t(gz.offset(n, g * Cg + cl, oy + r * p.dil_h, ox + s * p.dil_w))] *
                       wz[size_t(gw.offset(k, cl, r, s))];
          y[size_t(gy.offset(n, k, oy, ox))] = acc;
        }
  return y;
}

TEST(CudnnZeroInsert, IndexMapsAndForwardConvGiveTheTransposedConv) {
  std::mt19937_64 rng(31);
  for (int trial = 0; trial < 200; ++trial) {
    Problem p = testing::random_problem(rng);
    p.has_bias = false;
    const std::vector<double> x = testing::random_data(rng, p.x_elems());
    const std::vector<double> w = testing::random_data(rng, p.w_elems());
    std::vector<double> ref(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, ref.data());
    for (Layout l : kLayouts) {
      const std::vector<double> y =
          y_to_nchw(p, emulate_zero_insert(p, l, x_in_layout(p, x, l), w_in_layout(p, w, l)), l);
      ASSERT_LT(max_rel_diff(y, ref), 1e-12) << p.to_string() << " " << to_string(l);
    }
  }
}

TEST(CudnnZeroInsert, WorkRatioIsOutputOverInputPixels) {
  std::mt19937_64 rng(32);
  for (int trial = 0; trial < 500; ++trial) {
    const Problem p = testing::random_problem(rng);
    const double want = double(p.h_out() * p.w_out()) / double(p.h_in * p.w_in);
    EXPECT_NEAR(dnn::zero_insert_work_ratio(p), want, 1e-12 * want);
  }
  // k = stride, no padding: exactly stride_h * stride_w.
  Problem p;
  p.n = 2, p.c_in = 8, p.c_out = 4, p.h_in = 30, p.w_in = 20;
  p.k_h = p.stride_h = 2, p.k_w = p.stride_w = 3;
  EXPECT_DOUBLE_EQ(dnn::zero_insert_work_ratio(p), 6.0);
  EXPECT_DOUBLE_EQ(create_implementation("zero_insert_cudnn")->work_ratio(p), 6.0);
}

// ---- Bias ----------------------------------------------------------------------------------

TEST(CudnnBias, OutputChannelFollowsTheLayout) {
  std::mt19937_64 rng(41);
  for (int trial = 0; trial < 100; ++trial) {
    const Problem p = testing::random_problem(rng);
    for (Layout l : kLayouts) {
      const Geometry gy = dnn::dgrad_dx(p, l);
      for (int64_t n = 0; n < p.n; ++n)
        for (int64_t c = 0; c < p.c_out; ++c)
          for (int64_t h = 0; h < p.h_out(); ++h)
            for (int64_t w = 0; w < p.w_out(); ++w) {
              const int64_t e = gy.offset(n, c, h, w);
              ASSERT_EQ(dnn::output_channel<int64_t>(p, l == Layout::nhwc, e), c);
              ASSERT_EQ(dnn::output_channel<int>(p, l == Layout::nhwc, int(e)), int(c));
            }
    }
  }
}

// ---- dtype, math, status, registry ---------------------------------------------------------

TEST(CudnnConfig, DataAndMathTypes) {
  EXPECT_EQ(dnn::data_type(DType::fp32), CUDNN_DATA_FLOAT);
  EXPECT_EQ(dnn::data_type(DType::tf32), CUDNN_DATA_FLOAT);
  EXPECT_EQ(dnn::data_type(DType::fp16), CUDNN_DATA_HALF);
  EXPECT_EQ(dnn::data_type(DType::bf16), CUDNN_DATA_BFLOAT16);
  // fp32 must never run TF32: FMA math only.
  EXPECT_EQ(dnn::math_type(DType::fp32), CUDNN_FMA_MATH);
  EXPECT_EQ(dnn::math_type(DType::tf32), CUDNN_TENSOR_OP_MATH);
  EXPECT_FALSE(dnn::math_type_allowed(DType::fp32, CUDNN_TENSOR_OP_MATH));
  EXPECT_TRUE(dnn::math_type_allowed(DType::fp32, CUDNN_FMA_MATH));
  EXPECT_TRUE(dnn::math_type_allowed(DType::tf32, CUDNN_TENSOR_OP_MATH));
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
    EXPECT_FALSE(dnn::math_type_allowed(t, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  EXPECT_STREQ(dnn::math_name(CUDNN_TENSOR_OP_MATH), "tensor_op");
  EXPECT_STREQ(dnn::bwd_data_algo_name(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1),
               "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1");
  EXPECT_STREQ(dnn::fwd_algo_name(CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING),
               "CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING");
}

TEST(CudnnStatus, RefusalsBecomeNotSupportedOthersErrors) {
  EXPECT_TRUE(dnn::is_refusal(CUDNN_STATUS_NOT_SUPPORTED));
  EXPECT_TRUE(dnn::is_refusal(CUDNN_STATUS_NOT_SUPPORTED_SHAPE));
  EXPECT_TRUE(dnn::is_refusal(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT));
  EXPECT_TRUE(dnn::is_refusal(CUDNN_STATUS_BAD_PARAM));
  EXPECT_TRUE(dnn::is_refusal(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH));
  EXPECT_FALSE(dnn::is_refusal(CUDNN_STATUS_BAD_PARAM_NULL_POINTER));
  EXPECT_FALSE(dnn::is_refusal(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER));
  EXPECT_FALSE(dnn::is_refusal(CUDNN_STATUS_INTERNAL_ERROR));
  EXPECT_FALSE(dnn::is_refusal(CUDNN_STATUS_EXECUTION_FAILED));
  // A broken installation is never a refusal: it stops the run (tests/test_failures.cpp).
  EXPECT_THROW(dnn::is_refusal(CUDNN_STATUS_NOT_INITIALIZED), FatalError);
  EXPECT_THROW(dnn::throw_status(CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "x"), NotSupported);
  EXPECT_THROW(dnn::throw_status(CUDNN_STATUS_INTERNAL_ERROR, "x"), Error);
  try {
    dnn::throw_status(CUDNN_STATUS_EXECUTION_FAILED, "x");
  } catch (const NotSupported&) {
    ADD_FAILURE() << "an execution failure is not a refusal";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("CUDNN_STATUS_EXECUTION_FAILED"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

const char* const kNames[] = {"cudnn_algo0",           "cudnn_algo1",
                              "cudnn_fft",             "cudnn_fft_tiling",
                              "cudnn_winograd",        "cudnn_winograd_nonfused",
                              "cudnn_find",            "cudnn_graph",
                              "zero_insert_cudnn",     "cudnn_heuristic",
                              "cudnn_graph_heuristic"};

// cudnn_heuristic's choice: cuDNN's ranking kept in order, minus the entries that failed and the
// math types that break the dtype's contract; the harness then takes the first whose workspace
// fits (bench/lifecycle.hpp). Its descriptors are build_dgrad's, checked against the fp64
// models above (CudnnDescriptors, CudnnDgrad), as cudnn_graph_heuristic's graph is
// make_dgrad_graph's (CudnnFrontendGraph).
TEST(CudnnHeuristic, OrderIsCudnnsRankingWithinTheDtypesContract) {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  auto perf = [](cudnnConvolutionBwdDataAlgo_t a, cudnnStatus_t st, cudnnMathType_t m, size_t ws) {
    Perf r{};
    r.algo = a, r.status = st, r.mathType = m, r.memory = ws;
    return r;
  };
  const std::vector<Perf> ranked = {
      perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_TENSOR_OP_MATH, 100),
      perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_FMA_MATH, 0),
      perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0),
      perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_STATUS_SUCCESS,
           CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, 0),
      perf(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, CUDNN_STATUS_SUCCESS, CUDNN_DEFAULT_MATH, 7)};
  // fp32: no tensor-op math (it would be TF32), no down-conversion.
  EXPECT_EQ(dnn::heuristic_order(ranked, 5, DType::fp32), (std::vector<int>{2, 4}));
  EXPECT_EQ(dnn::heuristic_order(ranked, 5, DType::fp16), (std::vector<int>{0, 2, 4}));
  // Only the entries cuDNN returned count.
  EXPECT_EQ(dnn::heuristic_order(ranked, 1, DType::fp16), (std::vector<int>{0}));
  EXPECT_TRUE(dnn::heuristic_order(ranked, 0, DType::fp16).empty());
  // A broken installation anywhere stops the run, it is not a skipped entry.
  std::vector<Perf> fatal = ranked;
  fatal[1].status = CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED;
  EXPECT_THROW(dnn::heuristic_order(fatal, 5, DType::fp16), FatalError);
}

TEST(CudnnImpls, RegisteredWithTheirNamesAndStaticSupport) {
  Problem ok;
  ok.n = 2, ok.c_in = 8, ok.c_out = 6, ok.h_in = 7, ok.w_in = 5, ok.k_h = ok.k_w = 3;
  ok.stride_h = ok.stride_w = 2, ok.pad_h = ok.pad_w = 1, ok.out_pad_h = ok.out_pad_w = 1;
  ok.groups = 2, ok.has_bias = true;
  ASSERT_EQ(ok.validate(), "");
  Problem op_dil = ok;  // output_padding >= stride: only zero insertion expresses it
  op_dil.stride_h = 1, op_dil.dil_h = 3, op_dil.out_pad_h = 2;
  ASSERT_EQ(op_dil.validate(), "");
  for (const char* n : kNames) {
    auto impl = create_implementation(n);
    EXPECT_EQ(impl->name(), n);
    EXPECT_EQ(impl->backend(), Backend::gpu);
    EXPECT_NE(impl->summary().find("cuDNN"), std::string::npos) << n;
    EXPECT_EQ(impl->algo(), "") << n << ": algo() before prepare";
    for (Layout l : kLayouts) {
      for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16})
        EXPECT_TRUE(impl->can_implement(ok, {t, l}).ok) << n << " " << to_string(t);
      const Support s64 = impl->can_implement(ok, {DType::fp64, l});
      EXPECT_FALSE(s64.ok) << n;
      EXPECT_FALSE(s64.reason.empty()) << n;
    }
    const bool zi = std::string(n) == "zero_insert_cudnn";
    EXPECT_EQ(impl->can_implement(op_dil, {DType::fp32, Layout::nchw}).ok, zi) << n;
    if (!zi) {
      EXPECT_DOUBLE_EQ(impl->work_ratio(ok), 1.0) << n;
    }
  }
}

// ---- GPU -----------------------------------------------------------------------------------

// Operands on the device in the config's dtype and layout, from fp64 NCHW host data.
struct DeviceCase {
  Problem p;
  Config cfg;
  std::vector<double> x, w, bias;  // rounded to the dtype, NCHW
  DeviceBuffer dx, dw, db, dy;
  Tensors t;

  DeviceCase(const Problem& prob, const Config& c, std::mt19937_64& rng) : p(prob), cfg(c) {
    x = testing::random_data(rng, p.x_elems());
    w = testing::random_data(rng, p.w_elems());
    bias = testing::random_data(rng, p.bias_elems());
    convert::round_all(cfg.dtype, x);
    convert::round_all(cfg.dtype, w);
    convert::round_all(cfg.dtype, bias);
    upload(dx, x_in_layout(p, x, cfg.layout));
    upload(dw, w_in_layout(p, w, cfg.layout));
    if (p.has_bias) upload(db, bias);
    dy.resize(size_t(p.y_elems()) * storage_bytes(cfg.dtype));
    t.x = dx.get(), t.w = dw.get(), t.bias = p.has_bias ? db.get() : nullptr, t.y = dy.get();
  }
  void upload(DeviceBuffer& buf, const std::vector<double>& v) {
    const std::vector<unsigned char> bytes = convert::to_storage(cfg.dtype, v.data(), v.size());
    buf.resize(bytes.size());
    TCONV_CUDA_CHECK(cudaMemcpy(buf.get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
    // A pageable copy may return before the DMA lands, and the context's stream does not
    // synchronize with the legacy default stream.
    TCONV_CUDA_CHECK(cudaDeviceSynchronize());
  }
  // All-ones bytes: NaN in every dtype.
  void poison() {
    TCONV_CUDA_CHECK(cudaMemset(dy.get(), 0xFF, dy.bytes()));
    TCONV_CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<double> y_nchw() const {
    std::vector<unsigned char> bytes(dy.bytes());
    TCONV_CUDA_CHECK(cudaDeviceSynchronize());
    TCONV_CUDA_CHECK(cudaMemcpy(bytes.data(), dy.get(), bytes.size(), cudaMemcpyDeviceToHost));
    return y_to_nchw(p, convert::from_storage(cfg.dtype, bytes.data(), size_t(p.y_elems())),
                     cfg.layout);
  }
  std::vector<double> reference() const {
    std::vector<double> ref(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), p.has_bias ? bias.data() : nullptr, ref.data());
    return ref;
  }
};

std::vector<Problem> gpu_problems() {
  std::vector<Problem> v;
  Problem a;  // stride 2, padding, output_padding, groups, bias
  a.n = 2, a.c_in = 8, a.c_out = 6, a.h_in = 7, a.w_in = 5, a.k_h = a.k_w = 3;
  a.stride_h = a.stride_w = 2, a.pad_h = a.pad_w = 1, a.out_pad_h = a.out_pad_w = 1;
  a.groups = 2, a.has_bias = true;
  v.push_back(a);
  Problem b;  // asymmetric everything, dilation, stride > k in w
  b.n = 1, b.c_in = 6, b.c_out = 9, b.h_in = 6, b.w_in = 9, b.k_h = 3, b.k_w = 2;
  b.stride_h = 2, b.stride_w = 3, b.pad_h = 1, b.pad_w = 0, b.out_pad_h = 1, b.out_pad_w = 2;
  b.dil_h = 2, b.dil_w = 1, b.groups = 3, b.has_bias = true;
  v.push_back(b);
  Problem c;  // depthwise, k = 4 not divisible by stride 3
  c.n = 2, c.c_in = c.c_out = c.groups = 8, c.h_in = c.w_in = 6, c.k_h = c.k_w = 4;
  c.stride_h = c.stride_w = 3, c.pad_h = c.pad_w = 1;
  v.push_back(c);
  Problem d;  // stride 1, 3x3: Winograd and FFT territory
  d.n = 1, d.c_in = 16, d.c_out = 16, d.h_in = d.w_in = 12, d.k_h = d.k_w = 3,
  d.pad_h = d.pad_w = 1;
  d.has_bias = true;
  v.push_back(d);
  for (const Problem& p : v) EXPECT_EQ(p.validate(), "") << p.to_string();
  return v;
}

struct Outcome {
  bool ran = false;
  std::string note;  // not_supported / skipped reason, or the tolerance failure
};

// The harness's lifecycle (prepare_on_device) + run on a NaN-poisoned y + compare. Failures of
// correctness are test failures; not_supported and skipped are returned for the caller to judge.
// Judged by the bench's own accuracy policy (judge_accuracy): full or reduced accuracy passes,
// anything else is a test failure.
Outcome run_case(Context& ctx, Implementation& impl, DeviceCase& dc) {
  Outcome out;
  Prepared prep;
  const auto held = prepare_on_device(ctx, impl, dc.p, dc.cfg, dc.t, &prep);
  if (!prep.status.is_ok()) {
    out.note = prep.status.reason;
    EXPECT_NE(prep.status.code, StatusCode::failed) << impl.name() << ": " << out.note;
    EXPECT_EQ(out.note.find('\n'), std::string::npos) << out.note;
    return out;
  }
  EXPECT_FALSE(impl.algo().empty()) << impl.name();
  dc.poison();
  impl.run(ctx, dc.p, dc.cfg, dc.t);
  ctx.synchronize();
  const std::vector<double> y = dc.y_nchw(), ref = dc.reference();
  const ErrorMetrics m = compare(y.data(), ref.data(), y.size());
  const Tolerance tol = tolerance(dc.cfg.dtype, reduction_length(dc.p));
  const AccuracyVerdict verdict = judge_accuracy(m, tol);
  EXPECT_EQ(verdict.status, "passed")
      << impl.name() << " " << to_string(dc.cfg.dtype) << " " << to_string(dc.cfg.layout) << " "
      << dc.p.to_string() << " [" << impl.algo() << "]: " << verdict.reason;
  if (verdict.accuracy == "reduced")
    std::printf("  %s %s %s [%s]: %s\n", impl.name().c_str(), to_string(dc.cfg.dtype),
                to_string(dc.cfg.layout), impl.algo().c_str(), verdict.reason.c_str());
  // A second run gives the same answer (no state left from the first).
  dc.poison();
  impl.run(ctx, dc.p, dc.cfg, dc.t);
  ctx.synchronize();
  const std::vector<double> y2 = dc.y_nchw();
  const ErrorMetrics m2 = compare(y2.data(), ref.data(), y2.size());
  EXPECT_EQ(judge_accuracy(m2, tol).status, "passed") << impl.name() << " second run";
  out.ran = true;
  return out;
}

#define TCONV_REQUIRE_GPU()                          \
  do {                                               \
    std::string why_;                                \
    if (!gpu_available(&why_)) GTEST_SKIP() << why_; \
  } while (0)

constexpr DType kDtypes[] = {DType::fp32, DType::tf32, DType::fp16, DType::bf16};

TEST(GpuCudnnLegacy, EachAlgorithmMatchesReferenceOrIsNotSupported) {
  TCONV_REQUIRE_GPU();
  Context ctx;
  std::mt19937_64 rng(51);
  const std::vector<Problem> problems = gpu_problems();
  std::map<std::string, int> ran, refused;
  for (int i = 0; i < 6; ++i) {
    const std::string name = kNames[i];
    for (const Problem& p : problems)
      for (DType t : kDtypes)
        for (Layout l : kLayouts) {
          DeviceCase dc(p, {t, l}, rng);
          auto impl = create_implementation(name);
          const Outcome o = run_case(ctx, *impl, dc);
          (o.ran ? ran : refused)[name]++;
          if (!o.ran)
            std::printf("  %s %s %s: %s\n", name.c_str(), to_string(t), to_string(l),
                        o.note.c_str());
          // The implicit-GEMM algorithm is cuDNN's general one: refusing plain fp32 nchw on
          // the two plain problems would mean our descriptors are wrong.
          if (name == "cudnn_algo1" && t == DType::fp32 && l == Layout::nchw &&
              (&p == &problems[0] || &p == &problems[3])) {
            EXPECT_TRUE(o.ran) << p.to_string() << ": " << o.note;
          }
        }
  }
  for (const auto& kv : ran) std::printf("  %s: ran %d\n", kv.first.c_str(), kv.second);
  for (const auto& kv : refused) std::printf("  %s: not run %d\n", kv.first.c_str(), kv.second);
}

void check_all_configs(const char* name) {
  Context ctx;
  std::mt19937_64 rng(52);
  for (const Problem& p : gpu_problems())
    for (DType t : kDtypes)
      for (Layout l : kLayouts) {
        DeviceCase dc(p, {t, l}, rng);
        auto impl = create_implementation(name);
        const Outcome o = run_case(ctx, *impl, dc);
        if (!o.ran)
          std::printf("  %s %s %s %s: %s\n", name, to_string(t), to_string(l),
                      p.to_string().c_str(), o.note.c_str());
        if (t == DType::fp32 && l == Layout::nchw) {
          EXPECT_TRUE(o.ran) << name << " must run fp32 nchw: " << o.note;
        }
      }
}

TEST(GpuCudnnFind, MatchesReferenceInEveryConfig) {
  TCONV_REQUIRE_GPU();
  check_all_configs("cudnn_find");
}

TEST(GpuCudnnGraph, MatchesReferenceInEveryConfig) {
  TCONV_REQUIRE_GPU();
  check_all_configs("cudnn_graph");
}

TEST(GpuCudnnHeuristic, MatchesReferenceInEveryConfig) {
  TCONV_REQUIRE_GPU();
  check_all_configs("cudnn_heuristic");
}

TEST(GpuCudnnGraphHeuristic, MatchesReferenceInEveryConfig) {
  TCONV_REQUIRE_GPU();
  check_all_configs("cudnn_graph_heuristic");
}

TEST(GpuZeroInsertCudnn, MatchesReferenceInEveryConfig) {
  TCONV_REQUIRE_GPU();
  check_all_configs("zero_insert_cudnn");
}

// output_padding >= stride (dilation > stride): beyond backward-data, but zero insertion sizes
// z for it.
TEST(GpuZeroInsertCudnn, OutputPaddingBeyondStride) {
  TCONV_REQUIRE_GPU();
  Context ctx;
  std::mt19937_64 rng(53);
  Problem p;
  p.n = 2, p.c_in = 4, p.c_out = 6, p.h_in = 5, p.w_in = 6, p.k_h = p.k_w = 3;
  p.dil_h = 3, p.out_pad_h = 2, p.pad_w = 1, p.has_bias = true;
  ASSERT_EQ(p.validate(), "");
  for (Layout l : kLayouts) {
    DeviceCase dc(p, {DType::fp32, l}, rng);
    auto impl = create_implementation("zero_insert_cudnn");
    const Outcome o = run_case(ctx, *impl, dc);
    EXPECT_TRUE(o.ran) << o.note;
  }
}

}  // namespace
}  // namespace tconv
