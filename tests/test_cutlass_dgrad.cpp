// cutlass_dgrad (kernels/cutlass/).
//
// CPU: the problem CUTLASS receives (kernels/cutlass/cutlass_dgrad_map.hpp) is checked against
// the fp64 reference by computing CUTLASS's documented dgrad definition literally from the mapped
// fields over NHWC/KRSC data, on random problems (groups, dilation, output_padding, asymmetric
// sizes); CUTLASS's own can_implement, which is host code, is called on the CPU for every tile
// configuration and must accept and refuse what its rules say (vector width, dilation, groups).
// GPU (GpuCutlassDgrad): every dtype matches ref::direct or is not_supported with CUTLASS's reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bench/convert.hpp"
#include "bench/harness.hpp"
#include "bench/tolerance.hpp"
#include "core/problem.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/cutlass/cutlass_dgrad_map.hpp"
#include "reference/reference.hpp"
#include "tests/test_util.hpp"

#ifdef TCONV_HAVE_CUTLASS
#include "kernels/cutlass/cutlass_dgrad_runner.hpp"
#endif

namespace tconv {
namespace {

namespace cd = cutlass_dgrad;

// CUTLASS's conv2d dgrad, kCrossCorrelation, written from its definition over the mapped fields:
//   dx[n,h,w,c] = sum_{k in c's group, r, s : h = p*stride_h - pad_h + r*dil_h,
//                                             w = q*stride_w - pad_w + s*dil_w} dy[n,p,q,k] *
//                 w[k,r,s,c % (C/groups)]
// dy, w, dx packed NHWC / KRSC as cd::*_offset say.
std::vector<double> cutlass_dgrad_definition(const cd::Shape& s, const std::vector<double>& dy,
                                             const std::vector<double>& w) {
  std::vector<double> dx(size_t(s.N * s.H * s.W * s.C), 0.0);
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t x = 0; x < s.W; ++x)
        for (int64_t c = 0; c < s.C; ++c) {
          const int64_t g = c / Cg;
          double acc = 0;
          for (int64_t k = g * Kg; k < (g + 1) * Kg; ++k)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t ph = h + s.pad_h - r * s.dil_h, qw = x + s.pad_w - t * s.dil_w;
                if (ph < 0 || qw < 0 || ph % s.stride_h || qw % s.stride_w) continue;
                const int64_t p = ph / s.stride_h, q = qw / s.stride_w;
                if (p >= s.P || q >= s.Q) continue;
                acc += dy[size_t(cd::dy_offset(s, n, p, q, k))] *
                       w[size_t(cd::w_offset(s, k, r, t, c % Cg))];
              }
          dx[size_t(cd::dx_offset(s, n, h, x, c))] = acc;
        }
  return dx;
}

TEST(CutlassDgradMap, FieldsAreTheProblemModel) {
  std::mt19937_64 rng(61);
  for (int trial = 0; trial < 500; ++trial) {
    const Problem p = testing::random_problem(rng);
    const cd::Shape s = cd::shape_of(p);
    EXPECT_EQ(s.N, p.n);
    EXPECT_EQ(s.H, p.h_out());  // output_padding included
    EXPECT_EQ(s.W, p.w_out());
    EXPECT_EQ(s.C, p.c_out);
    EXPECT_EQ(s.K, p.c_in);
    EXPECT_EQ(s.R, p.k_h);
    EXPECT_EQ(s.S, p.k_w);
    EXPECT_EQ(s.P, p.h_in);
    EXPECT_EQ(s.Q, p.w_in);
    EXPECT_EQ(s.pad_h, p.pad_h);
    EXPECT_EQ(s.pad_w, p.pad_w);
    EXPECT_EQ(s.stride_h, p.stride_h);
    EXPECT_EQ(s.stride_w, p.stride_w);
    EXPECT_EQ(s.dil_h, p.dil_h);
    EXPECT_EQ(s.dil_w, p.dil_w);
    EXPECT_EQ(s.groups, p.groups);
    EXPECT_TRUE(s.fits_int());
  }
  Problem big;
  big.n = int64_t(1) << 32;
  EXPECT_FALSE(cd::shape_of(big).fits_int());
}

