// The one rule by which the harness times an implementation's candidate plans
// (bench/lifecycle.hpp: cuDNN frontend plans, CUTLASS tile configurations, the Hopper rows' stream
// schedules): kAutotuneRuns timed runs of a candidate that already ran once untimed (warm-up and
// launch check), the median kept, the lowest median wins. The timed results of a row are the
// harness's timing loop's, not these.
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/common/gpu_timer.hpp"

namespace tconv {

constexpr int kAutotuneRuns = 5;

// The middle value (the upper one of the two middle values for an even count); NaN when empty.
inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// The median time of kAutotuneRuns runs of enqueue() on the timer's stream.
template <typename Enqueue>
double autotune_ms(GpuTimer& timer, Enqueue&& enqueue) {
  std::vector<double> ms;
  for (int r = 0; r < kAutotuneRuns; ++r) ms.push_back(timer.time_ms(enqueue));
  return median_of(std::move(ms));
}

}  // namespace tconv
