// Begin/end padding outside PyTorch's form (ONNX's pads, SAME_UPPER, output_shape past the full
// output: core/problem.hpp) through our own kernels on the CPU runtime, the same launch code as
// tests/test_cpu_run_*.cpp, against ref::direct. Every problem has at least one axis whose end is
// above its begin, below zero, or more than max(stride, dil) - 1 below it.
#include "kernels/cudnn/cudnn_kernels.cuh"
#include "kernels/direct/gather_kernel.cuh"
#include "kernels/direct/scatter_kernel.cuh"
#include "kernels/explicit/explicit_gemm_kernel.cuh"
#include "kernels/explicit/explicit_spmm_kernel.cuh"
#include "kernels/gemm_col2im/gemm_col2im_kernel.cuh"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"
#include "kernels/ref/reference_gpu_kernel.cuh"
#include "kernels/zero_insert/zero_insert_direct_kernel.cuh"
#include "tests/support/host_blas.hpp"
#include "tests/support/kernel_check.hpp"

namespace tconv {
namespace {

using testing::HostRun;

constexpr int kProblems = 60;

// Every 8th with a 1x1 input, every 5th depthwise, as cpu_run_problem does.
Problem asym_problem(std::mt19937_64& rng, int i, int max_spatial = 6) {
  for (;;) {
    Problem p = testing::random_begin_end_problem(rng, max_spatial);
    if (i % 8 == 3) p.h_in = p.w_in = 1;
    if (i % 5 == 1) p.c_out = p.c_in = p.groups;
    if (p.validate().empty() && !p.pytorch_pads()) return p;
  }
}

// The draw covers all three ways out of PyTorch's form.
TEST(CpuRunAsymmetric, ProblemsCoverEveryKind) {
  std::mt19937_64 rng(900);
  int end_above = 0, end_negative = 0, past_out_pad = 0;
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    end_above += p.pad_end_h() > p.pad_begin_h() || p.pad_end_w() > p.pad_begin_w();
    end_negative += p.pad_end_h() < 0 || p.pad_end_w() < 0;
    past_out_pad += p.out_pad_h >= std::max(p.stride_h, p.dil_h) ||
                    p.out_pad_w >= std::max(p.stride_w, p.dil_w);
  }
  EXPECT_GT(end_above, 0);
  EXPECT_GT(end_negative, 0);
  EXPECT_GT(past_out_pad, 0);
}

TEST(CpuRunAsymmetric, ScatterMatchesDirect) {
  std::mt19937_64 rng(901);
  ::cpu_cuda::set_seed(901);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, DType::fp32, nhwc, rng);
      scatter_launch(nullptr, p, nhwc, r.xp<float>(), r.wp<float>(), r.bp<float>(), r.yp<float>());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

template <typename T>
void gather_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      gather_launch<T>(nullptr, p, nhwc, r.tensors());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}
TEST(CpuRunAsymmetric, GatherFp32MatchesDirect) {
  gather_case<float>(DType::fp32, 902);
}
TEST(CpuRunAsymmetric, GatherFp16MatchesDirect) {
  gather_case<__half>(DType::fp16, 903);
}

TEST(CpuRunAsymmetric, ZeroInsertDirectMatchesDirect) {
  std::mt19937_64 rng(904);
  ::cpu_cuda::set_seed(904);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    HostRun r = testing::make_run(p, DType::fp32, false, rng);
    const kmath::ZiGeom g = kmath::zi_geom(p);
    const int64_t chunk = (i % 2) ? 1 : p.n;
    auto z = ::cpu_cuda::device_vec(size_t(chunk * kmath::zi_item_elems(g)), std::nanf(""), "z");
    zi_run<float>(nullptr, p, r.tensors(), z.data(), chunk);
    ASSERT_EQ(testing::judge(r), "") << testing::describe(r) << " chunk " << chunk;
  }
}

const auto kHostGemm = [](const GemmArgs& g) {
  const std::string why = testing::host_gemm(g);
  if (!why.empty()) throw Error("cuBLAS would refuse: " + why);
};

void col2im_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    HostRun r = testing::make_run(p, dt, false, rng);
    const int64_t chunk = std::min<int64_t>(p.n, 1 + i % 3);
    const kmath::Col2imGemm full = kmath::col2im_gemm_plan(p, int(chunk));
    const int64_t tail = p.n % chunk;
    const kmath::Col2imGemm part = kmath::col2im_gemm_plan(p, int(tail == 0 ? chunk : tail));
    auto col = ::cpu_cuda::device_vec(size_t(chunk * kmath::col_item_elems(p)),
                                      std::numeric_limits<float>::quiet_NaN(), "col");
    gemm_col2im_run(nullptr, kHostGemm, p, dt, r.tensors(), col.data(), chunk, full, part);
    ASSERT_EQ(testing::judge(r), "") << testing::describe(r) << " chunk " << chunk;
  }
}
TEST(CpuRunAsymmetric, GemmCol2imFp32MatchesDirect) {
  col2im_case(DType::fp32, 905);
}
TEST(CpuRunAsymmetric, GemmCol2imTf32MatchesDirect) {
  col2im_case(DType::tf32, 906);
}

