// explicit_spmm (the CSR builder kernel and the fill of y on the CPU runtime, the cuSPARSE call's
// arguments executed by an fp64 host SpMM) and the fp64 GPU reference's gather kernel, against
// ref::direct.
#include "tests/support/kernel_check.hpp"
#include "tests/support/host_blas.hpp"
#include "kernels/explicit/explicit_spmm_kernel.cuh"
#include "kernels/ref/reference_gpu_kernel.cuh"

namespace tconv {
namespace {

using testing::HostRun;

void spmm_case(DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  for (int i = 0; i < testing::kCpuRunProblems / 2; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    for (bool nhwc : {false, true}) {
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      std::vector<int64_t> sy, sx;
      kmath::csr_tap_prefix(p, sy, sx);
      const int64_t nnz = kmath::csr_nnz(p, sy.data(), sx.data());
      // Both index widths; production picks 64-bit only past INT_MAX.
      const bool idx64 = i % 2 == 1;
      const size_t ib = idx64 ? 8 : 4;
      // Poisoned (0xFF: index -1, NaN values): an entry the builder skips breaks the structure.
      auto row_ptr = ::cpu_cuda::device_vec<unsigned char>(size_t(csr_rows(p) + 1) * ib, 0xFF, "row_ptr");
      auto col = ::cpu_cuda::device_vec<unsigned char>(size_t(std::max<int64_t>(nnz, 1)) * ib, 0xFF, "col");
      auto val = ::cpu_cuda::device_vec<unsigned char>(
          size_t(std::max<int64_t>(nnz, 1)) * storage_bytes(dt), 0xFF, "val");
      const auto dsy = ::cpu_cuda::to_device(sy, "tap_prefix_y");
      const auto dsx = ::cpu_cuda::to_device(sx, "tap_prefix_x");
      csr_fill_launch(nullptr, p, nhwc, dt, idx64, dsy.data(), dsx.data(), r.tensors().w,
                      row_ptr.data(), col.data(), val.data());
      explicit_spmm_prefill(nullptr, p, dt, nhwc, r.tensors());
      if (nnz > 0) {
        const SpmmArgs a = explicit_spmm_args(p, dt, idx64, nnz);
        ASSERT_EQ(testing::host_spmm(a, row_ptr.data(), col.data(), val.data(), r.xs.data(),
                                     r.ys.data()),
                  "")
            << testing::describe(r);
      }
      ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
    }
  }
}

TEST(CpuRunExplicitSpmm, Fp32MatchesDirect) { spmm_case(DType::fp32, 401); }
TEST(CpuRunExplicitSpmm, Fp16MatchesDirect) { spmm_case(DType::fp16, 402); }
TEST(CpuRunExplicitSpmm, Bf16MatchesDirect) { spmm_case(DType::bf16, 403); }
// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes.
TEST(CpuRunExplicitSpmm, Fp32UnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  spmm_case(DType::fp32, 401);
}

void reference_gather_case() {
  std::mt19937_64 rng(411);
  ::cpu_cuda::set_seed(411);
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = testing::cpu_run_problem(rng, i);
    HostRun r = testing::make_run(p, DType::fp64, false, rng);
    auto y = ::cpu_cuda::device_vec(size_t(p.y_elems()), std::numeric_limits<double>::quiet_NaN(), "y");
    const auto x = ::cpu_cuda::to_device(r.x, "x"), w = ::cpu_cuda::to_device(r.w, "w");
    const auto b = ::cpu_cuda::to_device(r.b, "bias");
    reference_gather_launch(nullptr, p, x.data(), w.data(), p.has_bias ? b.data() : nullptr,
                            y.data());
    const ErrorMetrics m = compare(y.data(), r.ref.data(), y.size());
    ASSERT_EQ(check_tolerance(m, tolerance(DType::fp64, reduction_length(p))), "") << p.to_string();
  }
}

TEST(CpuRunReferenceGpu, GatherMatchesDirect) { reference_gather_case(); }
TEST(CpuRunReferenceGpu, GatherUnderGridCap) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  reference_gather_case();
}

}  // namespace
}  // namespace tconv
