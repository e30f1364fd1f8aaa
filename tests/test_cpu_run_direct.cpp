// scatter (with its bias fill) and gather, the real kernels run on the CPU runtime through the
// production launch code, against ref::direct.
#include "tests/support/kernel_check.hpp"
#include "kernels/direct/gather_kernel.cuh"
#include "kernels/direct/scatter_kernel.cuh"

namespace tconv {
namespace {

using testing::HostRun;

void scatter_case() {
  std::mt19937_64 rng(101);
  ::cpu_cuda::set_seed(1);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
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
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      gather_launch<T>(nullptr, p, nhwc, r.tensors());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunDirect, ScatterMatchesDirect) { scatter_case(); }
TEST(CpuRunDirect, GatherFp32MatchesDirect) { gather_case<float>(DType::fp32, 102); }
TEST(CpuRunDirect, GatherFp16MatchesDirect) { gather_case<__half>(DType::fp16, 103); }
TEST(CpuRunDirect, GatherBf16MatchesDirect) { gather_case<__nv_bfloat16>(DType::bf16, 104); }
// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunDirect, ScatterUnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  scatter_case();
}
TEST(CpuRunDirect, GatherFp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  gather_case<float>(DType::fp32, 102);
}

}  // namespace
}  // namespace tconv
