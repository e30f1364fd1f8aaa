// zero_insert_direct's fill and convolution (with the weight flip of zi_weight_slot), the real
// kernels run on the CPU runtime through the production launch code, against ref::direct.
#include "tests/support/kernel_check.hpp"
#include "kernels/zero_insert/zero_insert_direct_kernel.cuh"

namespace tconv {
namespace {

using testing::HostRun;

template <typename T>
void zero_insert_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    HostRun r = testing::make_run(p, dt, false, rng);
    const kmath::ZiGeom g = kmath::zi_geom(p);
    // One batch item per chunk on odd problems, the whole batch on even ones: the chunked loop
    // (n0 > 0) and the single pass both run.
    const int64_t chunk = (i % 2) ? 1 : p.n;
    // z poisoned as y is: a position the fill skips shows up as NaN.
    std::vector<double> nan(size_t(chunk * kmath::zi_item_elems(g)),
                            std::numeric_limits<double>::quiet_NaN());
    auto z = ::cpu_cuda::to_device(convert::to_storage(dt, nan.data(), nan.size()), "z");
    zi_run<T>(nullptr, p, r.tensors(), reinterpret_cast<T*>(z.data()), chunk);
    ASSERT_EQ(testing::judge(r), "") << testing::describe(r) << " chunk " << chunk;
  }
}

// More (input channel, tap) entries than one shared-memory chunk holds (kZiChunk): the weights
// are staged in several rounds, and the barrier that keeps a round from overwriting weights still
// being read gets exercised.
TEST(CpuRunZeroInsert, SeveralWeightChunksMatchDirect) {
  std::mt19937_64 rng(204);
  ::cpu_cuda::set_seed(204);
  for (int i = 0; i < 4; ++i) {
    Problem p;
    p.c_in = 12, p.c_out = 3, p.k_h = p.k_w = 5, p.h_in = 3, p.w_in = 4;
    p.stride_h = 2, p.stride_w = 1 + i % 2, p.pad_h = 1, p.has_bias = i % 2 == 0;
    ASSERT_GT(p.c_in_per_group() * p.k_h * p.k_w, kZiChunk);
    HostRun r = testing::make_run(p, DType::fp32, false, rng);
    const kmath::ZiGeom g = kmath::zi_geom(p);
    auto z = ::cpu_cuda::device_vec(size_t(p.n * kmath::zi_item_elems(g)), std::nanf(""), "z");
    zi_run<float>(nullptr, p, r.tensors(), z.data(), p.n);
    ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
  }
}

TEST(CpuRunZeroInsert, Fp32MatchesDirect) { zero_insert_case<float>(DType::fp32, 201); }
TEST(CpuRunZeroInsert, Fp16MatchesDirect) { zero_insert_case<__half>(DType::fp16, 202); }
TEST(CpuRunZeroInsert, Bf16MatchesDirect) { zero_insert_case<__nv_bfloat16>(DType::bf16, 203); }
// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunZeroInsert, Fp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  zero_insert_case<float>(DType::fp32, 201);
}

}  // namespace
}  // namespace tconv