TEST(CpuRunAsymmetric, ExplicitGemmMatchesDirect) {
  std::mt19937_64 rng(907);
  ::cpu_cuda::set_seed(907);
  for (int i = 0; i < kProblems / 2; ++i) {
    const Problem p = asym_problem(rng, i, 5);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, DType::fp32, nhwc, rng);
      std::vector<double> nan(size_t(kmath::c_cols(p) * kmath::c_rows(p)),
                              std::numeric_limits<double>::quiet_NaN());
      auto ct =
          ::cpu_cuda::to_device(convert::to_storage(DType::fp32, nan.data(), nan.size()), "ct");
      build_ct_launch(nullptr, p, nhwc, DType::fp32, r.tensors().w, ct.data());
      explicit_gemm_run(nullptr, kHostGemm, p, DType::fp32, nhwc, r.tensors(), ct.data());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunAsymmetric, ExplicitSpmmMatchesDirect) {
  std::mt19937_64 rng(908);
  ::cpu_cuda::set_seed(908);
  const DType dt = DType::fp32;
  for (int i = 0; i < kProblems / 2; ++i) {
    const Problem p = asym_problem(rng, i);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      std::vector<int64_t> sy, sx;
      kmath::csr_tap_prefix(p, sy, sx);
      const int64_t nnz = kmath::csr_nnz(p, sy.data(), sx.data());
      const bool idx64 = i % 2 == 1;
      const size_t ib = idx64 ? 8 : 4;
      auto row_ptr =
          ::cpu_cuda::device_vec<unsigned char>(size_t(csr_rows(p) + 1) * ib, 0xFF, "row_ptr");
      auto col = ::cpu_cuda::device_vec<unsigned char>(size_t(std::max<int64_t>(nnz, 1)) * ib, 0xFF,
                                                       "col");
      auto val = ::cpu_cuda::device_vec<unsigned char>(
          size_t(std::max<int64_t>(nnz, 1)) * storage_bytes(dt), 0xFF, "val");
      const auto dsy = ::cpu_cuda::to_device(sy, "tap_prefix_y");
      const auto dsx = ::cpu_cuda::to_device(sx, "tap_prefix_x");
      csr_fill_launch(nullptr, p, nhwc, dt, idx64, dsy.data(), dsx.data(), r.tensors().w,
                      row_ptr.data(), col.data(), val.data());
      explicit_spmm_prefill(nullptr, p, dt, nhwc, r.tensors());
      if (nnz > 0) {
        const SpmmArgs a = explicit_spmm_args(p, dt, idx64, nnz);
        ASSERT_EQ(
            testing::host_spmm(a, row_ptr.data(), col.data(), val.data(), r.xs.data(), r.ys.data()),
            "")
            << testing::describe(r);
      }
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunAsymmetric, ReferenceGpuGatherMatchesDirect) {
  std::mt19937_64 rng(909);
  ::cpu_cuda::set_seed(909);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    HostRun r = testing::make_run(p, DType::fp64, false, rng);
    auto y =
        ::cpu_cuda::device_vec(size_t(p.y_elems()), std::numeric_limits<double>::quiet_NaN(), "y");
    const auto x = ::cpu_cuda::to_device(r.x, "x"), w = ::cpu_cuda::to_device(r.w, "w");
    const auto b = ::cpu_cuda::to_device(r.b, "bias");
    reference_gather_launch(nullptr, p, x.data(), w.data(), p.has_bias ? b.data() : nullptr,
                            y.data());
    const ErrorMetrics m = compare(y.data(), r.ref.data(), y.size());
    ASSERT_EQ(check_tolerance(m, tolerance(DType::fp64, reduction_length(p))), "") << p.to_string();
  }
}

