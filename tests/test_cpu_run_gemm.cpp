// gemm_col2im and explicit_gemm run whole on the CPU: our kernels (col2im, the C^T builder, the
// bias fill) on the CPU runtime through the production launch code, and the cuBLAS calls'
// arguments, built by the production functions, executed by an fp64 host GEMM that follows
// cuBLAS's documented semantics. Compared with ref::direct.
#include "tests/support/kernel_check.hpp"
#include "tests/support/host_blas.hpp"
#include "kernels/explicit/explicit_gemm_kernel.cuh"
#include "kernels/gemm_col2im/gemm_col2im_kernel.cuh"

namespace tconv {
namespace {

using testing::HostRun;

const auto kHostGemm = [](const GemmArgs& g) {
  const std::string why = testing::host_gemm(g);
  if (!why.empty()) throw Error("cuBLAS would refuse: " + why);
};

void col2im_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    HostRun r = testing::make_run(p, dt, false, rng);
    // Chunks of 1, 2 and all items: the tail plan, both batching directions of the plan.
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

TEST(CpuRunGemmCol2im, Fp32MatchesDirect) { col2im_case(DType::fp32, 301); }
TEST(CpuRunGemmCol2im, Tf32MatchesDirect) { col2im_case(DType::tf32, 302); }
TEST(CpuRunGemmCol2im, Fp16MatchesDirect) { col2im_case(DType::fp16, 303); }
TEST(CpuRunGemmCol2im, Bf16MatchesDirect) { col2im_case(DType::bf16, 304); }
// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunGemmCol2im, Fp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  col2im_case(DType::fp32, 301);
}

void explicit_gemm_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems / 2; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i, 5);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      // C^T poisoned: the builder's clear must reach every entry.
      std::vector<double> nan(size_t(kmath::c_cols(p) * kmath::c_rows(p)),
                              std::numeric_limits<double>::quiet_NaN());
      auto ct = ::cpu_cuda::to_device(convert::to_storage(dt, nan.data(), nan.size()), "ct");
      build_ct_launch(nullptr, p, nhwc, dt, r.tensors().w, ct.data());
      explicit_gemm_run(nullptr, kHostGemm, p, dt, nhwc, r.tensors(), ct.data());
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunExplicitGemm, Fp32MatchesDirect) { explicit_gemm_case(DType::fp32, 311); }
TEST(CpuRunExplicitGemm, Tf32MatchesDirect) { explicit_gemm_case(DType::tf32, 312); }
TEST(CpuRunExplicitGemm, Fp16MatchesDirect) { explicit_gemm_case(DType::fp16, 313); }
TEST(CpuRunExplicitGemm, Bf16MatchesDirect) { explicit_gemm_case(DType::bf16, 314); }
TEST(CpuRunExplicitGemm, Fp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  explicit_gemm_case(DType::fp32, 311);
}

}  // namespace
}  // namespace tconv
