// The plain kernels around the cuDNN and CUTLASS calls, run on the CPU runtime through the
// production launch code (kernels/cudnn/cudnn_kernels.cuh): the bias pass after backward-data,
// and zero_insert_cudnn's zero-inserted input and flipped weight, which then go through an fp64
// host forward convolution with exactly the parameters build_zero_insert_forward gives cuDNN
// (stride 1, pad 0, the problem's dilation and groups, cross-correlation), against ref::direct.
#include <algorithm>
#include <cmath>

#include "tests/support/kernel_check.hpp"
#include "kernels/cudnn/cudnn_kernels.cuh"

namespace tconv {
namespace {

using testing::HostRun;

template <typename T>
void bias_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    Problem p = testing::cpu_run_problem(rng, i);
    p.has_bias = true;
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      // y as the library leaves it (no bias), in the layout and storage dtype.
      std::vector<double> y0(size_t(p.y_elems()));
      ref::direct(p, r.x.data(), r.w.data(), nullptr, y0.data());
      convert::round_all(dt, y0);
      if (nhwc) y0 = convert::nchw_to_nhwc(y0.data(), p.n, p.c_out, p.h_out(), p.w_out());
      r.ys = ::cpu_cuda::to_device(convert::to_storage(dt, y0.data(), y0.size()), "y");
      bias_pass::launch_bias_add<T>(nullptr, p, nhwc, r.bp<T>(), r.yp<T>());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunCudnnKernels, BiasAddFp32) { bias_case<float>(DType::fp32, 301); }
TEST(CpuRunCudnnKernels, BiasAddFp16) { bias_case<__half>(DType::fp16, 302); }
TEST(CpuRunCudnnKernels, BiasAddBf16) { bias_case<__nv_bfloat16>(DType::bf16, 303); }
// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunCudnnKernels, BiasAddFp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  bias_case<float>(DType::fp32, 301);
}

// y = forward cross-correlation of z with wz, stride 1, pad 0, dilation and groups of p, every
// operand addressed through the geometry the cuDNN descriptors are built from.
std::vector<double> host_forward(const Problem& p, Layout l, const std::vector<double>& z,
                                 const std::vector<double>& wz) {
  const dnn::Geometry gz = dnn::zi_input(p, l), gw = dnn::zi_filter(p, l), gy = dnn::zi_output(p, l);
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  std::vector<double> y(size_t(gy.elems()), 0.0);
  for (int64_t n = 0; n < gy.dims[0]; ++n)
    for (int64_t k = 0; k < gy.dims[1]; ++k) {
      const int64_t g = k / cog;
      for (int64_t oy = 0; oy < gy.dims[2]; ++oy)
        for (int64_t ox = 0; ox < gy.dims[3]; ++ox) {
          double acc = 0;
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t r = 0; r < p.k_h; ++r)
              for (int64_t s = 0; s < p.k_w; ++s)
                acc += z[size_t(gz.offset(n, g * cig + c, oy + r * p.dil_h, ox + s * p.dil_w))] *
                       wz[size_t(gw.offset(k, c, r, s))];
          y[size_t(gy.offset(n, k, oy, ox))] = acc;
        }
    }
  return y;
}

template <typename T>
void zero_insert_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    for (bool nhwc : {false, true}) {
      const Layout l = nhwc ? Layout::nhwc : Layout::nchw;
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      const int64_t z_total = dnn::zi_input(p, l).elems();
      // Poisoned like the device buffers would be after an earlier row: every element of z and
      // wz must be written.
      std::vector<double> nan_z(size_t(z_total), std::numeric_limits<double>::quiet_NaN());
      std::vector<double> nan_w(size_t(p.w_elems()), std::numeric_limits<double>::quiet_NaN());
      const auto z = ::cpu_cuda::to_device(convert::to_storage(dt, nan_z.data(), nan_z.size()), "z");
      const auto wz = ::cpu_cuda::to_device(convert::to_storage(dt, nan_w.data(), nan_w.size()), "wz");
      dnn_kernels::launch_zero_insert_transform<T>(nullptr, p, nhwc, r.xp<T>(),
                                                   reinterpret_cast<T*>(const_cast<unsigned char*>(z.data())), z_total,
                                                   r.wp<T>(), reinterpret_cast<T*>(const_cast<unsigned char*>(wz.data())));
      std::vector<double> y = host_forward(p, l, convert::from_storage(dt, z.data(), size_t(z_total)),
                                           convert::from_storage(dt, wz.data(), size_t(p.w_elems())));
      if (p.has_bias)  // the bias pass is its own kernel (tested above)
        for (int64_t e = 0; e < int64_t(y.size()); ++e)
          y[size_t(e)] += r.b[size_t(dnn::output_channel<int64_t>(p, nhwc, e))];
      convert::round_all(dt, y);
      r.ys = ::cpu_cuda::to_device(convert::to_storage(dt, y.data(), y.size()), "y");
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunCudnnKernels, ZeroInsertTransformFp32) { zero_insert_case<float>(DType::fp32, 311); }
TEST(CpuRunCudnnKernels, ZeroInsertTransformFp16) { zero_insert_case<__half>(DType::fp16, 312); }
TEST(CpuRunCudnnKernels, ZeroInsertTransformBf16) {
  zero_insert_case<__nv_bfloat16>(DType::bf16, 313);
}
TEST(CpuRunCudnnKernels, ZeroInsertTransformFp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  zero_insert_case<float>(DType::fp32, 311);
}

// Weights with more elements than the capped grid has threads, which the small problems above
// rarely have: the flip's loop takes several passes. wz must hold each weight element once.
TEST(CpuRunCudnnKernels, FlipOfWideWeightsUnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  std::mt19937_64 rng(314);
  ::cpu_cuda::set_seed(314);
  for (int i = 0; i < 4; ++i) {
    Problem p;
    p.groups = 1 + i % 2, p.c_in = 12 * p.groups, p.c_out = 8 * p.groups;
    p.k_h = 4 + i % 2, p.k_w = 5, p.h_in = p.w_in = 2, p.stride_h = p.stride_w = 2;
    ASSERT_EQ(p.validate(), "");
    ASSERT_GT(p.w_elems(), 2 * ::cpu_cuda::kTestGridCap * dnn_kernels::kThreads);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, DType::fp32, nhwc, rng);
      const int64_t z_total = dnn::zi_input(p, nhwc ? Layout::nhwc : Layout::nchw).elems();
      auto z = ::cpu_cuda::device_vec(size_t(z_total), std::nanf(""), "z");
      auto wz = ::cpu_cuda::device_vec(size_t(p.w_elems()), std::nanf(""), "wz");
      dnn_kernels::launch_zero_insert_transform<float>(nullptr, p, nhwc, r.xp<float>(), z.data(),
                                                       z_total, r.wp<float>(), wz.data());
      std::vector<float> got(wz.begin(), wz.end());
      std::vector<float> want(r.wp<float>(), r.wp<float>() + p.w_elems());
      ASSERT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return std::isfinite(v); }))
          << "an element of wz not written: " << p.to_string();
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ASSERT_EQ(got, want) << p.to_string() << (nhwc ? " nhwc" : " nchw");
    }
  }
}

}  // namespace
}  // namespace tconv
