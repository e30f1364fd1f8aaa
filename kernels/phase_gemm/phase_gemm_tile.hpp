// The per-thread pieces of the phase_gemm kernels, written as __host__ __device__ code so that the
// CPU tests run the very loaders, SIMT inner product, epilogues and direct-path loops the GPU runs
// (tests/test_phase_gemm.cpp checks them in isolation). The mma.sync call and the __global__
// drivers live in kernels/phase_gemm/phase_gemm_kernel.cuh. Every load and store goes through
// kernels/common/seam.cuh, whose CPU backend checks the alignment the device would fault on.
//
// Block tile: BM output pixels (GEMM rows) x BN output channels x BK input channels of one tap.
// Shared memory holds one A and one B stage per buffer, double buffered through registers: while
// the block computes on stage s, each thread has already issued the global loads of stage s+1.
// Shared layouts:
//   SIMT fp32 and tf32 mma:  A[k][m] (row BM+pad), B[k][n] (row BN+pad); the paddings make the
//                            fragment reads conflict-free (row length = 8 mod 32 words for tf32)
//                            and keep float4 reads aligned for SIMT
//   fp16/bf16 mma:           A[m][k] (BK = 32: four 16-byte chunks a row), B[k][n] (BN/8 chunks a
//                            row), unpadded, the chunks of each row XOR-swizzled (GemmCfg::swizzle),
//                            read with ldmatrix (A) and ldmatrix.trans (B). B stays n-contiguous as
//                            the KRSC weight is, so a 16-byte global load is one 16-byte store.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstring>

// First: the seam between the device and the CPU runtime (TCONV_KERNEL_NS, seam::).
#include "kernels/common/launch.cuh"
#include "kernels/phase_gemm/phase_gemm_math.hpp"


namespace tconv::pg {
// The device and the CPU-runtime builds differ in their loads: never one symbol for both.
inline namespace TCONV_KERNEL_NS {

// ---- Element conversions and loads -------------------------------------------------------------

TCONV_HD float to_float(float v) { return v; }
TCONV_HD float to_float(__half v) { return __half2float(v); }
TCONV_HD float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
TCONV_HD T from_float(float v);
template <>
TCONV_HD float from_float<float>(float v) {
  return v;
}
template <>
TCONV_HD __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
TCONV_HD __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// fp32 -> tf32 (round to nearest, ties away from zero), kept in fp32 storage.
TCONV_HD float round_tf32(float v) { return seam::round_tf32(v); }

template <typename T>
TCONV_HD T load_scalar(const T* p) {
  return seam::ldg(p);
}

// V elements from p; p must be aligned to V*sizeof(T) bytes when V > 1 (the caller checks the
// base pointer and the channel counts at run time before choosing a vector configuration).
template <int V, typename T>
TCONV_HD void load_vec(const T* p, T (&out)[V]) {
  if constexpr (V * sizeof(T) == 16) {
    const uint4 v = seam::ldg(reinterpret_cast<const uint4*>(p));
    memcpy(static_cast<void*>(out), &v, 16);
  } else if constexpr (V * sizeof(T) == 8) {
    const uint2 v = seam::ldg(reinterpret_cast<const uint2*>(p));
    memcpy(static_cast<void*>(out), &v, 8);
  } else {
    for (int i = 0; i < V; ++i) out[i] = seam::ldg(p + i);
  }
}

// a*b + c, fused as on the device (the CPU runtime too, so its rounding is the device's).
TCONV_HD float mad(float a, float b, float c) { return fmaf(a, b, c); }

// Four consecutive floats from shared memory (16-byte aligned on the device path).
TCONV_HD void load4(const float* p, float* out) {
  const float4 v = seam::lds<float4>(p);
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}

// 16 bytes to shared memory; p is 16-byte aligned (a swizzled chunk).
template <typename T>
TCONV_HD void store_vec(T* p, const T (&v)[16 / sizeof(T)]) {
  uint4 u;
  memcpy(&u, static_cast<const void*>(v), 16);
  seam::sts(p, u);
}

// Two 16-bit values as one 4-byte shared store (a fragment's two neighbouring columns).
template <typename T>
TCONV_HD void store_pair(T* p, T lo, T hi) {
  static_assert(sizeof(T) == 2, "pairs of 16-bit elements");
  T v[2] = {lo, hi};
  uint32_t u;
  memcpy(&u, static_cast<const void*>(v), 4);
  seam::sts(p, u);
}

// 16 bytes from shared memory (16-byte aligned).
template <typename T>
TCONV_HD void load_smem16(const T* p, T (&out)[16 / sizeof(T)]) {
  const uint4 u = seam::lds<uint4>(p);
  memcpy(static_cast<void*>(out), &u, 16);
}

// ---- Kernel parameters and the per-tile context -----------------------------------------------

struct GemmParams {
  ConvDims d;
  int phases_w;  // phases along w (phase_count(d.dw)); phases along h only bound z_count
  int z_count;   // phases_h * phases_w * groups
  int m_tiles;   // most BM-row tiles of any phase
  int n_tiles;   // ceil(cog / BN)
  const void* x;
  const void* w;
  const void* bias;  // null: no bias
  void* y;
  int bias_div, bias_mod;  // bias of output channel co: bias[bias_index(co, div, mod)]
  // Split-K (Plan::splits > 1): grid z = split; split s sums its share of every tile's k-tiles
  // and writes the fp32 partial, without bias, to partial + s * y_elems at y's own index; the
  // reduction kernel then adds the splits in order and the bias (deterministic).
  int splits = 1;
  int64_t y_elems = 0;
  float* partial = nullptr;
};

// Everything uniform over one block tile.
struct TileCtx {
  PhaseDim ph, pw;
  int g;
  int m0, n0;  // first row and column of the tile
  int M;       // rows of this phase's GEMM
  int chunks;  // channel chunks of bk per tap
  int nk;      // k-tiles: taps_h * taps_w * chunks (0 for a phase without taps)
  bool active;  // false when m0 >= M (the grid is sized for the largest phase)
};

TCONV_HD TileCtx make_tile_ctx(const GemmParams& p, int z, int mt, int nt, int bm, int bn, int bk) {
  TileCtx t;
  const PhaseGroup pg = decode_phase_group(z, p.phases_w, p.d.groups);
  t.ph = phase_dim(pg.fh, p.d.dh);
  t.pw = phase_dim(pg.fw, p.d.dw);
  t.g = pg.g;
  t.M = gemm_m(p.d, t.ph, t.pw);
  const int64_t m0 = int64_t(mt) * bm;
  t.active = m0 < t.M;
  t.m0 = t.active ? int(m0) : 0;
  t.n0 = nt * bn;
  t.chunks = channel_chunks(p.d.cig, bk);
  t.nk = k_tiles(t.ph, t.pw, p.d.cig, bk);
  return t;
}

// ---- Tile configurations -----------------------------------------------------------------------

enum class Engine { simt, tc };

// T: storage type (float for fp32 and tf32). BM x BN block tile. P x Q: for simt the outputs per
// thread (TM x TN, multiples of 4), for tc the warps (WARPS_M x WARPS_N). VA: elements per A load
// along channels (nhwc only; 1 = scalar loads with lanes along pixels). VB: elements per B load
// along output channels (nhwc only; 1 = scalar).
template <typename T_, Engine E_, Layout L_, int BM_, int BN_, int P_, int Q_, int VA_, int VB_>
struct GemmCfg {
  using T = T_;
  using S = T_;  // shared-memory element (tf32 keeps fp32 storage, rounded)
  static constexpr Engine engine = E_;
  static constexpr Layout layout = L_;
  static constexpr bool tf32 = E_ == Engine::tc && sizeof(T_) == 4;
  static constexpr bool ldsm = E_ == Engine::tc && sizeof(T_) == 2;  // ldmatrix fragments
  static constexpr int BM = BM_, BN = BN_;
  static constexpr int BK = sizeof(T_) == 2 ? 32 : 16;
  static constexpr int P = P_, Q = Q_;
  static constexpr int NT = E_ == Engine::simt ? (BM_ / P_) * (BN_ / Q_) : 32 * P_ * Q_;
  static constexpr int VA = VA_, VB = VB_;
  static constexpr int LDA = ldsm ? BK : BM_ + (tf32 ? 8 : 4);
  static constexpr int LDB = ldsm ? BN_ : BN_ + (tf32 ? 8 : 4);
  static constexpr int A_STAGE = ldsm ? BM_ * LDA : BK * LDA;
  static constexpr int B_STAGE = BK * LDB;
  static_assert(sizeof(T_) == 4 || E_ == Engine::tc, "16-bit types run on the tensor cores");
  static_assert(L_ == Layout::nhwc || (VA_ == 1 && VB_ == 1), "vector loads need nhwc");
  static_assert(BM_ % 16 == 0 && BN_ % 8 == 0, "tile shape");
  static_assert(!ldsm || (BN_ % 32 == 0 && BM_ >= 32), "ldmatrix tiles: rows of 4, 8 or 16 chunks");
  // The epilogue through shared memory: NHWC rows of output channels are contiguous in y, so the
  // tile leaves in 16-byte chunks (needs C_out/g % 8 == 0, which VB == 8 implies). NCHW keeps
  // the direct stores: a phase's neighbouring pixels are stride_w apart in y, which no staging
  // makes contiguous.
  static constexpr bool staged = ldsm && L_ == Layout::nhwc && VB_ * sizeof(T_) == 16;
  static constexpr int C_TILE = staged ? BM_ * BN_ : 0;  // elements of the staged output tile
  // Blocks per SM that __launch_bounds__ asks registers for. 1 (8 warps for the 256-thread tiles,
  // 4 for the others, whatever ptxas picks) except the 16-bit 128x64 tile with both loads 16
  // bytes wide: 3 blocks (12 warps) cap it at 170 registers, which it fits without spills on sm_90
  // (165; 202 uncapped); the 128x64 configurations with scalar loads spill under that cap (40-60
  // bytes), so they keep 1 (notes: the ptxas table).
  static constexpr int MIN_BLOCKS = ldsm && NT == 128 && BM_ == 128 && VA_ == 8 && VB_ == 8 ? 3 : 1;
  // Bytes of the block's one shared array: the two A and B stages, and the staged output tile
  // over them once the k loop is done.
  static constexpr int AB_BYTES = 2 * (A_STAGE + B_STAGE) * int(sizeof(S));
  static constexpr int SMEM_BYTES =
      AB_BYTES > C_TILE * int(sizeof(T_)) ? AB_BYTES : C_TILE * int(sizeof(T_));

  // 16-byte chunk u of row r of a 16-bit tile with `chunks` chunks a row sits at chunk
  // swizzle(r, u, chunks) of that row. A quarter-warp's 16-byte accesses are conflict-free when
  // their 8 chunks fall in the 8 distinct 16-byte slots of a 128-byte line; the XOR gives that
  // for the three patterns the kernel has: one chunk of 8 consecutive rows (ldmatrix, the
  // pixel-major A stores of NCHW), 8 consecutive chunks of one row (B stores, rows >= 8 chunks),
  // and 4 chunks of 2 rows (A stores from 16-byte loads, 4-chunk rows).
  TCONV_HD static int swizzle(int r, int u, int chunks) {
    return chunks >= 8 ? u ^ (r & 7) : u ^ ((r >> 1) & 3);
  }
  TCONV_HD static int a_idx(int m, int k) {
    if constexpr (ldsm) return m * LDA + swizzle(m, k / 8, BK / 8) * 8 + k % 8;
    return k * LDA + m;
  }
  TCONV_HD static int b_idx(int k, int n) {
    if constexpr (ldsm) return k * LDB + swizzle(k, n / 8, BN_ / 8) * 8 + n % 8;
    return k * LDB + n;
  }
  // The staged output tile, swizzled as B: a fragment's store (8 rows, one chunk) and a row's
  // chunks read by 8 neighbouring lanes both fall in distinct 16-byte slots.
  TCONV_HD static int c_idx(int m, int n) { return m * BN_ + swizzle(m, n / 8, BN_ / 8) * 8 + n % 8; }
  TCONV_HD static S to_smem(T v) {
    if constexpr (tf32)
      return round_tf32(v);
    else
      return v;
  }
};

// ---- Global -> register -> shared loaders ------------------------------------------------------

// A tile: BM pixels x BK channels of one tap. V == 1: lanes run along pixels (nchw: consecutive
// pixels of a phase row read consecutive input columns; nhwc: the unaligned fallback). V > 1:
// lanes run along channels, V contiguous channels per load (nhwc). Each thread keeps E
// k-consecutive elements per entry: V, or a whole 16-byte chunk for the ldmatrix tiles (then a
// lane of the V == 1 map reads its pixel's 8 channels one by one and stores them as one chunk:
// 8 neighbouring lanes store 8 rows' chunk, which the swizzle keeps conflict-free).
template <class C>
struct ALoader {
  using T = typename C::T;
  static constexpr int V = C::VA;
  static constexpr int E = C::ldsm ? 8 : V;
  static_assert(V == 1 || V == E, "A entries: one vector load or E scalar loads");
  static constexpr int TPM = V == 1 ? (C::NT < C::BM ? C::NT : C::BM) : C::NT / (C::BK / E);
  static constexpr int TPK = C::NT / TPM;
  static constexpr int MREP = C::BM / TPM;
  static constexpr int KREP = (C::BK / E) / TPK;
  static_assert(TPM * TPK == C::NT && MREP * TPM == C::BM && KREP * TPK * E == C::BK, "A map");
  static constexpr int kFar = -(1 << 30);  // qh of a row past M: every tap reads out of range

  int mi0, ki0;
  int base[MREP];  // offset of (nb, channel g*cig, 0, 0)
  int qh[MREP], qw[MREP];
  T stage[MREP][KREP][E];

  TCONV_HD void setup(const GemmParams& p, const TileCtx& t, int tid) {
    if (V == 1) {
      mi0 = tid % TPM;
      ki0 = tid / TPM;
    } else {
      ki0 = tid % TPK;
      mi0 = tid / TPK;
    }
    const ConvDims& d = p.d;
    for (int j = 0; j < MREP; ++j) {
      const int m = t.m0 + mi0 + j * TPM;
      if (m < t.M) {
        const Pixel px = decode_pixel(m, t.ph.count, t.pw.count);
        qh[j] = px.qh;
        qw[j] = px.qw;
        base[j] = x_offset<C::layout>(d, px.nb, t.g * d.cig, 0, 0);
      } else {
        qh[j] = kFar;
        qw[j] = 0;
        base[j] = 0;
      }
    }
  }

  TCONV_HD void load(const GemmParams& p, const TileCtx& t, const KTile& kt) {
    const ConvDims& d = p.d;
    const T* x = static_cast<const T*>(p.x);
    const int offh = phase_in_offset(t.ph, kt.th), offw = phase_in_offset(t.pw, kt.tw);
    const int hw = d.h_in * d.w_in;
    TCONV_UNROLL
    for (int j = 0; j < MREP; ++j) {
      const int iy = qh[j] + offh, ix = qw[j] + offw;
      const bool ok = unsigned(iy) < unsigned(d.h_in) && unsigned(ix) < unsigned(d.w_in);
      const int pix = ok ? iy * d.w_in + ix : 0;
      TCONV_UNROLL
      for (int i = 0; i < KREP; ++i) {
        const int ci = kt.c0 + (ki0 + i * TPK) * E;
        const int off = C::layout == Layout::nchw ? base[j] + pix + ci * hw
                                                  : base[j] + pix * d.c_in + ci;
        if constexpr (V == E) {
          if (ok && ci < d.cig) {  // V > 1 needs cig % V == 0: a vector is all in or all out
            if constexpr (V == 1)
              stage[j][i][0] = load_scalar(x + off);
            else
              load_vec<V>(x + off, stage[j][i]);
          } else {
            for (int v = 0; v < V; ++v) stage[j][i][v] = from_float<T>(0.f);
          }
        } else {
          const int step = C::layout == Layout::nchw ? hw : 1;
          TCONV_UNROLL
          for (int e = 0; e < E; ++e)
            stage[j][i][e] = ok && ci + e < d.cig ? load_scalar(x + off + e * step) : from_float<T>(0.f);
        }
      }
    }
  }

  TCONV_HD void store(typename C::S* smem) const {
    TCONV_UNROLL
    for (int j = 0; j < MREP; ++j)
      TCONV_UNROLL
      for (int i = 0; i < KREP; ++i) {
        if constexpr (C::ldsm) {
          store_vec(smem + C::a_idx(mi0 + j * TPM, (ki0 + i * TPK) * E), stage[j][i]);
        } else {
          TCONV_UNROLL
          for (int v = 0; v < E; ++v)
            smem[C::a_idx(mi0 + j * TPM, (ki0 + i * TPK) * E + v)] = C::to_smem(stage[j][i][v]);
        }
      }
  }
};

// B tile: BK channels of one tap x BN output channels. Lanes run along output channels (V > 1:
// V contiguous output channels per load, nhwc's KRSC weight). On the ldmatrix tiles B[k][n] is
// n-contiguous too: a 16-byte load is stored as one chunk, and the scalar map's 32 lanes store
// 64 contiguous bytes of a row (4 chunks, distinct slots under the swizzle).
template <class C>
struct BLoader {
  using T = typename C::T;
  static constexpr int V = C::VB;
  static constexpr int TPN = V == 1 ? (C::NT < C::BN ? C::NT : C::BN) : C::BN / V;
  static constexpr int TPK = C::NT / TPN;
  static constexpr int NREP = (C::BN / V) / TPN;
  static constexpr int KREP = C::BK / TPK;
  static_assert(TPN * TPK == C::NT && NREP * TPN * V == C::BN && KREP * TPK == C::BK, "B map");

  int ni0, ki0;
  T stage[KREP][NREP][V];

  TCONV_HD void setup(int tid) {
    ni0 = tid % TPN;
    ki0 = tid / TPN;
  }

  TCONV_HD void load(const GemmParams& p, const TileCtx& t, const KTile& kt) {
    const ConvDims& d = p.d;
    const T* w = static_cast<const T*>(p.w);
    const int ky = phase_tap(t.ph, kt.th), kx = phase_tap(t.pw, kt.tw);
    TCONV_UNROLL
    for (int i = 0; i < KREP; ++i) {
      const int ci = kt.c0 + ki0 + i * TPK;
      TCONV_UNROLL
      for (int j = 0; j < NREP; ++j) {
        const int n = t.n0 + (ni0 + j * TPN) * V;
        if (ci < d.cig && n < d.cog) {  // V > 1 needs cog % V == 0
          const int off = w_offset<C::layout>(d, t.g * d.cig + ci, n, ky, kx);
          if constexpr (V == 1)
            stage[i][j][0] = load_scalar(w + off);
          else
            load_vec<V>(w + off, stage[i][j]);
        } else {
          for (int v = 0; v < V; ++v) stage[i][j][v] = from_float<T>(0.f);
        }
      }
    }
  }

  TCONV_HD void store(typename C::S* smem) const {
    TCONV_UNROLL
    for (int i = 0; i < KREP; ++i)
      TCONV_UNROLL
      for (int j = 0; j < NREP; ++j) {
        if constexpr (C::ldsm && V * sizeof(T) == 16) {
          store_vec(smem + C::b_idx(ki0 + i * TPK, (ni0 + j * TPN) * V), stage[i][j]);
        } else {
          TCONV_UNROLL
          for (int v = 0; v < V; ++v)
            smem[C::b_idx(ki0 + i * TPK, (ni0 + j * TPN) * V + v)] = C::to_smem(stage[i][j][v]);
        }
      }
  }
};

// ---- SIMT fp32 inner product -------------------------------------------------------------------
// Thread (ty, tx) owns TM x TN outputs: rows (s*4*TY + ty*4 + 0..3), columns (s*4*TX + tx*4 + 0..3),
// so each k step reads TM/4 + TN/4 float4 from shared memory for TM*TN FMAs, and a warp's float4
// reads hit at most two distinct A addresses (broadcast) and 8 or 16 consecutive B float4.
template <class C>
struct SimtMath {
  static constexpr int TM = C::P, TN = C::Q;
  static constexpr int TY = C::BM / TM, TX = C::BN / TN;
  static constexpr int ROWS = TM, COLS = TN;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && TY * TX == C::NT, "SIMT thread tile");

  int tx, ty;
  float acc[TM][TN];

  TCONV_HD void init(int tid) {
    tx = tid % TX;
    ty = tid / TX;
    TCONV_UNROLL
    for (int i = 0; i < TM; ++i)
      TCONV_UNROLL
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;
  }
  TCONV_HD int row(int i) const { return (i / 4) * (4 * TY) + ty * 4 + i % 4; }
  TCONV_HD int col(int j) const { return (j / 4) * (4 * TX) + tx * 4 + j % 4; }

  TCONV_HD void compute(const float* As, const float* Bs) {
TCONV_UNROLL
    for (int k = 0; k < C::BK; ++k) {
      float a[TM], b[TN];
TCONV_UNROLL
      for (int s = 0; s < TM / 4; ++s) load4(As + k * C::LDA + s * 4 * TY + ty * 4, a + 4 * s);
TCONV_UNROLL
      for (int s = 0; s < TN / 4; ++s) load4(Bs + k * C::LDB + s * 4 * TX + tx * 4, b + 4 * s);
TCONV_UNROLL
      for (int i = 0; i < TM; ++i)
TCONV_UNROLL
        for (int j = 0; j < TN; ++j) acc[i][j] = mad(a[i], b[j], acc[i][j]);
    }
  }
};

// ---- Tensor-core (mma.sync) fragment geometry --------------------------------------------------
// Warp (wm, wn) owns a WM x WN sub-tile: MI x NI instructions of m16n8. Per PTX (groupID g =
// lane/4, t = lane%4):
//   tf32 m16n8k8:  A reg r = A[g + 8*(r&1)][t + 4*(r>>1)],  B reg r = B[t + 4r][g]
//   f16/bf16 m16n8k16: A reg r = A[g + 8*(r&1)][2t + 8*(r>>1) + {0,1}],
//                      B reg r = B[2t + 8r + {0,1}][g]
//   C/D (both): c[e] = C[g + 8*(e>>1)][2t + (e&1)]
// The accumulators of a thread are kept as acc[MI*2][NI*2]: row index ri = mi*2 + (e>>1), column
// index cj = ni*2 + (e&1).
template <class C>
struct TcGeometry {
  static constexpr int WARPS_M = C::P, WARPS_N = C::Q;
  static constexpr int WM = C::BM / WARPS_M, WN = C::BN / WARPS_N;
  static constexpr int MI = WM / 16, NI = WN / 8;
  static constexpr int KS = C::tf32 ? 8 : 16;  // k per instruction
  static constexpr int ROWS = MI * 2, COLS = NI * 2;
  static_assert(MI * 16 * WARPS_M == C::BM && NI * 8 * WARPS_N == C::BN, "warp tile");
  static_assert(C::BK % KS == 0, "BK");
  static_assert(!C::ldsm || NI % 2 == 0, "ldmatrix.x4.trans loads two instruction columns of B");

  int wm, wn, lane;
  float acc[ROWS][COLS];

  TCONV_HD void init(int tid) {
    const int warp = tid / 32;
    wm = warp / WARPS_N;
    wn = warp % WARPS_N;
    lane = tid % 32;
    TCONV_UNROLL
    for (int i = 0; i < ROWS; ++i)
      TCONV_UNROLL
      for (int j = 0; j < COLS; ++j) acc[i][j] = 0.f;
  }
  TCONV_HD int row(int ri) const { return wm * WM + (ri / 2) * 16 + lane / 4 + 8 * (ri % 2); }
  TCONV_HD int col(int cj) const { return wn * WN + (cj / 2) * 8 + 2 * (lane % 4) + cj % 2; }

  // Shared-memory element index of A register r of instruction row mi at k offset kk (for 16-bit
  // types: the first of the two k-consecutive elements the register holds).
  TCONV_HD int a_frag(int mi, int r, int kk) const {
    const int g = lane / 4, t = lane % 4;
    const int m = wm * WM + mi * 16 + g + 8 * (r & 1);
    const int k = kk + (C::tf32 ? t + 4 * (r >> 1) : 2 * t + 8 * (r >> 1));
    return C::a_idx(m, k);
  }
  TCONV_HD int b_frag(int ni, int r, int kk) const {
    const int g = lane / 4, t = lane % 4;
    const int n = wn * WN + ni * 8 + g;
    const int k = kk + (C::tf32 ? t + 4 * r : 2 * t + 8 * r);
    return C::b_idx(k, n);
  }

  // ldmatrix (16-bit tiles): lane l gives the address of row l%8 of matrix l/8.
  // A, .x4: matrices (rows 0-7, 8-15) x (k 0-7, 8-15) of instruction row mi, i.e. registers
  // a0..a3 of the fragment table above.
  TCONV_HD int a_ldsm(int mi, int kk) const {
    const int i = lane / 8, r = lane % 8;
    return C::a_idx(wm * WM + mi * 16 + r + 8 * (i & 1), kk + 8 * (i >> 1));
  }
  // B, .x4.trans: rows k 0-7 and 8-15 of instruction columns 2*nj and 2*nj+1 (B[k][n] stored
  // n-contiguous; .trans hands each lane B[2t..2t+1][g]): b[2nj][0..1], b[2nj+1][0..1].
  TCONV_HD int b_ldsm(int nj, int kk) const {
    const int i = lane / 8, r = lane % 8;
    return C::b_idx(kk + r + 8 * (i & 1), wn * WN + nj * 16 + 8 * (i >> 1));
  }
};

// ---- Epilogue ----------------------------------------------------------------------------------
// acc (+ bias) -> y for the rows and columns this thread owns; rows past M and columns past C_out/g
// are dropped. One pixel decode per row.
template <class C, class Math>
TCONV_HD void store_tile(const GemmParams& p, const TileCtx& t, const Math& mth) {
  using T = typename C::T;
  const ConvDims& d = p.d;
  T* y = static_cast<T*>(p.y);
  const T* bias = static_cast<const T*>(p.bias);
  const int cstride = C::layout == Layout::nchw ? d.h_out * d.w_out : 1;
  float bv[Math::COLS];
  TCONV_UNROLL
  for (int cj = 0; cj < Math::COLS; ++cj) {
    const int n = t.n0 + mth.col(cj);
    bv[cj] = (bias && n < d.cog)
                 ? to_float(bias[bias_index(t.g * d.cog + n, p.bias_div, p.bias_mod)])
                 : 0.f;
  }
  TCONV_UNROLL
  for (int ri = 0; ri < Math::ROWS; ++ri) {
    const int m = t.m0 + mth.row(ri);
    if (m >= t.M) continue;
    const Pixel px = decode_pixel(m, t.ph.count, t.pw.count);
    const int rb = y_offset<C::layout>(d, px.nb, t.g * d.cog, phase_out(t.ph, d.dh, px.qh),
                                       phase_out(t.pw, d.dw, px.qw));
    TCONV_UNROLL
    for (int cj = 0; cj < Math::COLS; ++cj) {
      const int n = t.n0 + mth.col(cj);
      if (n < d.cog) y[rb + n * cstride] = from_float<T>(mth.acc[ri][cj] + bv[cj]);
    }
  }
}

// The staged epilogue (GemmCfg::staged), in two steps with a barrier between (the kernel's).
// stage_tile: acc (+ bias), rounded to T exactly as store_tile rounds it, to the shared tile cs
// (the caller has made sure no warp still reads the last k stage there).
template <class C>
TCONV_HD void stage_tile(const GemmParams& p, const TileCtx& t, const TcGeometry<C>& mth,
                         typename C::T* cs) {
  using T = typename C::T;
  using G = TcGeometry<C>;
  const ConvDims& d = p.d;
  const T* bias = static_cast<const T*>(p.bias);
  // A thread's rows are 8 apart from one another (TcGeometry::row), and rows 8 apart share
  // their swizzle: one XOR key per thread, the chunk of each column pair XOR-ed once. (c_idx per
  // element made the compiler keep 32 addresses live: 215-230 registers on sm_90 instead of 162.)
  const int key = C::swizzle(mth.row(0), 0, C::BN / 8);
  TCONV_UNROLL
  for (int cj = 0; cj < G::COLS; cj += 2) {
    const int c = mth.col(cj);
    const int n = t.n0 + c;  // columns cj and cj+1 are n and n+1
    const float b0 = (bias && n < d.cog)
                         ? to_float(bias[bias_index(t.g * d.cog + n, p.bias_div, p.bias_mod)])
                         : 0.f;
    const float b1 = (bias && n + 1 < d.cog)
                         ? to_float(bias[bias_index(t.g * d.cog + n + 1, p.bias_div, p.bias_mod)])
                         : 0.f;
    T* col = cs + ((c / 8) ^ key) * 8 + c % 8;
    TCONV_UNROLL
    for (int ri = 0; ri < G::ROWS; ++ri)
      store_pair(col + mth.row(ri) * C::BN, from_float<T>(mth.acc[ri][cj] + b0),
                 from_float<T>(mth.acc[ri][cj + 1] + b1));
  }
}

// store_staged: each thread moves 16-byte chunks of output rows from cs to y (a row of BN output
// channels of one pixel is contiguous in NHWC), lanes along a row's chunks. Rows past M and
// chunks past C_out/g (a partial n-tile; C_out/g % 8 == 0 makes a chunk all in or all out) stay.
template <class C>
TCONV_HD void store_staged(const GemmParams& p, const TileCtx& t, const typename C::T* cs, int tid) {
  using T = typename C::T;
  constexpr int CH = C::BN / 8;
  constexpr int REP = C::BM * CH / C::NT;
  static_assert(REP * C::NT == C::BM * CH, "output chunks per thread");
  const ConvDims& d = p.d;
  T* y = static_cast<T*>(p.y);
TCONV_NO_UNROLL
  for (int i = 0; i < REP; ++i) {
    const int idx = tid + i * C::NT;
    const int m = idx / CH, u = idx % CH;
    const int n = t.n0 + u * 8;
    if (t.m0 + m >= t.M || n >= d.cog) continue;
    const Pixel px = decode_pixel(t.m0 + m, t.ph.count, t.pw.count);
    const int rb = y_offset<Layout::nhwc>(d, px.nb, t.g * d.cog, phase_out(t.ph, d.dh, px.qh),
                                          phase_out(t.pw, d.dw, px.qw));
    T v[8];
    load_smem16(cs + C::c_idx(m, u * 8), v);
    store_vec(y + rb + n, v);
  }
}

// Split-K: this split's fp32 partial sums (no bias) for the rows and columns this thread owns, at
// y's indices in the split's slice of the workspace. Every split writes its whole tile, also
// when its share of the k-tiles is empty (zeros), so the reduction reads only written partials.
template <class C, class Math>
TCONV_HD void store_partial(const GemmParams& p, const TileCtx& t, const Math& mth, int split) {
  const ConvDims& d = p.d;
  float* out = p.partial + int64_t(split) * p.y_elems;
  const int cstride = C::layout == Layout::nchw ? d.h_out * d.w_out : 1;
  TCONV_UNROLL
  for (int ri = 0; ri < Math::ROWS; ++ri) {
    const int m = t.m0 + mth.row(ri);
    if (m >= t.M) continue;
    const Pixel px = decode_pixel(m, t.ph.count, t.pw.count);
    const int rb = y_offset<C::layout>(d, px.nb, t.g * d.cog, phase_out(t.ph, d.dh, px.qh),
                                       phase_out(t.pw, d.dw, px.qw));
    TCONV_UNROLL
    for (int cj = 0; cj < Math::COLS; ++cj) {
      const int n = t.n0 + mth.col(cj);
      if (n < d.cog) out[rb + n * cstride] = mth.acc[ri][cj];
    }
  }
}

// The split-K reduction for output element e (y's index): the splits' partials in split order,
// then the bias, rounded once, as store_tile rounds acc + bias.
template <typename T, Layout L>
TCONV_HD void reduce_splits(const GemmParams& p, int64_t e) {
  const ConvDims& d = p.d;
  float s = 0.f;
  for (int k = 0; k < p.splits; ++k) s += p.partial[int64_t(k) * p.y_elems + e];
  if (p.bias) {
    const int co = L == Layout::nchw ? int((e / (int64_t(d.h_out) * d.w_out)) % d.c_out)
                                     : int(e % d.c_out);
    s += to_float(static_cast<const T*>(p.bias)[bias_index(co, p.bias_div, p.bias_mod)]);
  }
  static_cast<T*>(p.y)[e] = from_float<T>(s);
}

// ---- Direct path (few channels per group) ------------------------------------------------------
// One thread: kDirectR consecutive outputs of a phase row x CO output channels of one group, summed
// over the group's input channels and the phase's taps in fp32. Used when a GEMM tile would be
// mostly padding (C_out/g <= 8, C_in/g < 8, or both <= 32), e.g. depthwise, RGB outputs.
constexpr int kDirectR = 4;

struct DirectParams {
  ConvDims d;
  int phases_w;
  int z_count;    // phases_h * phases_w * groups
  int co_chunks;  // ceil(cog / CO)
  const void* x;
  const void* w;
  const void* bias;
  void* y;
  int bias_div, bias_mod;  // as in GemmParams
};

TCONV_HD int direct_tasks(const ConvDims& d, const PhaseDim& ph, const PhaseDim& pw) {
  return d.n * ph.count * ((pw.count + kDirectR - 1) / kDirectR);
}

template <typename T, Layout L, int CO>
TCONV_HD void direct_outputs(const DirectParams& p, const PhaseDim& ph, const PhaseDim& pw, int g,
                             int task, int j0) {
  constexpr int R = kDirectR, KW = kMaxWindowTaps;
  const ConvDims& d = p.d;
  const T* x = static_cast<const T*>(p.x);
  const T* w = static_cast<const T*>(p.w);
  const int qwr = (pw.count + R - 1) / R;
  const int qw0 = (task % qwr) * R;
  const int rest = task / qwr;
  const int qh = rest % ph.count;
  const int nb = rest / ph.count;
  const int xstride = L == Layout::nchw ? 1 : d.c_in;  // between neighbouring input columns
  const bool win = window_usable(pw);

  float acc[R][CO];
  TCONV_UNROLL
  for (int r = 0; r < R; ++r)
    TCONV_UNROLL
    for (int c = 0; c < CO; ++c) acc[r][c] = 0.f;

  for (int cl = 0; cl < d.cig; ++cl) {
    const int ci = g * d.cig + cl;
    for (int th = 0; th < ph.taps; ++th) {
      const int iy = qh + phase_in_offset(ph, th);
      if (unsigned(iy) >= unsigned(d.h_in)) continue;
      const int ky = phase_tap(ph, th);
      const T* xrow = x + x_offset<L>(d, nb, ci, iy, 0);
      if (win) {
        const int ix0 = window_first_ix(qw0, pw);
        float xs[R + KW - 1];
        TCONV_UNROLL
        for (int s = 0; s < R + KW - 1; ++s) {
          const int ix = ix0 + s;
          xs[s] = (s >= KW - pw.taps && unsigned(ix) < unsigned(d.w_in))
                      ? to_float(load_scalar(xrow + ix * xstride))
                      : 0.f;
        }
        TCONV_UNROLL
        for (int tw = 0; tw < KW; ++tw) {
          if (tw >= pw.taps) break;
          const int kx = phase_tap(pw, tw);
          float wv[CO];
          TCONV_UNROLL
          for (int c = 0; c < CO; ++c) {
            const int j = j0 + c;
            wv[c] = j < d.cog ? to_float(load_scalar(w + w_offset<L>(d, ci, j, ky, kx))) : 0.f;
          }
          TCONV_UNROLL
          for (int r = 0; r < R; ++r)
            TCONV_UNROLL
            for (int c = 0; c < CO; ++c) acc[r][c] = mad(xs[window_slot(r, tw)], wv[c], acc[r][c]);
        }
      } else {
        for (int tw = 0; tw < pw.taps; ++tw) {
          const int kx = phase_tap(pw, tw);
          float wv[CO];
          TCONV_UNROLL
          for (int c = 0; c < CO; ++c) {
            const int j = j0 + c;
            wv[c] = j < d.cog ? to_float(load_scalar(w + w_offset<L>(d, ci, j, ky, kx))) : 0.f;
          }
          TCONV_UNROLL
          for (int r = 0; r < R; ++r) {
            const int ix = qw0 + r + phase_in_offset(pw, tw);
            const float xv =
                unsigned(ix) < unsigned(d.w_in) ? to_float(load_scalar(xrow + ix * xstride)) : 0.f;
            TCONV_UNROLL
            for (int c = 0; c < CO; ++c) acc[r][c] = mad(xv, wv[c], acc[r][c]);
          }
        }
      }
    }
  }

  T* y = static_cast<T*>(p.y);
  const T* bias = static_cast<const T*>(p.bias);
  const int oy = phase_out(ph, d.dh, qh);
  TCONV_UNROLL
  for (int r = 0; r < R; ++r) {
    const int qw = qw0 + r;
    if (qw >= pw.count) break;
    const int ox = phase_out(pw, d.dw, qw);
    TCONV_UNROLL
    for (int c = 0; c < CO; ++c) {
      const int j = j0 + c;
      if (j >= d.cog) break;
      const int co = g * d.cog + j;
      const float b = bias ? to_float(bias[bias_index(co, p.bias_div, p.bias_mod)]) : 0.f;
      y[y_offset<L>(d, nb, co, oy, ox)] = from_float<T>(acc[r][c] + b);
    }
  }
}

}  // namespace TCONV_KERNEL_NS
}  // namespace tconv::pg
