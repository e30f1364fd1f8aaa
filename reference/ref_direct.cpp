// ref_direct: the scatter definition, in the most literal loops possible. Slow; small problems.
// The loops run per output plane (n, c_out) on every core: each plane is written by one thread
// and sums its contributions in the same order as the single-threaded loops (c_in, then the input
// pixel, then the tap), so the result is bit-identical whatever the thread count. The bench
// verifies problems up to 2 GFLOP with it, so one core would dominate a short GPU run.
#include "reference/reference.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace tconv::ref {

namespace {

void direct_plane(const Problem& p, const double* x, const double* w, const double* bias,
                  double* y, int64_t n, int64_t co) {
  const int64_t ho = p.h_out(), wo = p.w_out();
  const int64_t cig = p.c_in_per_group(), cog = p.c_out_per_group();
  const int64_t g = co / cog, j = co % cog;
  double* plane = y + (n * p.c_out + co) * ho * wo;
  std::fill(plane, plane + ho * wo, 0.0);
  for (int64_t ci = g * cig; ci < (g + 1) * cig; ++ci)
    for (int64_t iy = 0; iy < p.h_in; ++iy)
      for (int64_t ix = 0; ix < p.w_in; ++ix) {
        const double xv = x[((n * p.c_in + ci) * p.h_in + iy) * p.w_in + ix];
        for (int64_t ky = 0; ky < p.k_h; ++ky) {
          const int64_t oy = iy * p.stride_h - p.pad_h + ky * p.dil_h;
          if (oy < 0 || oy >= ho) continue;
          for (int64_t kx = 0; kx < p.k_w; ++kx) {
            const int64_t ox = ix * p.stride_w - p.pad_w + kx * p.dil_w;
            if (ox < 0 || ox >= wo) continue;
            plane[oy * wo + ox] += xv * w[((ci * cog + j) * p.k_h + ky) * p.k_w + kx];
          }
        }
      }
  if (p.has_bias && bias)
    for (int64_t i = 0; i < ho * wo; ++i) plane[i] += bias[co];
}

}  // namespace

int reference_threads(const Problem& p) {
  // Below ~10 MFLOP a thread costs more than it saves (the tests run hundreds of tiny problems).
  if (p.flops() < 1e7) return 1;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return int(std::min<int64_t>(int64_t(hw), p.n * p.c_out));
}

void direct(const Problem& p, const double* x, const double* w, const double* bias, double* y) {
  const int64_t planes = p.n * p.c_out;
  const int threads = reference_threads(p);
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t i = next++; i < planes; i = next++)
      direct_plane(p, x, w, bias, y, i / p.c_out, i % p.c_out);
  };
  if (threads <= 1) {
    worker();
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace tconv::ref
