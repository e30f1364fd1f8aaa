// cpu_profile: what a GPU profiler would say about one of our kernels on one row, measured on the
// CPU runtime (cpu_cuda/profiler.hpp) and turned into a CPU-model estimate with
// cpu_cuda/profile/machine_model.hpp. A test-only program: it runs our real kernels through their
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

#include "bench/shapes.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/implementation.hpp"
#include "cpu_cuda/profiler.hpp"
#include "cpu_cuda/profile/profile_report.hpp"
#include "cpu_cuda/profile/profile_run.hpp"

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

int profile_row(const Args& a, const Shape& s) {
  const Problem& p = s.problem;
  const profile::MachineModel m = profile::h200();
  std::printf("== %s/%s %s %s %s: %s\n", s.suite.c_str(), s.name.c_str(), a.impl.c_str(),
              to_string(a.dtype), to_string(a.layout), p.to_string().c_str());
  std::printf("   useful %.3f GFLOP, minimum bytes %.1f MB\n", p.flops() / 1e9,
              double(p.min_bytes(storage_bytes(a.dtype))) / 1e6);
  profile::Operands o = profile::make_operands(p, a.dtype);
  prof::configure(profile::settings_for(m, a.blocks, a.l2));
  prof::clear();
  const std::string note = profile::run_impl(a.impl, a.dtype, a.layout, p, o);
  if (!note.empty()) std::printf("   %s\n", note.c_str());
  double total_lo = 0, total_hi = 0;
  // FFMA lower bound for a CUDA-core kernel: the row's useful FMAs, given to its main launch
  // only, since any split over the launches would be arbitrary. The main launch is the one that
  // makes the most memory requests (the arithmetic's operands): not a bias fill before it, nor a
  // split-K reduction after it, which execute none of the row's FMAs. gemm_col2im's FMAs are in
  // its cuBLAS GEMMs, which are not profiled.
  const prof::LaunchProfile* main_launch = nullptr;
  double most = -1;
  for (const prof::LaunchProfile& l : prof::launches()) {
    double requests = 0;
    for (const prof::SiteCounters& c : l.sites) requests += c.requests;
    if (requests > most) most = requests, main_launch = &l;
  }
  for (const prof::LaunchProfile& l : prof::launches()) {
    const bool main_kernel = &l == main_launch;
    const double ffma =
        main_kernel && l.mma == 0 && a.impl != "gemm_col2im" ? p.flops() / 2 : 0;
    std::printf("%s", profile::format_launch(l, m, ffma).c_str());
    const profile::Estimate e = profile::estimate(l, m, ffma);
    total_lo += e.lo;
    total_hi += e.hi;
  }
  std::printf("   row: %zu launch(es), predicted %.3f-%.3f ms in all (CPU-model estimate, %s)\n",
              prof::launches().size(), total_lo * 1e3, total_hi * 1e3, m.name.c_str());
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
