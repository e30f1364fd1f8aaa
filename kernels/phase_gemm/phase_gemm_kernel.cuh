// phase_gemm's __global__ kernels (the GEMM kernel with its SIMT and mma.sync engines, the direct
// kernel) and all of their launch code, down to the one entry point phase_gemm_launch() that
// PhaseGemm::run calls. Included by phase_gemm.cu and, compiled as C++ on the CPU runtime of
// cpu_cuda, by the tests, which therefore run these very kernels with the grid, block and
// shared-memory sizes the GPU gets (kernels/phase_gemm/phase_gemm.cu has the algorithm's notes).
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/common/implementation.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/phase_gemm/phase_gemm_plan.hpp"
#include "kernels/phase_gemm/phase_gemm_tile.hpp"

namespace tconv {
inline namespace TCONV_KERNEL_NS {

using pg::Engine;

// ---- mma.sync ----------------------------------------------------------------------------------

template <typename S>
__device__ __forceinline__ uint32_t smem_u32(const S* p) {
  // One 32-bit shared load: a tf32 element, or two k-consecutive 16-bit ones.
  return seam::lds<uint32_t>(p);
}

// ldmatrix.x4 and ldmatrix.x4.trans: four 8x8 matrices of 16-bit elements from shared memory;
// this lane gives the address of one 16-byte row (phase_gemm_tile.hpp's TcGeometry::a_ldsm,
// b_ldsm). Two functions rather than one with a flag, so that the profiler's sites (named after
// the caller of an access helper, the helper after "via") keep A's fragment reads apart from B's.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&d)[4], const void* row) {
  seam::ldsm_x4(d, row);
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&d)[4], const void* row) {
  seam::ldsm_x4_trans(d, row);
}

// plans() selects the tensor-core path only on sm_80 and later (the seam's device backend traps
// below that).
template <typename T>
__device__ __forceinline__ void mma(float& c0, float& c1, float& c2, float& c3,
                                    const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  seam::mma_sync<T>(c0, c1, c2, c3, a, b);
}

// One stage of the warp tile: BK/KS instruction steps, MI x NI instructions each. The 16-bit
// tiles load their fragments with ldmatrix (one instruction per 16x16 of A and per two 16x8 of
// B); tf32 with 32-bit loads from its padded layout.
template <class C>
__device__ __forceinline__ void tc_compute(pg::TcGeometry<C>& geo, const typename C::S* As,
                                           const typename C::S* Bs) {
  using G = pg::TcGeometry<C>;
  TCONV_UNROLL
  for (int kk = 0; kk < C::BK; kk += G::KS) {
    uint32_t a[G::MI][4], b[G::NI][2];
    if constexpr (C::ldsm) {
      TCONV_UNROLL
      for (int mi = 0; mi < G::MI; ++mi) ldmatrix_x4(a[mi], As + geo.a_ldsm(mi, kk));
      TCONV_UNROLL
      for (int nj = 0; nj < G::NI / 2; ++nj) {
        uint32_t r[4];
        ldmatrix_x4_trans(r, Bs + geo.b_ldsm(nj, kk));
        b[2 * nj][0] = r[0];
        b[2 * nj][1] = r[1];
        b[2 * nj + 1][0] = r[2];
        b[2 * nj + 1][1] = r[3];
      }
    } else {
      TCONV_UNROLL
      for (int mi = 0; mi < G::MI; ++mi) TCONV_UNROLL
      for (int r = 0; r < 4; ++r) a[mi][r] = smem_u32(As + geo.a_frag(mi, r, kk));
      TCONV_UNROLL
      for (int ni = 0; ni < G::NI; ++ni) TCONV_UNROLL
      for (int r = 0; r < 2; ++r) b[ni][r] = smem_u32(Bs + geo.b_frag(ni, r, kk));
    }
    TCONV_UNROLL
    for (int mi = 0; mi < G::MI; ++mi) TCONV_UNROLL
    for (int ni = 0; ni < G::NI; ++ni)
      mma<typename C::T>(geo.acc[2 * mi][2 * ni], geo.acc[2 * mi][2 * ni + 1],
                         geo.acc[2 * mi + 1][2 * ni], geo.acc[2 * mi + 1][2 * ni + 1], a[mi],
                         b[ni]);
  }
}

