// phase_gemm: transposed convolution as stride_h*stride_w stride-1 convolutions, one per output
// phase (outputs with the same (o + pad) mod stride), each run as an implicit GEMM over only the
// taps that reach that phase (CUTLASS's strided-dgrad idea): no inserted zero is ever multiplied,
// and every output element is written exactly once, by one thread, with no atomics.
//   GEMM per (phase, group): M = N*H_phase*W_phase pixels, N = C_out/g, K = taps_h*taps_w*C_in/g.
//   Engines: fp32 on the FP32 units (SIMT, register-blocked 8x8/8x4/4x4 per thread); tf32, fp16
//   and bf16 on the tensor cores with mma.sync (m16n8k8 tf32, m16n8k16 f16/bf16, fp32
//   accumulation; sm_80+). One launch covers all phases and groups (grid z = phase*groups + g).
//   Few channels per group (C_out/g <= 8, C_in/g < 8, or both <= 32: depthwise, RGB outputs,
//   fcn-style 21-class heads) take a direct per-phase kernel instead, since a GEMM tile would be
//   mostly padding there. A 1x1 input without padding/dilation (DCGAN's first layer) is lowered to
//   the equivalent 1x1-kernel problem, a plain GEMM, instead of multiplying out-of-range taps.
// Extra memory: none (workspace_bytes() == 0); weights are read in place, in either layout.
// Where it should win: large strides and few channels (fcn8s/fcn32s, fsrcnn), where zero insertion
// wastes ~stride^2 of the work and cuDNN's dgrad kernels are tuned for C >= 64; and big-batch
// GEMM-shaped layers (maskrcnn_head) on the tensor cores.
// Limits: no split-K (small-M, large-K shapes such as pix2pix under-fill the GPU); the channel
// tail of each tap is padded to BK (16 for 32-bit, 32 for 16-bit types); nhwc vector loads need
// 16-byte aligned x/w and C_in/g (A) or C_out/g (B) divisible by 4 (fp32) or 8 (16-bit), checked
// at run time, otherwise scalar loads; the direct path's nhwc loads are strided.
// Index arithmetic: kernels/phase_gemm/phase_gemm_math.hpp; per-thread loaders, SIMT math, fragment geometry,
// epilogue and the direct path: kernels/phase_gemm/phase_gemm_tile.hpp; path and tile choice:
// kernels/phase_gemm/phase_gemm_plan.hpp (all host code, tested on the CPU by tests/test_phase_gemm.cpp).
#include <climits>
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/phase_gemm/phase_gemm_plan.hpp"
#include "kernels/phase_gemm/phase_gemm_tile.hpp"