// zero_insert_cudnn: its zero-inserted input and flipped weight (the CPU runtime), then an fp64
// host forward convolution with the parameters cuDNN is given (stride 1, pad 0, the problem's
// dilation and groups), operands addressed through the descriptors' geometry, as
// tests/test_cpu_run_cudnn_kernels.cpp does for PyTorch-form problems.
std::vector<double> host_forward(const Problem& p, Layout l, const std::vector<double>& z,
                                 const std::vector<double>& wz) {
  const dnn::Geometry gz = dnn::zi_input(p, l), gw = dnn::zi_filter(p, l),
                      gy = dnn::zi_output(p, l);
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  std::vector<double> y(size_t(gy.elems()), 0.0);
  for (int64_t n = 0; n < gy.dims[0]; ++n)
    for (int64_t k = 0; k < gy.dims[1]; ++k)
      for (int64_t oy = 0; oy < gy.dims[2]; ++oy)
        for (int64_t ox = 0; ox < gy.dims[3]; ++ox) {
          double acc = 0;
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t r = 0; r < p.k_h; ++r)
              for (int64_t s = 0; s < p.k_w; ++s)
                acc +=
                    z[size_t(gz.offset(n, k / cog * cig + c, oy + r * p.dil_h, ox + s * p.dil_w))] *
                    wz[size_t(gw.offset(k, c, r, s))];
          y[size_t(gy.offset(n, k, oy, ox))] = acc;
        }
  return y;
}

TEST(CpuRunAsymmetric, ZeroInsertCudnnTransformMatchesDirect) {
  std::mt19937_64 rng(913);
  ::cpu_cuda::set_seed(913);
  for (int i = 0; i < kProblems; ++i) {
    const Problem p = asym_problem(rng, i);
    for (bool nhwc : {false, true}) {
      const Layout l = nhwc ? Layout::nhwc : Layout::nchw;
      HostRun r = testing::make_run(p, DType::fp32, nhwc, rng);
      const int64_t z_total = dnn::zi_input(p, l).elems();
      auto z = ::cpu_cuda::device_vec(size_t(z_total), std::nanf(""), "z");
      auto wz = ::cpu_cuda::device_vec(size_t(p.w_elems()), std::nanf(""), "wz");
      dnn_kernels::launch_zero_insert_transform<float>(nullptr, p, nhwc, r.xp<float>(), z.data(),
                                                       z_total, r.wp<float>(), wz.data());
      std::vector<double> y = host_forward(
          p, l,
          convert::from_storage(DType::fp32, reinterpret_cast<const unsigned char*>(z.data()),
                                size_t(z_total)),
          convert::from_storage(DType::fp32, reinterpret_cast<const unsigned char*>(wz.data()),
                                size_t(p.w_elems())));
      if (p.has_bias)
        for (int64_t e = 0; e < int64_t(y.size()); ++e)
          y[size_t(e)] += r.b[size_t(dnn::output_channel<int64_t>(p, nhwc, e))];
      convert::round_all(DType::fp32, y);
      r.ys = ::cpu_cuda::to_device(convert::to_storage(DType::fp32, y.data(), y.size()), "y");
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

// phase_gemm, both of its paths (GEMM tiles and the direct kernel), as PhaseGemm::run launches
// them with the plan prepare() makes. The GEMM path needs more channels (pg::use_direct).
void phase_gemm_case(bool gemm_path, DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int ran = 0;
  for (int i = 0; ran < kProblems / 2; ++i) {
    Problem p = asym_problem(rng, i, 4);
    if (gemm_path) {
      p.groups = pick(1, 2);
      p.c_in = p.groups * pick(8, 24);
      p.c_out = p.groups * pick(33, 72);
      p.n = 1;
      p.k_h = std::min<int64_t>(p.k_h, 4);
      p.k_w = std::min<int64_t>(p.k_w, 4);
    }
    if (!p.validate().empty() || p.pytorch_pads()) continue;
    const bool direct = pg::use_direct(pg::make_conv_dims(pg::lower_problem(p, Layout::nchw).p));
    if (direct == gemm_path) continue;
    ++ran;
    for (bool nhwc : {false, true}) {
      const Config cfg{dt, nhwc ? Layout::nhwc : Layout::nchw};
      const pg::Plan plan = pg::plan_problem(p, cfg, 16 << (i % 4));
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      ::cpu_cuda::DeviceVec<float> partial;
      partial.resize(size_t(pg::splitk_workspace_floats(plan, p)));
      phase_gemm_launch(nullptr, plan, p, cfg, r.tensors(), partial.empty() ? nullptr : partial.data());
      ASSERT_EQ(testing::judge(r), "")
          << testing::describe(r) << (plan.direct ? " direct" : " gemm");
    }
  }
}
TEST(CpuRunAsymmetric, PhaseGemmDirectFp32MatchesDirect) {
  phase_gemm_case(false, DType::fp32, 910);
}
TEST(CpuRunAsymmetric, PhaseGemmGemmFp32MatchesDirect) {
  phase_gemm_case(true, DType::fp32, 911);
}
TEST(CpuRunAsymmetric, PhaseGemmGemmFp16MatchesDirect) {
  phase_gemm_case(true, DType::fp16, 912);
}

}  // namespace
}  // namespace tconv
