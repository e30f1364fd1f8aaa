// Runs one of our implementations' production launch code on the CPU runtime with operands in
// its device memory: what cpu_profile and the efficiency tests profile.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "bench/convert.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/gather_kernel.cuh"
#include "kernels/direct/scatter_kernel.cuh"
#include "kernels/gemm_col2im/gemm_col2im_kernel.cuh"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"
#include "kernels/zero_insert/zero_insert_direct_kernel.cuh"
#include "cpu_cuda/device_memory.hpp"
#include "cpu_cuda/profile/machine_model.hpp"

namespace tconv::profile {

// Operands in device memory of the CPU runtime, named as the reports print them.
struct Operands {
  ::cpu_cuda::DeviceVec<unsigned char> x, w, b, y;
  Tensors t;
};

inline Operands make_operands(const Problem& p, DType dt) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  auto fill = [&](int64_t n, const char* name) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& e : v) e = u(rng);
    return ::cpu_cuda::to_device(convert::to_storage(dt, v.data(), v.size()), name);
  };
  Operands o;
  o.x = fill(p.x_elems(), "x");
  o.w = fill(p.w_elems(), "w");
  o.b = fill(std::max<int64_t>(1, p.c_out), "bias");
  o.y = ::cpu_cuda::device_vec<unsigned char>(size_t(p.y_elems()) * storage_bytes(dt), 0, "y");
  o.t.x = o.x.data();
  o.t.w = o.w.data();
  o.t.bias = p.has_bias ? o.b.data() : nullptr;
  o.t.y = o.y.data();
  return o;
}

// Runs the implementation's launch code; returns a line about what is not profiled, if anything.
inline std::string run_impl(const std::string& impl, DType dtype, Layout layout, const Problem& p,
                            Operands& o) {
  struct {
    std::string impl;
    DType dtype;
    Layout layout;
  } a{impl, dtype, layout};
  const Config cfg{a.dtype, a.layout};
  const bool nhwc = a.layout == Layout::nhwc;
  if (a.impl == "phase_gemm") {
    const pg::Plan plan = pg::plan_problem(p, cfg, profile::h200().sms);
    ::cpu_cuda::DeviceVec<float> partial;  // split-K's workspace
    partial.resize(size_t(pg::splitk_workspace_floats(plan, p)));
    if (!partial.empty()) ::cpu_cuda::name_allocation(partial.data(), "partial");
    phase_gemm_launch(nullptr, plan, p, cfg, o.t, partial.empty() ? nullptr : partial.data());
    return "plan: " + pg::describe(plan, cfg, plan.vec_a && aligned16(o.t.x),
                                   plan.vec_a && plan.vec_b && aligned16(o.t.x) && aligned16(o.t.w),
                                   pg::lower_problem(p, cfg.layout).lowered);
  }
  if (a.impl == "gather") {
    switch (a.dtype) {
      case DType::fp32: gather_launch<float>(nullptr, p, nhwc, o.t); break;
      case DType::fp16: gather_launch<__half>(nullptr, p, nhwc, o.t); break;
      case DType::bf16: gather_launch<__nv_bfloat16>(nullptr, p, nhwc, o.t); break;
      default: throw Error("gather: dtype " + std::string(to_string(a.dtype)) + " not implemented");
    }
    return "";
  }
  if (a.impl == "scatter") {
    if (a.dtype != DType::fp32) throw Error("scatter: fp32 only");
    scatter_launch(nullptr, p, nhwc, static_cast<const float*>(o.t.x),
                   static_cast<const float*>(o.t.w), static_cast<const float*>(o.t.bias),
                   static_cast<float*>(o.t.y));
    return "";
  }
  if (a.impl == "zero_insert_direct") {
    if (nhwc) throw Error("zero_insert_direct: nchw only");
    const kmath::ZiGeom g = kmath::zi_geom(p);
    const size_t per_item = size_t(kmath::zi_item_elems(g)) * storage_bytes(a.dtype);
    // The GPU's budget holds the whole batch for the built-in shapes; this host may not.
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(p.n, int64_t((size_t(4) << 30) / per_item)));
    ::cpu_cuda::DeviceVec<unsigned char> z(size_t(chunk) * per_item);
    ::cpu_cuda::name_allocation(z.data(), "z");
    switch (a.dtype) {
      case DType::fp32: zi_run<float>(nullptr, p, o.t, reinterpret_cast<float*>(z.data()), chunk); break;
      case DType::fp16: zi_run<__half>(nullptr, p, o.t, reinterpret_cast<__half*>(z.data()), chunk); break;
      case DType::bf16:
        zi_run<__nv_bfloat16>(nullptr, p, o.t, reinterpret_cast<__nv_bfloat16*>(z.data()), chunk);
        break;
      default: throw Error("zero_insert_direct: dtype not implemented");
    }
    return chunk < p.n ? "z holds " + std::to_string(chunk) + " of " + std::to_string(p.n) +
                             " batch items per chunk (host memory)"
                       : "";
  }
  if (a.impl == "gemm_col2im") {
    if (nhwc) throw Error("gemm_col2im: nchw only");
    const int64_t chunk = kmath::col2im_chunk_items(p, sizeof(float), double(1 << 30), 4e9);
    if (chunk == 0) throw Error("gemm_col2im: column buffer over the budget");
    ::cpu_cuda::DeviceVec<float> col(size_t(chunk * kmath::col_item_elems(p)), 0.0f);
    ::cpu_cuda::name_allocation(col.data(), "col");
    const kmath::Col2imGemm full = kmath::col2im_gemm_plan(p, int(chunk));
    const int64_t tail = p.n % chunk;
    const kmath::Col2imGemm tl = kmath::col2im_gemm_plan(p, int(tail == 0 ? chunk : tail));
    gemm_col2im_run(nullptr, [](const GemmArgs&) {}, p, a.dtype, o.t, col.data(), chunk, full, tl);
    return "the cuBLAS GEMMs are not profiled (a library's kernels); col2im is";
  }
  throw Error("cpu_profile: --impl " + a.impl +
              " is not one of phase_gemm, gather, scatter, zero_insert_direct, gemm_col2im");
}

}  // namespace tconv::profile