// ---- The GEMM kernel ---------------------------------------------------------------------------
// Grid: x = (n-tile, phase*groups + g) pairs, n-tile fastest; y = m-tiles (sized for the largest
// phase; smaller phases skip the excess); both grid-stride so that any problem fits the launch
// limits. The blocks that share an m-tile (every n-tile of every phase reads the same rows of x)
// are consecutive in launch order, so a tile of x comes from DRAM once and from L2 after that:
// with m-tiles fastest, every (phase, n-tile) swept all of x again (the CPU profiler's L2 model
// put x's DRAM bytes at 4x its size on maskrcnn_head and sam_up1_b64).
// Per tile: registers hold the next stage's global loads while the block computes on the current
// shared stage; one __syncthreads per stage suffices with two buffers (a buffer is rewritten only
// after every thread passed the barrier that follows its last read).
template <class C>
__global__ void __launch_bounds__(C::NT, C::MIN_BLOCKS) phase_gemm_kernel(const pg::GemmParams p) {
  using S = typename C::S;
  using Math = std::conditional_t<C::engine == Engine::simt, pg::SimtMath<C>, pg::TcGeometry<C>>;
  // One array: A's two stages, then B's; the staged epilogue's output tile reuses it from the
  // start.
  __shared__ __align__(16) unsigned char smem[C::SMEM_BYTES];
  S* const smem_a = reinterpret_cast<S*>(smem);
  S* const smem_b = smem_a + 2 * C::A_STAGE;
  const int tid = int(threadIdx.x);

  const int64_t pairs = int64_t(p.n_tiles) * p.z_count;
  // Grid z = split-K splits (1 without); grid-stride like x and y.
  for (int split = int(blockIdx.z); split < p.splits; split += int(gridDim.z))
    for (int mt = int(blockIdx.y); mt < p.m_tiles; mt += int(gridDim.y))
      for (int64_t q = blockIdx.x; q < pairs; q += gridDim.x) {
        const int nt = int(q % p.n_tiles), z = int(q / p.n_tiles);
        const pg::TileCtx t = pg::make_tile_ctx(p, z, mt, nt, C::BM, C::BN, C::BK);
        if (!t.active) continue;  // block-uniform
        pg::ALoader<C> la;
        pg::BLoader<C> lb;
        Math mth;
        la.setup(p, t, tid);
        lb.setup(tid);
        mth.init(tid);
        // This split's share of the k-tiles (all of them without split-K).
        const int kb = int(int64_t(t.nk) * split / p.splits);
        const int ke = int(int64_t(t.nk) * (split + 1) / p.splits);
        if (ke > kb) {
          const pg::KTile k0 = pg::decode_k_tile(kb, t.pw.taps, t.chunks, C::BK);
          la.load(p, t, k0);
          lb.load(p, t, k0);
        }
        for (int kt = kb; kt < ke; ++kt) {
          const int buf = (kt - kb) & 1;
          la.store(smem_a + buf * C::A_STAGE);
          lb.store(smem_b + buf * C::B_STAGE);
          __syncthreads();
          if (kt + 1 < ke) {
            const pg::KTile kn = pg::decode_k_tile(kt + 1, t.pw.taps, t.chunks, C::BK);
            la.load(p, t, kn);
            lb.load(p, t, kn);
          }
          if constexpr (C::engine == Engine::simt)
            mth.compute(smem_a + buf * C::A_STAGE, smem_b + buf * C::B_STAGE);
          else
            tc_compute<C>(mth, smem_a + buf * C::A_STAGE, smem_b + buf * C::B_STAGE);
        }
        if (p.splits > 1) {
          pg::store_partial<C>(p, t, mth, split);
        } else if constexpr (C::staged) {
          __syncthreads();  // the output tile overwrites the stages the last k step read
          auto* cs = reinterpret_cast<typename C::T*>(smem);
          pg::stage_tile<C>(p, t, mth, cs);
          __syncthreads();
          pg::store_staged<C>(p, t, cs, tid);
        } else {
          pg::store_tile<C>(p, t, mth);
        }
        __syncthreads();  // the next tile's first store must not overtake this tile's last reads
      }
}

// ---- The split-K reduction ---------------------------------------------------------------------
// One thread per output element (grid-stride): consecutive threads, consecutive elements of y and
// of each split's partial slice.
constexpr int kReduceThreads = 256;

template <typename T, Layout L>
__global__ void __launch_bounds__(kReduceThreads)
    phase_splitk_reduce_kernel(const pg::GemmParams p) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < p.y_elems;
       e += int64_t(gridDim.x) * blockDim.x)
    pg::reduce_splits<T, L>(p, e);
}

