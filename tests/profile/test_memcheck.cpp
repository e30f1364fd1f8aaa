// The profiler's memcheck on kernels written to break it: every kind of invalid access the
// profiler must see, each failing the launch with its site, address and nearest allocation.
#include <gtest/gtest.h>

#include <string>

#include "kernels/common/launch.cuh"
#include "cpu_cuda/device_memory.hpp"
#include "cpu_cuda/profiler.hpp"
#include "tests/profile/launch_error.hpp"

namespace tconv {
namespace {

namespace prof = ::cpu_cuda::prof;

__global__ void copy_kernel(const float* x, float* y, int n, int read_extra) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) {
    float v = x[i];
    if (read_extra && i == n - 1) {
      const float discarded = x[i + read_extra];  // read past the end, value not used
      v += discarded * 0.0f;
    }
    y[i] = v;
  }
}

__global__ void shared_kernel(const float* x, float* y, int skip_one) {
  __shared__ float tile[64];
  const int t = int(threadIdx.x);
  if (!(skip_one && t == 5)) tile[t] = x[t];
  __syncthreads();
  y[t] = tile[63 - t];
}

__global__ void shared_overrun_kernel(float* y) {
  __shared__ float tile[32];
  tile[threadIdx.x] = 1.0f;
  __syncthreads();
  y[threadIdx.x] = tile[threadIdx.x + 1];  // lane 31 reads tile[32]
}

using profile::launch_error;

class Memcheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prof::instrumented()) GTEST_SKIP() << "not an instrumented binary";
    prof::Settings s;
    s.memcheck = true;
    prof::configure(s);
  }
};

TEST_F(Memcheck, InBoundsKernelPasses) {
  auto x = ::cpu_cuda::device_vec<float>(100, 1.0f, "x");
  auto y = ::cpu_cuda::device_vec<float>(100, 0.0f, "y");
  EXPECT_EQ(launch_error([&] { launch(copy_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 100, 0); }), "");
  EXPECT_EQ(y[99], 1.0f);
}

TEST_F(Memcheck, DiscardedReadOnePastTheEndFails) {
  auto x = ::cpu_cuda::device_vec<float>(100, 1.0f, "x");
  auto y = ::cpu_cuda::device_vec<float>(100, 0.0f, "y");
  const std::string what = launch_error(
      [&] { launch(copy_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 100, 1); });
  EXPECT_NE(what.find("memcheck: invalid global load of 4 bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("test_memcheck.cpp:"), std::string::npos) << what;
  EXPECT_NE(what.find("nearest allocation 'x'"), std::string::npos) << what;
  EXPECT_NE(what.find("starts 0 bytes past its end"), std::string::npos) << what;
  EXPECT_NE(what.find("block (1,0,0) thread 35"), std::string::npos) << what;
}

TEST_F(Memcheck, FreedBufferFails) {
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  const float* stale;
  {
    auto x = ::cpu_cuda::device_vec<float>(64, 1.0f, "x");
    stale = x.data();
  }
  const std::string what = launch_error(
      [&] { launch(copy_kernel, dim3(1), dim3(64), 0, nullptr, stale, y.data(), 64, 0); });
  EXPECT_NE(what.find("invalid global load"), std::string::npos) << what;
}

TEST_F(Memcheck, HostMemoryFails) {
  std::vector<float> x(64, 1.0f);  // not the runtime's device memory
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  const std::string what = launch_error(
      [&] { launch(copy_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), y.data(), 64, 0); });
  EXPECT_NE(what.find("invalid global load"), std::string::npos) << what;
}

TEST_F(Memcheck, UninitializedSharedReadFails) {
  auto x = ::cpu_cuda::device_vec<float>(64, 1.0f, "x");
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  EXPECT_EQ(launch_error([&] { launch(shared_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 0); }), "");
  const std::string what = launch_error(
      [&] { launch(shared_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 1); });
  EXPECT_NE(what.find("memcheck: uninitialized shared load of 4 bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("byte 20 of"), std::string::npos) << what;
  EXPECT_NE(what.find("thread 58"), std::string::npos) << what;
}

TEST_F(Memcheck, SharedOverrunFails) {
  auto y = ::cpu_cuda::device_vec<float>(32, 0.0f, "y");
  const std::string what =
      launch_error([&] { launch(shared_overrun_kernel, dim3(1), dim3(32), 0, nullptr, y.data()); });
  EXPECT_NE(what.find("memcheck: invalid shared load of 4 bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("thread 31"), std::string::npos) << what;
}

}  // namespace
}  // namespace tconv