namespace tconv {
namespace {

using pg::Engine;

// ---- mma.sync ----------------------------------------------------------------------------------

template <typename S>
__device__ __forceinline__ uint32_t smem_u32(const S* p) {
  if constexpr (sizeof(S) == 4)
    return __float_as_uint(*p);
  else
    return *reinterpret_cast<const uint32_t*>(p);  // two k-consecutive 16-bit elements
}

template <typename T>
__device__ __forceinline__ void mma(float& c0, float& c1, float& c2, float& c3,
                                    const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, float>) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#elif defined(__CUDA_ARCH__)
  // prepare() never selects the tensor-core path below sm_80; fail loudly if it ever runs.
  (void)c0, (void)c1, (void)c2, (void)c3, (void)a, (void)b;
  __trap();
#else
  (void)c0, (void)c1, (void)c2, (void)c3, (void)a, (void)b;
#endif
}

// One stage of the warp tile: BK/KS instruction steps, MI x NI instructions each.
template <class C>
__device__ __forceinline__ void tc_compute(pg::TcGeometry<C>& geo, const typename C::S* As,
                                           const typename C::S* Bs) {
  using G = pg::TcGeometry<C>;
#pragma unroll
  for (int kk = 0; kk < C::BK; kk += G::KS) {
    uint32_t a[G::MI][4], b[G::NI][2];
#pragma unroll
    for (int mi = 0; mi < G::MI; ++mi)
#pragma unroll
      for (int r = 0; r < 4; ++r) a[mi][r] = smem_u32(As + geo.a_frag(mi, r, kk));
#pragma unroll
    for (int ni = 0; ni < G::NI; ++ni)
#pragma unroll
      for (int r = 0; r < 2; ++r) b[ni][r] = smem_u32(Bs + geo.b_frag(ni, r, kk));
#pragma unroll
    for (int mi = 0; mi < G::MI; ++mi)
#pragma unroll
      for (int ni = 0; ni < G::NI; ++ni)
        mma<typename C::T>(geo.acc[2 * mi][2 * ni], geo.acc[2 * mi][2 * ni + 1],
                           geo.acc[2 * mi + 1][2 * ni], geo.acc[2 * mi + 1][2 * ni + 1], a[mi],
                           b[ni]);
  }
}

// ---- The GEMM kernel ---------------------------------------------------------------------------
// Grid: x = m-tiles (sized for the largest phase; smaller phases skip the excess), y = n-tiles,
// z = phase*groups + g; all three grid-stride so that any problem fits the launch limits.
// Per tile: registers hold the next stage's global loads while the block computes on the current
// shared stage; one __syncthreads per stage suffices with two buffers (a buffer is rewritten only
// after every thread passed the barrier that follows its last read).
template <class C>
__global__ void __launch_bounds__(C::NT) phase_gemm_kernel(const pg::GemmParams p) {
  using S = typename C::S;
  using Math = std::conditional_t<C::engine == Engine::simt, pg::SimtMath<C>, pg::TcGeometry<C>>;
  __shared__ __align__(16) S smem_a[2][C::A_STAGE];
  __shared__ __align__(16) S smem_b[2][C::B_STAGE];
  const int tid = int(threadIdx.x);

  for (int z = int(blockIdx.z); z < p.z_count; z += int(gridDim.z))
    for (int nt = int(blockIdx.y); nt < p.n_tiles; nt += int(gridDim.y))
      for (int mt = int(blockIdx.x); mt < p.m_tiles; mt += int(gridDim.x)) {
        const pg::TileCtx t = pg::make_tile_ctx(p, z, mt, nt, C::BM, C::BN, C::BK);
        if (!t.active) continue;  // block-uniform
        pg::ALoader<C> la;
        pg::BLoader<C> lb;
        Math mth;
        la.setup(p, t, tid);
        lb.setup(tid);
        mth.init(tid);
        if (t.nk > 0) {
          const pg::KTile k0 = pg::decode_k_tile(0, t.pw.taps, t.chunks, C::BK);
          la.load(p, t, k0);
          lb.load(p, t, k0);
        }
        for (int kt = 0; kt < t.nk; ++kt) {
          const int buf = kt & 1;
          la.store(smem_a[buf]);
          lb.store(smem_b[buf]);
          __syncthreads();
          if (kt + 1 < t.nk) {
            const pg::KTile kn = pg::decode_k_tile(kt + 1, t.pw.taps, t.chunks, C::BK);
            la.load(p, t, kn);
            lb.load(p, t, kn);
          }
          if constexpr (C::engine == Engine::simt)
            mth.compute(smem_a[buf], smem_b[buf]);
          else
            tc_compute<C>(mth, smem_a[buf], smem_b[buf]);
        }
        pg::store_tile<C>(p, t, mth);
        __syncthreads();  // the next tile's first store must not overtake this tile's last reads
      }
}

// ---- The direct kernel -------------------------------------------------------------------------
// Grid: x = output tasks of the largest phase (kDirectR outputs each), y = chunks of CO output
// channels, z = phase*groups + g. No shared memory: the weights a warp reads are warp-uniform
// (broadcast loads), the inputs come through a register window (phase_gemm_tile.hpp).
constexpr int kDirectThreads = 128;

template <typename T, Layout L, int CO>
__global__ void __launch_bounds__(kDirectThreads) phase_direct_kernel(const pg::DirectParams p) {
  for (int z = int(blockIdx.z); z < p.z_count; z += int(gridDim.z)) {
    const pg::PhaseGroup pz = pg::decode_phase_group(z, p.phases_w, p.d.groups);
    const pg::PhaseDim ph = pg::phase_dim(pz.fh, p.d.dh);
    const pg::PhaseDim pw = pg::phase_dim(pz.fw, p.d.dw);
    const int64_t tasks = pg::direct_tasks(p.d, ph, pw);
    for (int cc = int(blockIdx.y); cc < p.co_chunks; cc += int(gridDim.y))
      for (int64_t task = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; task < tasks;
           task += int64_t(gridDim.x) * blockDim.x)
        pg::direct_outputs<T, L, CO>(p, ph, pw, pz.g, int(task), cc * CO);
  }
}

// ---- Host side ---------------------------------------------------------------------------------

dim3 clamp_grid(int64_t x, int64_t y, int64_t z) {
  auto c = [](int64_t v, int64_t hi) { return unsigned(v < 1 ? 1 : (v > hi ? hi : v)); };
  return dim3(c(x, INT_MAX), c(y, 65535), c(z, 65535));
}

using pg::ceil_div64;
using pg::max_phase_pixels;
using pg::Plan;

// launch_tile's switch and pg::kTiles (the plan's tile indices) must agree.
static_assert(pg::kTiles[0].bm == 128 && pg::kTiles[0].bn == 128, "tile 0");
static_assert(pg::kTiles[1].bm == 128 && pg::kTiles[1].bn == 64, "tile 1");
static_assert(pg::kTiles[2].bm == 64 && pg::kTiles[2].bn == 64, "tile 2");
static_assert(pg::kTiles[3].bm == 128 && pg::kTiles[3].bn == 32, "tile 3");

template <class C>
void launch_gemm(pg::GemmParams gp, int64_t max_pixels, cudaStream_t s) {
  gp.m_tiles = int(ceil_div64(max_pixels, C::BM));
  gp.n_tiles = int(ceil_div64(gp.d.cog, C::BN));
  const dim3 grid = clamp_grid(gp.m_tiles, gp.n_tiles, gp.z_count);
  phase_gemm_kernel<C><<<grid, C::NT, 0, s>>>(gp);
  TCONV_CHECK_LAUNCH();
}

template <typename T, Engine E, Layout L, int BM, int BN, int P, int Q>
void launch_vec(bool va, bool vb, const pg::GemmParams& gp, int64_t max_pixels, cudaStream_t s) {
  constexpr int V = int(16 / sizeof(T));
  if constexpr (L == Layout::nhwc) {
    if (va && vb) return launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, V, V>>(gp, max_pixels, s);
    if (va) return launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, V, 1>>(gp, max_pixels, s);
  }
  (void)va, (void)vb;
  launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, 1, 1>>(gp, max_pixels, s);
}

// Tile index -> configuration. SIMT: P x Q outputs per thread; tc: P x Q warps.
template <typename T, Engine E, Layout L>
void launch_tile(int tile, bool va, bool vb, const pg::GemmParams& gp, int64_t max_pixels,
                 cudaStream_t s) {
  if constexpr (E == Engine::simt) {
    switch (tile) {
      case 0: return launch_vec<T, E, L, 128, 128, 8, 8>(va, vb, gp, max_pixels, s);  // 256 thr
      case 1: return launch_vec<T, E, L, 128, 64, 8, 4>(va, vb, gp, max_pixels, s);   // 256 thr
      case 2: return launch_vec<T, E, L, 64, 64, 4, 4>(va, vb, gp, max_pixels, s);    // 256 thr
      default: return launch_vec<T, E, L, 128, 32, 8, 4>(va, vb, gp, max_pixels, s);  // 128 thr
    }
  } else {
    switch (tile) {
      case 0: return launch_vec<T, E, L, 128, 128, 2, 4>(va, vb, gp, max_pixels, s);  // 8 warps
      case 1: return launch_vec<T, E, L, 128, 64, 2, 2>(va, vb, gp, max_pixels, s);   // 4 warps
      case 2: return launch_vec<T, E, L, 64, 64, 2, 2>(va, vb, gp, max_pixels, s);    // 4 warps
      default: return launch_vec<T, E, L, 128, 32, 4, 1>(va, vb, gp, max_pixels, s);  // 4 warps
    }
  }
}

template <typename T, Layout L, int CO>
void launch_direct_co(const pg::DirectParams& dp, int64_t max_tasks, cudaStream_t s) {
  pg::DirectParams p = dp;
  p.co_chunks = int(ceil_div64(p.d.cog, CO));
  const dim3 grid = clamp_grid(ceil_div64(max_tasks, kDirectThreads), p.co_chunks, p.z_count);
  phase_direct_kernel<T, L, CO><<<grid, kDirectThreads, 0, s>>>(p);
  TCONV_CHECK_LAUNCH();
}

template <typename T, Layout L>
void launch_direct(int co, const pg::DirectParams& dp, int64_t max_tasks, cudaStream_t s) {
  switch (co) {
    case 1: return launch_direct_co<T, L, 1>(dp, max_tasks, s);
    case 2: return launch_direct_co<T, L, 2>(dp, max_tasks, s);
    case 4: return launch_direct_co<T, L, 4>(dp, max_tasks, s);
    default: return launch_direct_co<T, L, 8>(dp, max_tasks, s);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

class PhaseGemm : public Implementation {
 public:
  std::string name() const override { return "phase_gemm"; }
  std::string summary() const override {
    return "phase decomposition: one stride-1 implicit GEMM per output phase over only its taps "
           "(SIMT fp32, mma.sync tf32/fp16/bf16; direct kernel for few channels)";
  }

  Support can_implement(const Problem& p, const Config& cfg) const override {
    if (cfg.dtype == DType::fp64)
      return Support::no("dtype fp64 not implemented (fp32, tf32, fp16, bf16)");
    const std::string why = p.validate();
    if (!why.empty()) return Support::no(why);
    return Support::yes();
  }

  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    const pg::Lowering lw = pg::lower_problem(p, cfg.layout);
    plan_ = pg::make_plan(lw.p, cfg, ctx.props().multiProcessorCount);
    if (!plan_.direct && plan_.engine == Engine::tc && ctx.props().major < 8)
      throw Skipped("mma.sync tensor-core path needs compute capability 8.0+, this GPU is " +
                    std::to_string(ctx.props().major) + "." + std::to_string(ctx.props().minor));
    algo_ = pg::describe(plan_, cfg, plan_.vec_a && aligned16(t.x),
                         plan_.vec_a && plan_.vec_b && aligned16(t.x) && aligned16(t.w),
                         lw.lowered);
  }

  double work_ratio(const Problem& p) const override {
    // Multiply-adds of the phase GEMMs (M*K*N summed over phases, before tile padding) over the
    // useful ones; M*K separates into (sum over h phases of count*taps) * (same over w). A
    // lowered 1x1-input problem is counted as lowered (the layout does not change the count).
    const pg::ConvDims d = pg::make_conv_dims(pg::lower_problem(p, Layout::nchw).p);
    auto dim_sum = [](const idx::Dim& dd) {
      double s = 0;
      const int n = pg::phase_count(dd);
      for (int f = 0; f < n; ++f) {
        const pg::PhaseDim ph = pg::phase_dim(f, dd);
        s += double(ph.count) * ph.taps;
      }
      return s;
    };
    const double macs = double(d.n) * d.cig * d.cog * d.groups * dim_sum(d.dh) * dim_sum(d.dw);
    return 2.0 * macs / p.flops();
  }

  int64_t planned_workspace_bytes(const Problem&, const Config&) const override { return 0; }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    const pg::Lowering lw = pg::lower_problem(p, cfg.layout);
    const pg::ConvDims d = pg::make_conv_dims(lw.p);
    const int phases_h = pg::phase_count(d.dh), phases_w = pg::phase_count(d.dw);
    const int z_count = phases_h * phases_w * d.groups;  // <= y elements < 2^31
    const void* bias = p.has_bias ? t.bias : nullptr;
    cudaStream_t s = ctx.stream();
    if (plan_.direct) {
      const pg::DirectParams dp{d,   phases_w, z_count, 0,           t.x,
                                t.w, bias,     t.y,     lw.bias_div, lw.bias_mod};
      const int64_t max_tasks = int64_t(d.n) * ((d.h_out - 1) / d.dh.stride + 1) *
                                ceil_div64((d.w_out - 1) / d.dw.stride + 1, pg::kDirectR);
      switch (cfg.dtype) {
        case DType::fp16:
          return cfg.layout == Layout::nchw
                     ? launch_direct<__half, Layout::nchw>(plan_.co, dp, max_tasks, s)
                     : launch_direct<__half, Layout::nhwc>(plan_.co, dp, max_tasks, s);
        case DType::bf16:
          return cfg.layout == Layout::nchw
                     ? launch_direct<__nv_bfloat16, Layout::nchw>(plan_.co, dp, max_tasks, s)
                     : launch_direct<__nv_bfloat16, Layout::nhwc>(plan_.co, dp, max_tasks, s);
        case DType::fp32:
        case DType::tf32:
          return cfg.layout == Layout::nchw
                     ? launch_direct<float, Layout::nchw>(plan_.co, dp, max_tasks, s)
                     : launch_direct<float, Layout::nhwc>(plan_.co, dp, max_tasks, s);
        default:
          throw Error("phase_gemm: dtype " + std::string(to_string(cfg.dtype)) + " not supported");
      }
    }
    const pg::GemmParams gp{d,   phases_w, z_count, 0,   0,           t.x,
                            t.w, bias,     t.y,     lw.bias_div, lw.bias_mod};
    const int64_t max_pixels = max_phase_pixels(d);
    const bool va = plan_.vec_a && aligned16(t.x);
    const bool vb = plan_.vec_b && aligned16(t.w);
    const bool nchw = cfg.layout == Layout::nchw;
    switch (cfg.dtype) {
      case DType::fp32:
        return nchw ? launch_tile<float, Engine::simt, Layout::nchw>(plan_.tile, va, vb, gp,
                                                                      max_pixels, s)
                    : launch_tile<float, Engine::simt, Layout::nhwc>(plan_.tile, va, vb, gp,
                                                                      max_pixels, s);
      case DType::tf32:
        return nchw ? launch_tile<float, Engine::tc, Layout::nchw>(plan_.tile, va, vb, gp,
                                                                    max_pixels, s)
                    : launch_tile<float, Engine::tc, Layout::nhwc>(plan_.tile, va, vb, gp,
                                                                    max_pixels, s);
      case DType::fp16:
        return nchw ? launch_tile<__half, Engine::tc, Layout::nchw>(plan_.tile, va, vb, gp,
                                                                     max_pixels, s)
                    : launch_tile<__half, Engine::tc, Layout::nhwc>(plan_.tile, va, vb, gp,
                                                                     max_pixels, s);
      case DType::bf16:
        return nchw ? launch_tile<__nv_bfloat16, Engine::tc, Layout::nchw>(plan_.tile, va, vb,
                                                                            gp, max_pixels, s)
                    : launch_tile<__nv_bfloat16, Engine::tc, Layout::nhwc>(plan_.tile, va, vb,
                                                                            gp, max_pixels, s);
      default:
        throw Error("phase_gemm: dtype " + std::string(to_string(cfg.dtype)) + " not supported");
    }
  }

  std::string algo() const override { return algo_; }

 private:
  Plan plan_;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_phase_gemm() { return std::make_unique<PhaseGemm>(); }

}  // namespace tconv
