// cpu_profile: what a GPU profiler would say about one of our kernels on one row, measured on the
// CPU runtime (tests/cpu_cuda/profiler.hpp) and turned into a CPU-model estimate with
// tests/profile/machine_model.hpp. A test-only program: it runs our real kernels through their
// production launch code, on a sample of each grid's blocks.
//
//   cpu_profile --impl phase_gemm --shape SPEC | --suite S [--row NAME] [--dtype fp16]
//               [--layout nhwc] [--blocks N] [--no-l2]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/convert.hpp"
#include "bench/shapes.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/direct/gather_kernel.cuh"
#include "kernels/direct/scatter_kernel.cuh"
#include "kernels/gemm_col2im/gemm_col2im_kernel.cuh"
#include "kernels/phase_gemm/phase_gemm_kernel.cuh"
#include "kernels/zero_insert/zero_insert_direct_kernel.cuh"
#include "tests/cpu_cuda/device_memory.hpp"
#include "tests/cpu_cuda/profiler.hpp"
#include "tests/profile/profile_report.hpp"

namespace {

using namespace tconv;
namespace prof = ::cpu_cuda::prof;

struct Args {
  std::string impl, shape, suite, row;
  DType dtype = DType::fp32;
  Layout layout = Layout::nchw;
  int blocks = 16;
  bool l2 = true;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "cpu_profile: %s\n", what.c_str());
  std::fprintf(stderr,
               "usage: cpu_profile --impl phase_gemm|gather|scatter|zero_insert_direct|gemm_col2im "
               "(--shape SPEC | --suite S [--row NAME]) [--dtype D] [--layout L] [--blocks N] "
               "[--no-l2]\n");
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--impl") a.impl = value();
    else if (k == "--shape") a.shape = value();
    else if (k == "--suite") a.suite = value();
    else if (k == "--row") a.row = value();
    else if (k == "--dtype") a.dtype = parse_dtype(value());
    else if (k == "--layout") a.layout = parse_layout(value());
    else if (k == "--blocks") {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < 1 || n > 100000) usage_error("--blocks wants an integer 1..100000");
      a.blocks = int(n);
    } else if (k == "--no-l2") a.l2 = false;
    else usage_error("unknown argument '" + k + "'");
  }
  if (a.impl.empty()) usage_error("--impl is required");
  if (a.shape.empty() == a.suite.empty()) usage_error("give one of --shape and --suite");
  return a;
}

// Operands in device memory of the CPU runtime, named as the reports print them.
struct Operands {
  ::cpu_cuda::DeviceVec<unsigned char> x, w, b, y;
  Tensors t;
};

Operands make_operands(const Problem& p, DType dt) {
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
std::string run_impl(const Args& a, const Problem& p, Operands& o) {
  const Config cfg{a.dtype, a.layout};
  const bool nhwc = a.layout == Layout::nhwc;
  if (a.impl == "phase_gemm") {
    const pg::Plan plan = pg::plan_problem(p, cfg, profile::h200().sms);
    phase_gemm_launch(nullptr, plan, p, cfg, o.t);
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

int profile_row(const Args& a, const Shape& s) {
  const Problem& p = s.problem;
  const profile::MachineModel m = profile::h200();
  std::printf("== %s/%s %s %s %s: %s\n", s.suite.c_str(), s.name.c_str(), a.impl.c_str(),
              to_string(a.dtype), to_string(a.layout), p.to_string().c_str());
  std::printf("   useful %.3f GFLOP, minimum bytes %.1f MB\n", p.flops() / 1e9,
              double(p.min_bytes(storage_bytes(a.dtype))) / 1e6);
  Operands o = make_operands(p, a.dtype);
  prof::configure(profile::settings_for(m, a.blocks, a.l2));
  prof::clear();
  const std::string note = run_impl(a, p, o);
  if (!note.empty()) std::printf("   %s\n", note.c_str());
  double total = 0;
  for (const prof::LaunchProfile& l : prof::launches()) {
    const bool mma = l.mma > 0;
    // FFMA lower bound for the CUDA-core kernels: the useful FMAs, split over the launches of
    // the row in proportion to their blocks would be arbitrary; given to the main kernel only.
    const double ffma = !mma && l.sites.size() > 0 && a.dtype != DType::tf32 ? p.flops() / 2 : 0;
    const bool main_kernel = &l == &prof::launches().back();
    std::printf("%s", profile::format_launch(l, m, main_kernel ? ffma : 0).c_str());
    total += profile::estimate(l, m, main_kernel ? ffma : 0).seconds;
  }
  std::printf("   row: %zu launch(es), predicted %.3f ms in all (CPU-model estimate, %s)\n",
              prof::launches().size(), total * 1e3, m.name.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (!prof::instrumented()) {
      std::fprintf(stderr, "cpu_profile: this binary is not instrumented\n");
      return 1;
    }
    std::vector<Shape> shapes;
    if (!a.shape.empty()) {
      shapes.push_back(parse_shape_spec(a.shape, "shape"));
    } else {
      for (const Shape& s : select_suites({a.suite}))
        if (a.row.empty() || s.name == a.row) shapes.push_back(s);
      if (shapes.empty()) throw Error("no row named '" + a.row + "' in suite " + a.suite);
    }
    for (const Shape& s : shapes) profile_row(a, s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpu_profile: %s\n", e.what());
    return 1;
  }
}
