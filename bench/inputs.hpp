// Seeded random operands, uniform in [-1, 1), rounded to the storage dtype so that the fp64
// reference sees exactly the values the device holds. splitmix64 rather than <random>
// distributions, whose output differs between standard libraries: the same seed gives the same
// data everywhere. Pure C++.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/convert.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv {

struct HostInputs {
  std::vector<double> x, w, bias;  // NCHW (PyTorch layouts); bias empty without bias
};

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// n values uniform in [-1, 1), from the stream (seed, tensor).
inline std::vector<double> random_uniform(size_t n, uint64_t seed, uint64_t tensor) {
  uint64_t state = seed * 0x2545F4914F6CDD1Dull + tensor * 0x9E3779B97F4A7C15ull + 1;
  std::vector<double> v(n);
  for (double& e : v) e = double(splitmix64(state) >> 11) * 0x1.0p-52 - 1.0;
  return v;
}

// Inputs of one problem, rounded to `storage` (fp32 and tf32 give the same values).
inline HostInputs random_inputs(const Problem& p, uint64_t seed, DType storage) {
  HostInputs in;
  in.x = random_uniform(size_t(p.x_elems()), seed, 1);
  in.w = random_uniform(size_t(p.w_elems()), seed, 2);
  if (p.has_bias) in.bias = random_uniform(size_t(p.c_out), seed, 3);
  convert::round_all(storage, in.x);
  convert::round_all(storage, in.w);
  convert::round_all(storage, in.bias);
  return in;
}

}  // namespace tconv
