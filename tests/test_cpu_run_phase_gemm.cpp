// phase_gemm on the CPU runtime: the real __global__ kernels of kernels/phase_gemm/phase_gemm_kernel.cuh
// launched through phase_gemm_launch (what PhaseGemm::run calls) with the plan prepare() makes
// (pg::plan_problem), on random problems of each path (SIMT fp32, mma.sync tf32/fp16/bf16, the
// direct kernel, the 1x1-input lowering), both layouts, judged against ref::direct by the bench's
// own tolerance. The SM count handed to the plan varies, so every tile of kTiles is chosen.
#include "tests/support/kernel_check.hpp"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"

namespace tconv {
namespace {

using testing::HostRun;

enum class Path { gemm, direct, lowered };

int pick(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// A problem for the given path: the GEMM path needs C_out/g > 8, C_in/g >= 8 and not both <= 32
// (pg::use_direct); half of them have channel counts divisible by 8 so that nhwc takes the vector
// loads. Spatial sizes stay small: each block runs one fiber per thread.
Problem path_problem(std::mt19937_64& rng, Path path, int i) {
  for (;;) {
    Problem p = testing::cpu_run_problem(rng, i, 4);
    if (path == Path::gemm) {
      p.groups = pick(rng, 1, 2);
      const int mult = i % 2 == 0 ? 8 : 1;
      int cig, cog;
      if (i % 3 == 0) {  // C_out/g <= 32: the 128x32 tile
        cig = pick(rng, 33 / mult + 1, 40 / mult) * mult;
        cog = pick(rng, 9 / mult + 1, 32 / mult) * mult;
      } else {
        cig = pick(rng, 8 / mult, 24 / mult) * mult;
        cog = pick(rng, 33 / mult + 1, 72 / mult) * mult;
      }
      p.c_in = p.groups * cig;
      p.c_out = p.groups * cog;
      p.n = 1;
      p.k_h = std::min<int64_t>(p.k_h, 4);  // at most 16 taps: each k-tile costs a barrier
      p.k_w = std::min<int64_t>(p.k_w, 4);
    } else if (path == Path::lowered) {
      p.h_in = p.w_in = 1;
      p.pad_h = p.pad_w = p.out_pad_h = p.out_pad_w = 0;
      p.dil_h = p.dil_w = 1;
      p.groups = 1;
      p.c_in = pick(rng, 1, 40);
      p.c_out = pick(rng, 1, 12);
      p.n = pick(rng, 1, 3);
    } else if (i % 4 == 0) {  // 5..8 output channels per group: the direct kernel's CO = 8
      p.c_out = p.groups * pick(rng, 5, 8);
    }
    if (!p.validate().empty()) continue;
    const pg::Lowering lw = pg::lower_problem(p, Layout::nchw);
    if ((path == Path::lowered) != lw.lowered) continue;
    const bool direct = pg::use_direct(pg::make_conv_dims(lw.p));
    if (path == Path::gemm && direct) continue;
    if (path == Path::direct && !direct) continue;
    return p;
  }
}

// The split-K workspace a plan needs (empty without split-K), as PhaseGemm::prepare allocates it.
::cpu_cuda::DeviceVec<float> splitk_workspace(const pg::Plan& plan, const Problem& p) {
  ::cpu_cuda::DeviceVec<float> v;
  v.resize(size_t(pg::splitk_workspace_floats(plan, p)));
  return v;
}

// What the problems of one test met: every choice the plan and the launch code can make.
struct Coverage {
  int tiles[4] = {0, 0, 0, 0};
  int direct = 0, gemm = 0, vec_a = 0, vec_ab = 0, bias = 0, nhwc_scalar = 0, split = 0;
  int co[9] = {};
};

void run_case(Path path, DType dt, uint64_t seed, Coverage& cov) {
  std::mt19937_64 rng(seed);
  ::cpu_cuda::set_seed(seed);
  const int sms_choices[] = {1, 16, 132, 1 << 20};
  for (int i = 0; i < testing::kCpuRunProblems; ++i) {
    const Problem p = path_problem(rng, path, i);
    const int sms = sms_choices[i % 4];
    for (bool nhwc : {false, true}) {
      const Config cfg{dt, nhwc ? Layout::nhwc : Layout::nchw};
      const pg::Plan plan = pg::plan_problem(p, cfg, sms);
      HostRun r = testing::make_run(p, dt, nhwc, rng);
      const Tensors t = r.tensors();
      ::cpu_cuda::DeviceVec<float> partial = splitk_workspace(plan, p);
      phase_gemm_launch(nullptr, plan, p, cfg, t, partial.empty() ? nullptr : partial.data());
      ASSERT_EQ(testing::judge(r), "")
          << testing::describe(r) << " "
          << pg::describe(plan, cfg, plan.vec_a && aligned16(t.x),
                          plan.vec_a && plan.vec_b && aligned16(t.x) && aligned16(t.w),
                          pg::lower_problem(p, cfg.layout).lowered)
          << " sms " << sms << " splits " << plan.splits;
      if (plan.direct) {
        ++cov.direct;
        ++cov.co[plan.co];
      } else {
        ++cov.gemm;
        ++cov.tiles[plan.tile];
        cov.vec_a += plan.vec_a && aligned16(t.x);
        cov.vec_ab += plan.vec_a && plan.vec_b && aligned16(t.x) && aligned16(t.w);
        cov.nhwc_scalar += nhwc && !plan.vec_a;
        cov.split += plan.splits > 1;
      }
      cov.bias += p.has_bias;
    }
  }
}

class CpuRunPhaseGemm : public ::testing::TestWithParam<DType> {};

TEST_P(CpuRunPhaseGemm, GemmPathMatchesDirect) {
  Coverage cov;
  run_case(Path::gemm, GetParam(), 700 + uint64_t(GetParam()), cov);
  if (HasFatalFailure()) return;
  EXPECT_EQ(cov.direct, 0);
  for (int tile = 0; tile < 4; ++tile) EXPECT_GT(cov.tiles[tile], 0) << "tile " << tile;
  EXPECT_GT(cov.vec_a, 0);
  EXPECT_GT(cov.vec_ab, 0);
  EXPECT_GT(cov.nhwc_scalar, 0);
  EXPECT_GT(cov.bias, 0);
  EXPECT_GT(cov.split, 0) << "split-K plans (the 2^20-SM draws)";
}

TEST_P(CpuRunPhaseGemm, DirectPathMatchesDirect) {
  Coverage cov;
  run_case(Path::direct, GetParam(), 710 + uint64_t(GetParam()), cov);
  if (HasFatalFailure()) return;
  EXPECT_EQ(cov.gemm, 0);
  for (int co : {1, 2, 4, 8}) EXPECT_GT(cov.co[co], 0) << "co " << co;
  EXPECT_GT(cov.bias, 0);
}

TEST_P(CpuRunPhaseGemm, LoweredOneByOneInputsMatchDirect) {
  Coverage cov;
  run_case(Path::lowered, GetParam(), 720 + uint64_t(GetParam()), cov);
  if (HasFatalFailure()) return;
  EXPECT_GT(cov.gemm, 0);    // lowered to a GEMM wide enough for the GEMM kernel
  EXPECT_GT(cov.direct, 0);  // and to one the direct kernel takes
  EXPECT_GT(cov.bias, 0);
}

// The same problems with the grids capped (cpu_cuda/grid_cap.hpp): the loops' later passes
// over m-tiles, n-tiles, phase-groups, output tasks and channel chunks.
TEST(CpuRunPhaseGemmUnderGridCap, EveryPathFp32) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  Coverage cov;
  for (Path path : {Path::gemm, Path::direct, Path::lowered}) {
    run_case(path, DType::fp32, 700 + 10 * uint64_t(path) + uint64_t(DType::fp32), cov);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(cov.gemm, 0);
  EXPECT_GT(cov.direct, 0);
}

// The direct kernel's output tasks and the GEMM kernel's m-tiles outnumber the capped grid only on
// wider problems than path_problem draws: a few such, so that those loops take several passes too.
TEST(CpuRunPhaseGemmUnderGridCap, WideProblemsFp32) {
  ::cpu_cuda::GridCap cap(::cpu_cuda::kTestGridCap, true);
  std::mt19937_64 rng(730);
  ::cpu_cuda::set_seed(730);
  for (int i = 0; i < 8; ++i) {
    const bool direct = i % 2 == 0;
    Problem p;
    p.n = direct ? 4 : 1;
    p.groups = direct ? 1 + i % 4 / 2 : 1;
    p.c_in = direct ? 2 * p.groups : 40;
    p.c_out = direct ? 2 * p.groups : 16;
    p.h_in = pick(rng, direct ? 16 : 24, direct ? 20 : 28);
    p.w_in = pick(rng, direct ? 36 : 24, direct ? 44 : 28);
    p.k_h = pick(rng, 1, 3), p.k_w = pick(rng, 1, 3);
    p.stride_h = 1 + i / 2 % 2, p.pad_h = pick(rng, 0, int(p.k_h) - 1);
    p.has_bias = i % 3 == 0;
    ASSERT_EQ(p.validate(), "") << p.to_string();
    const Config cfg{DType::fp32, i / 4 ? Layout::nhwc : Layout::nchw};
    const pg::Plan plan = pg::plan_problem(p, cfg, 132);
    ASSERT_EQ(plan.direct, direct) << p.to_string();
    const pg::ConvDims d = pg::make_conv_dims(pg::lower_problem(p, cfg.layout).p);
    if (direct)
      ASSERT_GT(pg::direct_max_tasks(d), ::cpu_cuda::kTestGridCap * kDirectThreads) << p.to_string();
    else
      ASSERT_GT(pg::gemm_tiles(d, pg::kTiles[plan.tile].bm, pg::kTiles[plan.tile].bn).m_tiles,
                ::cpu_cuda::kTestGridCap) << p.to_string();
    HostRun r = testing::make_run(p, cfg.dtype, cfg.layout == Layout::nhwc, rng);
    ::cpu_cuda::DeviceVec<float> partial = splitk_workspace(plan, p);
    phase_gemm_launch(nullptr, plan, p, cfg, r.tensors(), partial.empty() ? nullptr : partial.data());
    ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CpuRunPhaseGemm,
                         ::testing::Values(DType::fp32, DType::tf32, DType::fp16, DType::bf16),
                         [](const ::testing::TestParamInfo<DType>& i) {
                           return std::string(to_string(i.param));
                         });

}  // namespace
}  // namespace tconv
