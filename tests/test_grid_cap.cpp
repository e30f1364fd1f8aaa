// The tests' grid cap (cpu_cuda/grid_cap.hpp) and why the CPU-runtime tests rerun their
// problems under it: a grid-stride loop with a slip in its step passes every small problem on the
// production grid (one pass per thread) and fails once the grid is capped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/launch.cuh"

namespace tconv {
namespace {

TEST(GridCap, ClampsGridExtentAndGridBlocksWhileItLives) {
  EXPECT_EQ(grid_blocks(1000, 256), 4);
  EXPECT_EQ(grid_blocks(int64_t(1) << 40, 256), 1 << 20);  // the production cap
  EXPECT_EQ(grid_extent(0, 65535), 1u);
  {
    ::cpu_cuda::GridCap cap(2, false);
    EXPECT_EQ(grid_blocks(1000, 256), 2);
    EXPECT_EQ(grid_blocks(100, 256), 1);  // never more blocks than the work needs
    EXPECT_EQ(grid_extent(70000, 65535), 2u);
    {
      ::cpu_cuda::GridCap inner(3, true);
      std::vector<unsigned> got;
      for (int i = 0; i < 7; ++i) got.push_back(grid_extent(1000, 65535));
      EXPECT_EQ(got, (std::vector<unsigned>{1, 2, 3, 1, 2, 3, 1}));
    }
    EXPECT_EQ(grid_blocks(1000, 256), 2);  // the outer cap is back
  }
  EXPECT_EQ(grid_blocks(1000, 256), 4);
}

TEST(GridCap, LaunchesTheCappedGrid) {
  Problem p;
  p.n = 2, p.c_in = 3, p.c_out = 5, p.h_in = p.w_in = 9, p.k_h = p.k_w = 3, p.stride_h = 2,
  p.stride_w = 2;
  ASSERT_EQ(p.validate(), "");
  ASSERT_GT(p.y_elems(), 3 * kBiasFillThreads);
  const std::vector<float> bias = {1, 2, 3, 4, 5};
  for (int64_t cap : {1, 2, 3}) {
    ::cpu_cuda::GridCap c(cap, false);
    std::vector<float> y(size_t(p.y_elems()), std::numeric_limits<float>::quiet_NaN());
    launch_bias_fill<float>(nullptr, p, false, bias.data(), y.data());
    EXPECT_EQ(::cpu_cuda::last_launch().grid.x, unsigned(cap));
    const int64_t hw = p.h_out() * p.w_out();
    for (int64_t e = 0; e < p.y_elems(); ++e)
      ASSERT_EQ(y[size_t(e)], bias[size_t(e / hw % p.c_out)]) << "cap " << cap << " e " << e;
  }
}

// A grid-stride loop as our kernels write it, and the slips a GPU would meet first on problems
// larger than one pass of the production grid. The body counts its visits to each element.
enum class Slip { none, doubled_step, block_step, no_block_start };

template <Slip S>
__global__ void visit_kernel(int64_t total, int* visits) {
  const int64_t start = S == Slip::no_block_start
                            ? int64_t(threadIdx.x)
                            : blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t step = S == Slip::doubled_step ? 2 * int64_t(gridDim.x) * blockDim.x
                       : S == Slip::block_step ? int64_t(blockDim.x)
                                               : int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = start; e < total; e += step) visits[e] += 1;
}

// Whether every element was visited exactly once on the grid grid_blocks gives.
template <Slip S>
bool visits_each_once(int64_t total) {
  std::vector<int> visits(size_t(total), 0);
  launch(visit_kernel<S>, grid_blocks(total, kBiasFillThreads), kBiasFillThreads, 0, nullptr,
         total, visits.data());
  return std::all_of(visits.begin(), visits.end(), [](int v) { return v == 1; });
}

TEST(GridCap, ASlipInTheStepShowsOnlyUnderTheCap) {
  const int64_t total = 5000;
  ::cpu_cuda::set_seed(5);
  // The production grid: one pass per thread, so a doubled step goes unnoticed.
  EXPECT_TRUE(visits_each_once<Slip::none>(total));
  EXPECT_TRUE(visits_each_once<Slip::doubled_step>(total));
  for (int64_t cap : {1, 2, 3}) {
    ::cpu_cuda::GridCap c(cap, false);
    EXPECT_TRUE(visits_each_once<Slip::none>(total)) << cap;
    EXPECT_FALSE(visits_each_once<Slip::doubled_step>(total)) << cap;
    // One block is its own grid: a step of one block, or a start without the block, is right.
    EXPECT_EQ(visits_each_once<Slip::block_step>(total), cap == 1) << cap;
    EXPECT_EQ(visits_each_once<Slip::no_block_start>(total), cap == 1) << cap;
  }
}

}  // namespace
}  // namespace tconv