// ---- The direct kernel -------------------------------------------------------------------------
// Grid: x = output tasks of the largest phase (kDirectR outputs each), y = chunks of CO output
// channels, z = phase*groups + g. No shared memory: the weights a warp reads are warp-uniform
// (broadcast loads), the inputs come through a register window (phase_gemm_tile.hpp).
constexpr int kDirectThreads = 128;
// A register cap rather than __launch_bounds__(128): with the launch bound, ptxas (CUDA 13, sm_90)
// gave the CO 1 and 2 variants 64 registers and 8-52 bytes of spills; capped at 128 they take
// 56-80 registers and spill nothing (notes: the ptxas table). __maxnreg__ needs CUDA 12.4.
#if defined(__CUDACC_VER_MAJOR__) && \
    (__CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 4))
#define TCONV_PG_DIRECT_BOUNDS __maxnreg__(128)
#else
#define TCONV_PG_DIRECT_BOUNDS __launch_bounds__(kDirectThreads)
#endif

template <typename T, Layout L, int CO>
__global__ void TCONV_PG_DIRECT_BOUNDS phase_direct_kernel(const pg::DirectParams p) {
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

inline dim3 clamp_grid(int64_t x, int64_t y, int64_t z) {
  return dim3(grid_extent(x, INT_MAX), grid_extent(y, 65535), grid_extent(z, 65535));
}

// launch_tile's switch and pg::kTiles (the plan's tile indices) must agree.
static_assert(pg::kTiles[0].bm == 128 && pg::kTiles[0].bn == 128, "tile 0");
static_assert(pg::kTiles[1].bm == 128 && pg::kTiles[1].bn == 64, "tile 1");
static_assert(pg::kTiles[2].bm == 64 && pg::kTiles[2].bn == 64, "tile 2");
static_assert(pg::kTiles[3].bm == 128 && pg::kTiles[3].bn == 32, "tile 3");

template <class C>
void launch_gemm(pg::GemmParams gp, cudaStream_t s) {
  const pg::GemmTiles tiles = pg::gemm_tiles(gp.d, C::BM, C::BN);
  gp.m_tiles = tiles.m_tiles;
  gp.n_tiles = tiles.n_tiles;
  const dim3 grid = clamp_grid(int64_t(gp.n_tiles) * gp.z_count, gp.m_tiles, gp.splits);
  launch(phase_gemm_kernel<C>, grid, dim3(C::NT), 0, s, gp);
  if (gp.splits > 1)
    launch(phase_splitk_reduce_kernel<typename C::T, C::layout>,
           clamp_grid(pg::ceil_div64(gp.y_elems, kReduceThreads), 1, 1), dim3(kReduceThreads), 0, s,
           gp);
}

template <typename T, Engine E, Layout L, int BM, int BN, int P, int Q>
void launch_vec(bool va, bool vb, const pg::GemmParams& gp, cudaStream_t s) {
  constexpr int V = int(16 / sizeof(T));
  if constexpr (L == Layout::nhwc) {
    if (va && vb) return launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, V, V>>(gp, s);
    if (va) return launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, V, 1>>(gp, s);
  }
  (void)va, (void)vb;
  launch_gemm<pg::GemmCfg<T, E, L, BM, BN, P, Q, 1, 1>>(gp, s);
}

// Tile index -> configuration. SIMT: P x Q outputs per thread; tc: P x Q warps.
template <typename T, Engine E, Layout L>
void launch_tile(int tile, bool va, bool vb, const pg::GemmParams& gp, cudaStream_t s) {
  if constexpr (E == Engine::simt) {
    switch (tile) {
      case 0:
        return launch_vec<T, E, L, 128, 128, 8, 8>(va, vb, gp, s);  // 256 thr
      case 1:
        return launch_vec<T, E, L, 128, 64, 8, 4>(va, vb, gp, s);  // 256 thr
      case 2:
        return launch_vec<T, E, L, 64, 64, 4, 4>(va, vb, gp, s);  // 256 thr
      default:
        return launch_vec<T, E, L, 128, 32, 8, 4>(va, vb, gp, s);  // 128 thr
    }
  } else {
    switch (tile) {
      case 0:
        return launch_vec<T, E, L, 128, 128, 2, 4>(va, vb, gp, s);  // 8 warps
      case 1:
        return launch_vec<T, E, L, 128, 64, 2, 2>(va, vb, gp, s);  // 4 warps
      case 2:
        return launch_vec<T, E, L, 64, 64, 2, 2>(va, vb, gp, s);  // 4 warps
      default:
        return launch_vec<T, E, L, 128, 32, 4, 1>(va, vb, gp, s);  // 4 warps
    }
  }
}

template <typename T, Layout L, int CO>
void launch_direct_co(const pg::DirectParams& dp, cudaStream_t s) {
  pg::DirectParams p = dp;
  p.co_chunks = pg::direct_co_chunks(p.d, CO);
  const dim3 grid =
      clamp_grid(pg::ceil_div64(pg::direct_max_tasks(p.d), kDirectThreads), p.co_chunks, p.z_count);
  launch(phase_direct_kernel<T, L, CO>, grid, dim3(kDirectThreads), 0, s, p);
}

template <typename T, Layout L>
void launch_direct(int co, const pg::DirectParams& dp, cudaStream_t s) {
  switch (co) {
    case 1:
      return launch_direct_co<T, L, 1>(dp, s);
    case 2:
      return launch_direct_co<T, L, 2>(dp, s);
    case 4:
      return launch_direct_co<T, L, 4>(dp, s);
    default:
      return launch_direct_co<T, L, 8>(dp, s);
  }
}

inline bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

// Runs problem p (the original, unlowered problem) with the plan plans() made for it
// (pg::plan_problem): the lowering, the kernel parameters, the dtype/layout/tile dispatch and the
// launch. Vector loads are used only where the plan allows them and the pointers are aligned.
// partial: the split-K workspace, pg::splitk_workspace_floats(plan, p) floats (null without
// split-K).
inline void phase_gemm_launch(cudaStream_t s, const pg::Plan& plan, const Problem& p,
                              const Config& cfg, const Tensors& t, float* partial = nullptr) {
  const pg::Lowering lw = pg::lower_problem(p, cfg.layout);
  const pg::ConvDims d = pg::make_conv_dims(lw.p);
  const void* bias = p.has_bias ? t.bias : nullptr;
  const bool nchw = cfg.layout == Layout::nchw;
  if (plan.direct) {
    const pg::DirectParams dp = pg::direct_params(d, t.x, t.w, bias, t.y, lw.bias_div, lw.bias_mod);
    switch (cfg.dtype) {
      case DType::fp16:
        return nchw ? launch_direct<__half, Layout::nchw>(plan.co, dp, s)
                    : launch_direct<__half, Layout::nhwc>(plan.co, dp, s);
      case DType::bf16:
        return nchw ? launch_direct<__nv_bfloat16, Layout::nchw>(plan.co, dp, s)
                    : launch_direct<__nv_bfloat16, Layout::nhwc>(plan.co, dp, s);
      case DType::fp32:
      case DType::tf32:
        return nchw ? launch_direct<float, Layout::nchw>(plan.co, dp, s)
                    : launch_direct<float, Layout::nhwc>(plan.co, dp, s);
      default:
        throw Error("phase_gemm: dtype " + std::string(to_string(cfg.dtype)) + " not supported");
    }
  }
  pg::GemmParams gp = pg::gemm_params(d, t.x, t.w, bias, t.y, lw.bias_div, lw.bias_mod);
  if (plan.splits > 1) {
    if (!partial) throw Error("phase_gemm: a split-K plan needs its workspace");
    gp.splits = plan.splits;
    gp.y_elems = pg::splitk_workspace_floats(plan, p) / plan.splits;
    gp.partial = partial;
  }
  const bool va = plan.vec_a && aligned16(t.x);
  // The 16-bit tiles with 16-byte weight loads also store y in 16-byte chunks.
  const bool vb = plan.vec_b && aligned16(t.w) && aligned16(t.y);
  switch (cfg.dtype) {
    case DType::fp32:
      return nchw ? launch_tile<float, Engine::simt, Layout::nchw>(plan.tile, va, vb, gp, s)
                  : launch_tile<float, Engine::simt, Layout::nhwc>(plan.tile, va, vb, gp, s);
    case DType::tf32:
      return nchw ? launch_tile<float, Engine::tc, Layout::nchw>(plan.tile, va, vb, gp, s)
                  : launch_tile<float, Engine::tc, Layout::nhwc>(plan.tile, va, vb, gp, s);
    case DType::fp16:
      return nchw ? launch_tile<__half, Engine::tc, Layout::nchw>(plan.tile, va, vb, gp, s)
                  : launch_tile<__half, Engine::tc, Layout::nhwc>(plan.tile, va, vb, gp, s);
    case DType::bf16:
      return nchw ? launch_tile<__nv_bfloat16, Engine::tc, Layout::nchw>(plan.tile, va, vb, gp, s)
                  : launch_tile<__nv_bfloat16, Engine::tc, Layout::nhwc>(plan.tile, va, vb, gp, s);
    default:
      throw Error("phase_gemm: dtype " + std::string(to_string(cfg.dtype)) + " not supported");
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv
