// mma.sync on the CPU runtime: the warp-collective tensor-core instruction the phase_gemm kernels
// issue (m16n8k8 tf32, m16n8k16 f16/bf16, fp32 accumulation, row.col). On the device each lane
// holds a few fragment registers and the hardware combines all 32 lanes' registers; here every
// lane publishes its registers in its warp's scratch and waits at a warp barrier; then the whole
// A (16 x K) and B (K x 8) are rebuilt from all lanes through the fragment tables of the PTX ISA
// and each lane computes its own four D elements. A lane whose warp diverged (a barrier not every
// live lane reaches) deadlocks, which the runtime reports.
//
// The tables below are the PTX ISA's ("Matrix Fragments for mma.m16n8k8 / mma.m16n8k16",
// groupID = lane >> 2, threadID_in_group = lane % 4), written element by element and on purpose
// not through the kernels' own fragment-index functions (kernels/phase_gemm/phase_gemm_tile.hpp's
// TcGeometry): a slip there then gives a wrong product instead of agreeing with itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace cpu_cuda {

// The calling fiber's lane (linear thread index mod 32) and its warp's scratch (bytes from offset,
// shared by the warp's lanes, kept between barriers of the block; each model has its own offset).
int lane_id();
void* warp_scratch(size_t bytes, size_t offset = 0);
namespace prof {
void count_mma();  // profiler.hpp: one warp-wide mma.sync
}

namespace ptx {

struct RC {
  int row, col;
};
// tf32 m16n8k8: A element i < 4 (one per 32-bit register), B element i < 2.
inline RC a_tf32(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {(i == 0 || i == 2) ? g : g + 8, (i < 2) ? t : t + 4};
}
inline RC b_tf32(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {i == 0 ? t : t + 4, g};
}
// f16/bf16 m16n8k16: A element i < 8 (two per register, the lower-numbered in the low half),
// B element i < 4.
inline RC a_f16(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  const bool upper = (i >= 2 && i < 4) || i >= 6;
  return {upper ? g + 8 : g, t * 2 + (i & 1) + (i >= 4 ? 8 : 0)};
}
inline RC b_f16(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {t * 2 + (i & 1) + (i >= 2 ? 8 : 0), g};
}
// f32 C/D of both shapes, element i < 4.
inline RC c_f32(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {i < 2 ? g : g + 8, t * 2 + (i & 1)};
}

// A 32-bit register as the tensor core reads it: tf32 uses the top 19 bits of an fp32 (the
// hardware ignores the low 13 mantissa bits), f16/bf16 hold two elements, low half first.
inline float tf32_value(uint32_t r) {
  r &= 0xffffe000u;
  float f;
  std::memcpy(&f, &r, 4);
  return f;
}
inline float half_value(uint16_t h, bool bf16) {
  if (bf16) {
    const uint32_t r = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &r, 4);
    return f;
  }
  __half_raw raw;
  raw.x = h;
  return __half2float(__half(raw));
}

}  // namespace ptx

// D = A*B + C for the calling lane's fragment; T is the kernels' storage type (float = tf32).
// One warp barrier per instruction: the scratch has two slots used alternately by a lane's
// successive calls, and a lane can only come back to a slot after the barrier of the call in
// between, which every lane reaches only once it has read that slot. The first lane past the
// barrier decodes the fragments into A and B for the whole warp.
template <typename T>
void mma_sync(float& c0, float& c1, float& c2, float& c3, const uint32_t (&a)[4],
              const uint32_t (&b)[2]) {
  constexpr bool tf32 = std::is_same_v<T, float>;
  constexpr bool bf16 = std::is_same_v<T, __nv_bfloat16>;
  constexpr int K = tf32 ? 8 : 16;
  struct Slot {
    uint32_t a[32][4], b[32][2];
    bool decoded;
    float A[16][16], B[16][8];
  };
  struct Scratch {
    Slot slot[2];
    unsigned calls[32];  // per lane: instructions issued since the block started
  };
  static_assert(sizeof(Scratch) <= 8192, "the runtime's warp scratch");
  Scratch* w = static_cast<Scratch*>(warp_scratch(sizeof(Scratch)));
  const int lane = lane_id();
  if (lane == 0) prof::count_mma();
  Slot& s = w->slot[w->calls[lane]++ & 1];
  for (int r = 0; r < 4; ++r) s.a[lane][r] = a[r];
  for (int r = 0; r < 2; ++r) s.b[lane][r] = b[r];
  s.decoded = false;
  ::cpu_cuda::syncwarp();
  if (!s.decoded) {
    for (int l = 0; l < 32; ++l) {
      for (int r = 0; r < 4; ++r) {
        const uint32_t v = s.a[l][r];
        if (tf32) {
          const ptx::RC rc = ptx::a_tf32(l, r);
          s.A[rc.row][rc.col] = ptx::tf32_value(v);
        } else {
          for (int h = 0; h < 2; ++h) {
            const ptx::RC rc = ptx::a_f16(l, 2 * r + h);
            s.A[rc.row][rc.col] = ptx::half_value(uint16_t(v >> (16 * h)), bf16);
          }
        }
      }
      for (int r = 0; r < 2; ++r) {
        const uint32_t v = s.b[l][r];
        if (tf32) {
          const ptx::RC rc = ptx::b_tf32(l, r);
          s.B[rc.row][rc.col] = ptx::tf32_value(v);
        } else {
          for (int h = 0; h < 2; ++h) {
            const ptx::RC rc = ptx::b_f16(l, 2 * r + h);
            s.B[rc.row][rc.col] = ptx::half_value(uint16_t(v >> (16 * h)), bf16);
          }
        }
      }
    }
    s.decoded = true;
  }
  float* c[4] = {&c0, &c1, &c2, &c3};
  for (int e = 0; e < 4; ++e) {
    const ptx::RC rc = ptx::c_f32(lane, e);
    float acc = *c[e];
    for (int k = 0; k < K; ++k) acc = std::fma(s.A[rc.row][k], s.B[k][rc.col], acc);
    *c[e] = acc;
  }
}

}  // namespace cpu_cuda