// The tensors CUTLASS reads are ours as stored: x in nhwc is dy (N,P,Q,K), the nhwc weight
// (C_in, k_h, k_w, C_out/g) is w (K,R,S,C/g), and dx comes back as y in nhwc.
TEST(CutlassDgradMap, DefinitionOverMappedFieldsIsTheTransposedConv) {
  std::mt19937_64 rng(62);
  int with_out_pad = 0, with_groups = 0, with_dil = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Problem p = testing::random_problem(rng);
    p.has_bias = false;
    const std::vector<double> x = testing::random_data(rng, p.x_elems());
    const std::vector<double> w = testing::random_data(rng, p.w_elems());
    std::vector<double> ref(size_t(p.y_elems()));
    ref::direct(p, x.data(), w.data(), nullptr, ref.data());
    const cd::Shape s = cd::shape_of(p);
    const std::vector<double> dx = cutlass_dgrad_definition(
        s, convert::nchw_to_nhwc(x.data(), p.n, p.c_in, p.h_in, p.w_in),
        convert::nchw_to_nhwc(w.data(), p.c_in, p.c_out_per_group(), p.k_h, p.k_w));
    const std::vector<double> y =
        convert::nhwc_to_nchw(dx.data(), p.n, p.c_out, p.h_out(), p.w_out());
    double diff = 0, scale = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      diff = std::max(diff, std::abs(y[i] - ref[i]));
      scale = std::max(scale, std::abs(ref[i]));
    }
    ASSERT_LE(diff, 1e-12 * std::max(scale, 1.0)) << p.to_string();
    with_out_pad += (p.out_pad_h > 0 || p.out_pad_w > 0);
    with_groups += p.groups > 1;
    with_dil += (p.dil_h > 1 || p.dil_w > 1);
  }
  EXPECT_GT(with_out_pad, 30);
  EXPECT_GT(with_groups, 30);
  EXPECT_GT(with_dil, 30);
}

TEST(CutlassDgradMap, StaticSupportIsNhwcAndTheFourDtypes) {
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
    EXPECT_TRUE(cd::static_support({t, Layout::nhwc}).ok);
    const Support s = cd::static_support({t, Layout::nchw});
    EXPECT_FALSE(s.ok);
    EXPECT_NE(s.reason.find("nchw"), std::string::npos);
  }
  EXPECT_FALSE(cd::static_support({DType::fp64, Layout::nhwc}).ok);
}

#ifdef TCONV_HAVE_CUTLASS

Problem aligned_problem() {  // DCGAN-like: k4 s2 p1, channels multiples of 8
  Problem p;
  p.n = 2, p.c_in = 32, p.c_out = 16, p.h_in = p.w_in = 8, p.k_h = p.k_w = 4;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1, p.has_bias = true;
  EXPECT_EQ(p.validate(), "");
  return p;
}

