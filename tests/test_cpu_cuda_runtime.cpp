// The CPU runtime itself (cpu_cuda): the properties the kernel tests rely on to fail on a
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

// ldmatrix.x4 on a 32x8 tile of 16-bit values r*8+c: lane l gives row l (row l%8 of matrix l/8).
template <bool Trans>
__global__ void ldmatrix_kernel(uint32_t* out) {
  __shared__ __align__(16) uint16_t s[32 * 8];
  for (int c = 0; c < 8; ++c) s[threadIdx.x * 8 + c] = uint16_t(threadIdx.x * 8 + c);
  __syncwarp();
  uint32_t d[4];
  ::cpu_cuda::ldmatrix_b16<4>(d, s + threadIdx.x * 8, Trans);
  for (int i = 0; i < 4; ++i) out[threadIdx.x * 4 + i] = d[i];
}

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

// The PTX ISA's m8n8 .b16 fragment (its figure for ldmatrix): lane l holds row l/4, columns
// 2*(l%4) and 2*(l%4)+1 of each matrix, low half first; .trans the same of the transposed matrix.
// A few entries read off the figure, then every entry.
TEST(CpuCudaRuntime, LdmatrixFollowsThePtxFragment) {
  auto pair = [](uint32_t lo, uint32_t hi) { return lo | hi << 16; };
  std::vector<uint32_t> out(32 * 4);
  launch(ldmatrix_kernel<false>, 1, 32, 0, nullptr, out.data());
  EXPECT_EQ(out[0 * 4 + 0], pair(0, 1));        // lane 0, matrix 0: row 0, columns 0-1
  EXPECT_EQ(out[5 * 4 + 2], pair(138, 139));    // lane 5, matrix 2: row 17 (1 of 2), columns 2-3
  EXPECT_EQ(out[31 * 4 + 3], pair(254, 255));   // lane 31, matrix 3: row 31, columns 6-7
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const uint32_t row = uint32_t(8 * i + l / 4), col = uint32_t(2 * (l % 4));
      ASSERT_EQ(out[size_t(l * 4 + i)], pair(row * 8 + col, row * 8 + col + 1)) << l << " " << i;
    }
  launch(ldmatrix_kernel<true>, 1, 32, 0, nullptr, out.data());
  EXPECT_EQ(out[0 * 4 + 0], pair(0, 8));        // lane 0: column 0, rows 0-1
  EXPECT_EQ(out[5 * 4 + 2], pair(145, 153));    // lane 5, matrix 2: column 1, rows 18-19
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const uint32_t col = uint32_t(l / 4), row = uint32_t(8 * i + 2 * (l % 4));
      ASSERT_EQ(out[size_t(l * 4 + i)], pair(row * 8 + col, (row + 1) * 8 + col)) << l << " " << i;
    }
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
