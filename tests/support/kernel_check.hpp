// Operands and verdicts for the tests that run our kernels on the CPU runtime: random inputs
// rounded to the storage dtype (so ref::direct sees exactly what the kernel sees), stored in the
// layout under test with bench/convert.hpp (the bench's own conversion), y poisoned with NaN,
// and the result judged by bench/tolerance.hpp (the bench's own policy).
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "bench/convert.hpp"
#include "bench/tolerance.hpp"
#include "core/problem.hpp"
#include "kernels/common/implementation.hpp"
#include "reference/reference.hpp"
#include "cpu_cuda/cpu_cuda.hpp"
#include "tests/test_util.hpp"

namespace tconv::testing {

// Small random problems for the CPU runtime: every 8th has a 1x1 input, every 5th is depthwise,
// the rest as random_problem draws them (stride, dilation, groups, output_padding, bias, odd sizes).
inline Problem cpu_run_problem(std::mt19937_64& rng, int i, int max_spatial = 6) {
  for (;;) {
    Problem p = random_problem(rng, max_spatial);
    if (i % 8 == 3) p.h_in = p.w_in = 1;
    if (i % 5 == 1) {
      p.c_out = p.c_in = p.groups;
    }
    if (p.validate().empty()) return p;
  }
}

inline size_t elem_count_bytes(DType t, int64_t n) { return size_t(n) * storage_bytes(t); }

// One problem's operands on the host, in the storage dtype and layout.
struct HostRun {
  Problem p;
  DType dtype = DType::fp32;
  bool nhwc = false;
  std::vector<double> x, w, b, ref;              // NCHW fp64, rounded to dtype
  // storage bytes in the layout, in the runtime's device memory (exact sizes for memcheck)
  ::cpu_cuda::DeviceVec<unsigned char> xs, ws, bs, ys;

  Tensors tensors() {
    Tensors t;
    t.x = xs.data();
    t.w = ws.data();
    t.bias = p.has_bias ? bs.data() : nullptr;
    t.y = ys.data();
    return t;
  }
  template <typename T>
  const T* xp() const { return reinterpret_cast<const T*>(xs.data()); }
  template <typename T>
  const T* wp() const { return reinterpret_cast<const T*>(ws.data()); }
  template <typename T>
  const T* bp() const { return p.has_bias ? reinterpret_cast<const T*>(bs.data()) : nullptr; }
  template <typename T>
  T* yp() { return reinterpret_cast<T*>(ys.data()); }
};

// stored is the dtype of the bytes (tf32 is stored as fp32).
inline HostRun make_run(const Problem& p, DType dtype, bool nhwc, std::mt19937_64& rng) {
  HostRun r;
  r.p = p;
  r.dtype = dtype;
  r.nhwc = nhwc;
  r.x = random_data(rng, p.x_elems());
  r.w = random_data(rng, p.w_elems());
  r.b = random_data(rng, p.c_out);
  convert::round_all(dtype, r.x);
  convert::round_all(dtype, r.w);
  convert::round_all(dtype, r.b);
  r.ref.assign(size_t(p.y_elems()), 0.0);
  ref::direct(p, r.x.data(), r.w.data(), p.has_bias ? r.b.data() : nullptr, r.ref.data());
  std::vector<double> xl = r.x, wl = r.w;
  if (nhwc) {
    xl = convert::nchw_to_nhwc(r.x.data(), p.n, p.c_in, p.h_in, p.w_in);
    wl = convert::nchw_to_nhwc(r.w.data(), p.c_in, p.c_out_per_group(), p.k_h, p.k_w);
  }
  r.xs = ::cpu_cuda::to_device(convert::to_storage(dtype, xl.data(), xl.size()), "x");
  r.ws = ::cpu_cuda::to_device(convert::to_storage(dtype, wl.data(), wl.size()), "w");
  r.bs = ::cpu_cuda::to_device(convert::to_storage(dtype, r.b.data(), r.b.size()), "bias");
  std::vector<double> nan(size_t(p.y_elems()), std::numeric_limits<double>::quiet_NaN());
  r.ys = ::cpu_cuda::to_device(convert::to_storage(dtype, nan.data(), nan.size()), "y");
  return r;
}

// Empty when y matches ref::direct within the bench's tolerance for the dtype, else why not.
inline std::string judge(const HostRun& r) {
  const Problem& p = r.p;
  std::vector<double> y = convert::from_storage(r.dtype, r.ys.data(), size_t(p.y_elems()));
  if (r.nhwc) y = convert::nhwc_to_nchw(y.data(), p.n, p.c_out, p.h_out(), p.w_out());
  const ErrorMetrics m = compare(y.data(), r.ref.data(), y.size());
  return check_tolerance(m, tolerance(r.dtype, reduction_length(p)));
}

inline std::string describe(const HostRun& r) {
  return r.p.to_string() + " " + to_string(r.dtype) + (r.nhwc ? " nhwc" : " nchw");
}

// Problems per kernel and dtype/layout: at least 100 across a kernel's dtypes and layouts.
constexpr int kCpuRunProblems = 100;

}  // namespace tconv::testing