TEST(CutlassDgradCanImplement, CutlassOwnAnswersOnTheCpu) {
  const Problem ok = aligned_problem();
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
    const cd::Runners rs = cd::runners_for(t);
    ASSERT_GE(rs.size(), 2u) << to_string(t);
    for (const auto& r : rs) {
      EXPECT_EQ(r->can_implement(cd::shape_of(ok)), "") << r->name();
      EXPECT_EQ(r->workspace_bytes(cd::shape_of(ok)), 0u) << r->name();
    }
    // output_padding and stride > kernel are only larger H, W: accepted.
    Problem op = ok;
    op.k_h = op.k_w = 1, op.stride_h = 3, op.stride_w = 2, op.pad_h = op.pad_w = 0;
    op.out_pad_h = 2, op.out_pad_w = 1;
    ASSERT_EQ(op.validate(), "");
    for (const auto& r : rs) EXPECT_EQ(r->can_implement(cd::shape_of(op)), "") << r->name();
    // Dilation: CUTLASS's strided dgrad refuses it (kErrorNotSupported).
    Problem dil = ok;
    dil.dil_h = 2;
    for (const auto& r : rs)
      EXPECT_EQ(r->can_implement(cd::shape_of(dil)), "Error Not Supported") << r->name();
    // Groups: no grouped mode in CUTLASS's dgrad (kErrorInvalidProblem).
    Problem grp = ok;
    grp.groups = 2;
    ASSERT_EQ(grp.validate(), "");
    for (const auto& r : rs)
      EXPECT_EQ(r->can_implement(cd::shape_of(grp)), "Error Invalid Problem") << r->name();
  }
  // Vector width: 3 output channels cannot be read 128 bits at a time, which CUTLASS's operand
  // iterators report as an invalid problem; one element per access (SIMT fp32) takes them.
  Problem rgb = aligned_problem();
  rgb.c_out = 3;
  for (DType t : {DType::tf32, DType::fp16, DType::bf16})
    for (const auto& r : cd::runners_for(t))
      EXPECT_EQ(r->can_implement(cd::shape_of(rgb)), "Error Invalid Problem") << r->name();
  // The same for the reduction channels (C_in = dgrad's K).
  Problem k6 = aligned_problem();
  k6.c_in = 6;
  for (DType t : {DType::fp16, DType::bf16})
    for (const auto& r : cd::runners_for(t))
      EXPECT_NE(r->can_implement(cd::shape_of(k6)), "") << r->name();
  for (const auto& r : cd::runners_for(DType::fp32))
    EXPECT_EQ(r->can_implement(cd::shape_of(k6)), "") << r->name();
  for (const auto& r : cd::runners_for(DType::fp32))
    EXPECT_EQ(r->can_implement(cd::shape_of(rgb)), "") << r->name();
  // Configuration names say the dtype, tile and alignment; all distinct.
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
    std::vector<std::string> names;
    for (const auto& r : cd::runners_for(t)) names.push_back(r->name());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
    for (const std::string& n : names) EXPECT_NE(n.find("align"), std::string::npos) << n;
  }
}

TEST(CutlassDgradCanImplement, RowReportsCutlassReasons) {
  auto impl = create_implementation("cutlass_dgrad");
  EXPECT_EQ(impl->name(), "cutlass_dgrad");
  EXPECT_EQ(impl->backend(), Backend::gpu);
  EXPECT_EQ(impl->algo(), "");
  const Problem ok = aligned_problem();
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
    EXPECT_TRUE(impl->can_implement(ok, {t, Layout::nhwc}).ok) << to_string(t);
    EXPECT_FALSE(impl->can_implement(ok, {t, Layout::nchw}).ok) << to_string(t);
  }
  Problem dil = ok;
  dil.dil_w = 3;
  const Support s = impl->can_implement(dil, {DType::fp16, Layout::nhwc});
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.reason.find("Error Not Supported"), std::string::npos) << s.reason;
  EXPECT_NE(s.reason.find("dilation"), std::string::npos) << s.reason;
  EXPECT_EQ(s.reason.find('\n'), std::string::npos);
  Problem rgb = ok;
  rgb.c_out = 3;
  const Support m = impl->can_implement(rgb, {DType::bf16, Layout::nhwc});
  EXPECT_FALSE(m.ok);
  EXPECT_NE(m.reason.find("Error Invalid Problem"), std::string::npos) << m.reason;
  EXPECT_NE(m.reason.find("multiples of 8"), std::string::npos) << m.reason;
  EXPECT_TRUE(impl->can_implement(rgb, {DType::fp32, Layout::nhwc}).ok);
}

TEST(CutlassDgradCanImplement, RegisteredOnlyWithCutlass) {
  const std::vector<std::string> names = implementation_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cutlass_dgrad"), names.end());
}

// ---- GPU -----------------------------------------------------------------------------------

TEST(GpuCutlassDgrad, MatchesReferenceInEveryDtype) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  Context ctx;
  std::mt19937_64 rng(63);
  std::vector<Problem> problems = {aligned_problem()};
  Problem odd = aligned_problem();  // stride > kernel, output_padding, asymmetric
  odd.n = 1, odd.h_in = 5, odd.w_in = 7, odd.k_h = 2, odd.k_w = 3, odd.stride_h = 3;
  odd.stride_w = 2, odd.pad_h = 0, odd.pad_w = 1, odd.out_pad_h = 2, odd.out_pad_w = 1;
  problems.push_back(odd);
  for (const Problem& p : problems) {
    ASSERT_EQ(p.validate(), "");
    for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
      std::vector<double> x = testing::random_data(rng, p.x_elems());
      std::vector<double> w = testing::random_data(rng, p.w_elems());
      std::vector<double> b = testing::random_data(rng, p.bias_elems());
      convert::round_all(t, x), convert::round_all(t, w), convert::round_all(t, b);
      auto upload = [&](DeviceBuffer& buf, const std::vector<double>& v) {
        const auto bytes = convert::to_storage(t, v.data(), v.size());
        buf.resize(std::max<size_t>(bytes.size(), 1));
        TCONV_CUDA_CHECK(cudaMemcpy(buf.get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
      };
      DeviceBuffer dx, dw, db, dy;
      upload(dx, convert::nchw_to_nhwc(x.data(), p.n, p.c_in, p.h_in, p.w_in));
      upload(dw, convert::nchw_to_nhwc(w.data(), p.c_in, p.c_out_per_group(), p.k_h, p.k_w));
      upload(db, b);
      dy.resize(size_t(p.y_elems()) * storage_bytes(t));
      TCONV_CUDA_CHECK(cudaMemset(dy.get(), 0xFF, dy.bytes()));  // NaN in every dtype
      TCONV_CUDA_CHECK(cudaDeviceSynchronize());
      Tensors ts{dx.get(), dw.get(), db.get(), dy.get()};
      auto impl = create_implementation("cutlass_dgrad");
      const Config cfg{t, Layout::nhwc};
      ASSERT_TRUE(impl->can_implement(p, cfg).ok) << to_string(t);
      Prepared prep;
      const auto held = prepare_on_device(ctx, *impl, p, cfg, ts, &prep);
      ASSERT_TRUE(prep.status.is_ok()) << to_string(t) << ": " << prep.status.reason;
      EXPECT_FALSE(impl->algo().empty());
      TCONV_CUDA_CHECK(cudaMemset(dy.get(), 0xFF, dy.bytes()));
      TCONV_CUDA_CHECK(cudaDeviceSynchronize());
      impl->run(ctx, p, cfg, ts);
      ctx.synchronize();
      std::vector<unsigned char> bytes(dy.bytes());
      TCONV_CUDA_CHECK(cudaMemcpy(bytes.data(), dy.get(), bytes.size(), cudaMemcpyDeviceToHost));
      const std::vector<double> got_nhwc =
          convert::from_storage(t, bytes.data(), size_t(p.y_elems()));
      const std::vector<double> got =
          convert::nhwc_to_nchw(got_nhwc.data(), p.n, p.c_out, p.h_out(), p.w_out());
      std::vector<double> ref(size_t(p.y_elems()));
      ref::direct(p, x.data(), w.data(), b.data(), ref.data());
      const ErrorMetrics m = compare(got.data(), ref.data(), got.size());
      EXPECT_EQ(check_tolerance(m, tolerance(t, reduction_length(p))), "")
          << to_string(t) << " " << p.to_string() << " [" << impl->algo() << "]";
    }
  }
}

#else

TEST(CutlassDgradCanImplement, NotRegisteredWithoutCutlass) {
  const std::vector<std::string> names = implementation_names();
  EXPECT_EQ(std::find(names.begin(), names.end(), "cutlass_dgrad"), names.end());
}

#endif

}  // namespace
}  // namespace tconv
