// The measurement code's own GPU work, on the CPU: the ceilings' operand fill kernels and GEMM
// arguments (bench/ceilings_kernels.cuh) and GpuTimer's stream-hold kernel
// (kernels/common/gpu_timer_kernel.cuh), through the production launch code.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "tests/support/host_blas.hpp"
#include "tests/support/kernel_check.hpp"
#include "bench/ceilings_kernels.cuh"
#include "kernels/common/gpu_timer_kernel.cuh"

namespace tconv {
namespace {

template <typename T>
void check_fill(int64_t n) {
  // Poisoned first: every element must be written.
  auto a = ::cpu_cuda::device_vec(size_t(n), T(std::numeric_limits<float>::quiet_NaN()), "a");
  auto b = ::cpu_cuda::device_vec(size_t(n), T(std::numeric_limits<float>::quiet_NaN()), "b");
  ceilings::launch_fill<T>(nullptr, a.data(), n);
  ceilings::launch_fill<T>(nullptr, b.data(), n);
  double sum = 0, sum2 = 0;
  int distinct_sign = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = double(float(a[size_t(i)]));
    ASSERT_TRUE(std::isfinite(v)) << "element " << i << " not written";
    ASSERT_GE(v, -1.0);
    ASSERT_LE(v, 1.0);
    ASSERT_EQ(double(float(b[size_t(i)])), v) << "the fill must be the same every run";
    sum += v, sum2 += v * v;
    distinct_sign += v < 0;
  }
  // Uniform in [-1, 1): mean about 0, mean square about 1/3, both signs, never all zeros.
  EXPECT_NEAR(sum / double(n), 0.0, 0.05);
  EXPECT_NEAR(sum2 / double(n), 1.0 / 3.0, 0.05);
  EXPECT_GT(distinct_sign, n / 4);
  EXPECT_LT(distinct_sign, 3 * n / 4);
}

TEST(CpuRunCeilings, FillKernelsWriteEveryElementWithUniformValues) {
  ::cpu_cuda::set_seed(7);
  check_fill<float>(5000);
  check_fill<__half>(5000);
}

// The same fills with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunCeilings, FillKernelsUnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  ::cpu_cuda::set_seed(7);
  check_fill<float>(5000);
  check_fill<__half>(5000);
}

TEST(CpuRunCeilings, GemmArgumentsComputeTheSquareProductAndItsFlops) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int64_t n : {1, 7, 16}) {
    std::vector<float> a(size_t(n * n)), b(size_t(n * n));
    for (auto& v : a) v = float(u(rng));
    for (auto& v : b) v = float(u(rng));
    std::vector<float> c(size_t(n * n), std::numeric_limits<float>::quiet_NaN());  // beta = 0
    const GemmArgs g = ceilings::square_gemm_args(n, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F,
                                                  a.data(), b.data(), c.data());
    ASSERT_EQ(testing::host_gemm(g), "");
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double want = 0;
        for (int64_t l = 0; l < n; ++l)  // column-major: A(i, l) = a[i + l*n]
          want += double(a[size_t(i + l * n)]) * double(b[size_t(l + j * n)]);
        ASSERT_NEAR(double(c[size_t(i + j * n)]), want, 1e-5) << i << "," << j;
      }
    EXPECT_EQ(ceilings::gemm_flops(g), 2.0 * double(n) * double(n) * double(n));
  }
}

TEST(CpuRunGpuTimer, HoldKernelReturnsWhenReleasedAndMarksATimeout) {
  ::cpu_cuda::set_seed(11);
  // The host-mapped pinned words GpuTimer hands the kernel.
  auto words = ::cpu_cuda::device_vec<int32_t>(2, 0, "words");
  words[0] = 1;  // released before it starts: no timeout
  launch(hold_stream_kernel, dim3(1), dim3(1), 0, nullptr, words.data(), uint64_t(10) * 1000 * 1000 * 1000);
  EXPECT_EQ(words[1], 0);
  words[0] = 0;  // never released: gives up after 1 ms and says so
  launch(hold_stream_kernel, dim3(1), dim3(1), 0, nullptr, words.data(), uint64_t(1000) * 1000);
  EXPECT_EQ(words[1], 1);
}

}  // namespace
}  // namespace tconv
