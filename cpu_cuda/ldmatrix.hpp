// ldmatrix on the CPU runtime: the warp-collective shared-memory load of 8x8 matrices of 16-bit
// elements (ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16) that phase_gemm's
// tensor-core path uses for its mma.sync fragments. On the device, lanes 8i..8i+7 give the
// addresses of rows 0..7 of matrix i (16 bytes each, 16-byte aligned) and every lane receives one
// 32-bit register per matrix. Here each lane reads its own row (the access the profiler counts:
// 32 lanes of 16 bytes, served per quarter-warp, one matrix each), publishes it in its warp's
// scratch, waits at a warp barrier, and takes its registers from the published rows.
//
// The table is the PTX ISA's ("Warp-level matrix load instruction: ldmatrix", the fragment of
// m8n8 .b16: lane l holds row l/4, elements 2*(l%4) and 2*(l%4)+1, the lower-numbered in the low
// half; .trans delivers the transposed matrix), written here on its own and not through the
// kernels' address functions (kernels/phase_gemm/phase_gemm_tile.hpp), like mma_sync.hpp: a slip
// in the kernel's addressing then gives a wrong product.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu_cuda/cpu_cuda.hpp"

namespace cpu_cuda {

namespace ptx {
// Row and column of matrix element (register half h of lane l) in the m8n8 .b16 fragment.
struct RowCol {
  int row, col;
};
inline RowCol ldmatrix_b16(int lane, int h, bool trans) {
  const int r = lane / 4, c = 2 * (lane % 4) + h;
  return trans ? RowCol{c, r} : RowCol{r, c};
}
}  // namespace ptx

// Where the models' scratch lives inside a warp's (the mma model uses the first 8 KiB).
constexpr size_t kLdmatrixScratchOffset = 8192;

// NUM matrices (1, 2 or 4); row is the address this lane gives (used by lanes < 8*NUM). Not
// instrumented and not inlined, as cpu_atomic_add: its one 16-byte read is reported as an access
// of the kernel's instruction that called it.
template <int NUM>
__attribute__((noinline, no_sanitize_thread)) void ldmatrix_b16(uint32_t (&d)[NUM], const void* row,
                                                                bool trans) {
  static_assert(NUM == 1 || NUM == 2 || NUM == 4, "ldmatrix: .x1, .x2 or .x4");
  struct Slot {
    uint16_t rows[32][8];
  };
  struct Scratch {
    Slot slot[2];
    unsigned calls[32];
  };
  Scratch* w = static_cast<Scratch*>(warp_scratch(sizeof(Scratch), kLdmatrixScratchOffset));
  const int lane = lane_id();
  // Two slots used alternately: a lane returns to a slot only after the barrier of its next
  // call, which no lane passes before every lane has read this one (as in mma_sync.hpp).
  Slot& s = w->slot[w->calls[lane]++ & 1];
  if (lane < 8 * NUM) {
    check_aligned(row, 16, "ldmatrix row");
    prof::on_access(row, 16, prof::Kind::load,
                    reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    std::memcpy(s.rows[lane], row, 16);
  }
  syncwarp();
  for (int i = 0; i < NUM; ++i) {
    uint32_t v = 0;
    for (int h = 0; h < 2; ++h) {
      const ptx::RowCol rc = ptx::ldmatrix_b16(lane, h, trans);
      v |= uint32_t(s.rows[8 * i + rc.row][rc.col]) << (16 * h);
    }
    d[i] = v;
  }
  // No second barrier: see the slots above.
}

}  // namespace cpu_cuda
