// Summary statistics of the timed repetitions. Pure C++.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace tconv {

struct Stats {
  double median = 0, min = 0, stddev = 0;  // stddev: sample (n-1), 0 for one value
  int count = 0;
};

inline Stats compute_stats(std::vector<double> v) {
  Stats s;
  s.count = int(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  if (n > 1) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= double(n);
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    s.stddev = std::sqrt(ss / double(n - 1));
  }
  return s;
}

}  // namespace tconv
