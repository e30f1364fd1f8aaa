// A test-only cap on the grids of our grid-stride kernels, applied by
// kernels/common/launch.cuh's grid_extent (which grid_blocks and every other grid-stride launch
// go through) in the CPU build only.
//
// Why: the production grids are sized for one pass over the work, so on the tests' small
// problems every grid-stride loop runs exactly once per thread, and a slip in its step or start
// would first show on a GPU, on problems above 2^28 elements. Under a cap the same small
// problems need several passes: a loop that skips work leaves the NaN-poisoned output visible,
// one that repeats work adds twice where a kernel accumulates.
//
// The cycled cap (1, 2, .., k blocks, in turn at each grid dimension a launch sizes) has both
// kinds within one test: a cap of 1, where the step is one block's width and every later pass is
// the same block's, and caps of 2 and more, where the step spans other blocks and a loop start
// that ignores blockIdx.x makes blocks repeat each other's work while some is never done.
#pragma once

#include <cstdint>

namespace cpu_cuda {

struct GridCapSetting {
  int64_t max_blocks = 0;  // 0: no cap
  bool cycle = false;      // 1, 2, .., max_blocks in turn, else max_blocks every time
  int64_t calls = 0;
};

namespace detail {
inline GridCapSetting g_grid_cap;
}  // namespace detail

// The most blocks the next grid dimension may have (0: no cap).
inline int64_t next_grid_cap() {
  GridCapSetting& s = detail::g_grid_cap;
  if (s.max_blocks <= 0 || !s.cycle) return s.max_blocks;
  return 1 + s.calls++ % s.max_blocks;
}

// Caps the grids of grid-stride launches while it lives; the previous setting comes back after.
class GridCap {
 public:
  GridCap(int64_t max_blocks, bool cycle) : prev_(detail::g_grid_cap) {
    detail::g_grid_cap = GridCapSetting{max_blocks, cycle, 0};
  }
  ~GridCap() { detail::g_grid_cap = prev_; }
  GridCap(const GridCap&) = delete;
  GridCap& operator=(const GridCap&) = delete;

 private:
  GridCapSetting prev_;
};

// What the CPU-runtime tests run their problems under a second time.
constexpr int64_t kTestGridCap = 3;

}  // namespace cpu_cuda
