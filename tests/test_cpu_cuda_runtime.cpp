// The CPU runtime itself (tests/cpu_cuda): the properties the kernel tests rely on to fail on a
// wrong kernel, each shown with a small kernel that gets it wrong.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/common/launch.cuh"

namespace tconv {
namespace {

constexpr int kN = 64;

// Each thread writes its slot, then reads its neighbour's: needs the barrier in between.
template <bool Barrier>
__global__ void neighbour_kernel(int* out) {
  __shared__ int s[kN];
  s[threadIdx.x] = int(threadIdx.x + blockIdx.x * 1000);
  if (Barrier) __syncthreads();
  out[blockIdx.x * kN + threadIdx.x] = s[(threadIdx.x + 1) % kN];
}

__global__ void uninitialized_shared_kernel(float* out) {
  __shared__ float s[kN];
  if (threadIdx.x == 0) s[0] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

__global__ void atomic_kernel(float* sum) { atomicAdd(sum, float(threadIdx.x + blockIdx.x)); }

__global__ void misaligned_kernel(const float* p) { (void)__ldg(reinterpret_cast<const float4*>(p + 1)); }

__global__ void divergent_barrier_kernel() {
  if (threadIdx.x == 0) return;
  __syncthreads();
  __syncthreads();
}

TEST(CpuCudaRuntime, BarrierOrdersSharedMemory) {
  std::vector<int> out(3 * kN, -7);
  launch(neighbour_kernel<true>, 3, kN, 0, nullptr, out.data());
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < kN; ++t) ASSERT_EQ(out[size_t(b * kN + t)], (t + 1) % kN + b * 1000);
  EXPECT_EQ(::cpu_cuda::last_launch().grid.x, 3u);
  EXPECT_EQ(::cpu_cuda::last_launch().block.x, unsigned(kN));
}

TEST(CpuCudaRuntime, MissingBarrierGivesAWrongResult) {
  ::cpu_cuda::set_seed(7);
  std::vector<int> out(3 * kN, -7);
  launch(neighbour_kernel<false>, 3, kN, 0, nullptr, out.data());
  int wrong = 0;
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < kN; ++t) wrong += out[size_t(b * kN + t)] != (t + 1) % kN + b * 1000;
  EXPECT_GT(wrong, 0) << "threads ran in an order that hid the missing barrier";
}

TEST(CpuCudaRuntime, SharedMemoryStartsPoisoned) {
  std::vector<float> out(kN, 0.0f);
  launch(uninitialized_shared_kernel, 1, kN, 0, nullptr, out.data());
  EXPECT_EQ(out[0], 1.0f);
  for (int t = 1; t < kN; ++t) EXPECT_TRUE(std::isnan(out[size_t(t)])) << t;
}

TEST(CpuCudaRuntime, AtomicAddSumsEveryThread) {
  float sum = 0;
  launch(atomic_kernel, 2, kN, 0, nullptr, &sum);
  EXPECT_EQ(sum, float(2 * (kN * (kN - 1) / 2) + kN));
}

TEST(CpuCudaRuntime, MisalignedVectorLoadThrows) {
  alignas(16) float buf[8] = {};
  EXPECT_THROW(launch(misaligned_kernel, 1, 1, 0, nullptr, buf), std::runtime_error);
}

TEST(CpuCudaRuntime, BlockOverLimitAndDeadlockThrow) {
  EXPECT_THROW(launch(atomic_kernel, 1, 2048, 0, nullptr, static_cast<float*>(nullptr)),
               std::runtime_error);
  EXPECT_THROW(launch(atomic_kernel, dim3(1, 70000), 32, 0, nullptr, static_cast<float*>(nullptr)),
               std::runtime_error);
  // Thread 0 leaves; the others still meet at both barriers (exited threads do not count).
  EXPECT_NO_THROW(launch(divergent_barrier_kernel, 1, 32, 0, nullptr));
}

}  // namespace
}  // namespace tconv
