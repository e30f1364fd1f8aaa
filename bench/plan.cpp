#include "bench/plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "bench/csv.hpp"
#include "bench/operands.hpp"
#include "bench/shard.hpp"
#include "core/memory.hpp"

namespace tconv {

std::string row_name(const RowSpec& r) {
  return r.shape.suite + "/" + r.shape.name + "/" + r.impl + "/" + to_string(r.cfg.dtype) + "/" +
         to_string(r.cfg.layout);
}

namespace {

std::vector<Shape> plan_shapes(const Options& opt) {
  std::vector<Shape> shapes;
  const bool user_shapes = !opt.shape_specs.empty() || !opt.shape_files.empty();
  if (!opt.suites.empty() || !user_shapes)
    shapes = select_suites(opt.suites.empty() ? std::vector<std::string>{"all"} : opt.suites);
  int index = 1;
  std::set<std::string> user_names;
  std::vector<Shape> user;
  for (const auto& spec : opt.shape_specs)
    user.push_back(parse_shape_spec(spec, std::to_string(index++)));
  for (const auto& file : opt.shape_files) {
    auto more = read_shapes_file(file, index);
    index += int(more.size());
    user.insert(user.end(), more.begin(), more.end());
  }
  for (const auto& s : user)
    if (!user_names.insert(s.name).second)
      throw Error("duplicate user shape name '" + s.name + "'");
  shapes.insert(shapes.end(), user.begin(), user.end());
  return shapes;
}

std::vector<std::string> plan_impls(const Options& opt) {
  std::vector<std::string> impls;
  if (opt.impls.empty()) {
    for (const auto& i : create_all_implementations())
      if (i->backend() == Backend::gpu) impls.push_back(i->name());
    return impls;
  }
  for (const auto& name : opt.impls) {
    const auto impl = create_implementation(name);  // throws listing the known names
    if (impl->backend() != Backend::gpu)
      throw Error("--impl " + name + ": a CPU reference, not benchmarked");
    impls.push_back(name);
  }
  return impls;
}

}  // namespace

std::vector<RowSpec> plan_rows(const Options& opt) {
  const std::vector<Shape> shapes = plan_shapes(opt);
  const std::vector<std::string> impls = plan_impls(opt);
  std::vector<RowSpec> rows;
  for (const Shape& s : shapes)
    for (DType t : opt.dtypes)
      for (Layout l : opt.layouts)
        for (const auto& name : impls) rows.push_back({s, Config{t, l}, name});
  return rows;
}

std::string apply_shard(const Options& opt, std::vector<RowSpec>& rows) {
  if (!opt.sharded) return "";
  std::map<std::string, std::unique_ptr<Implementation>> by_name;
  std::vector<double> work;
  work.reserve(rows.size());
  for (const RowSpec& r : rows) {
    auto& impl = by_name[r.impl];
    if (!impl) impl = create_implementation(r.impl);
    const bool runnable = impl->can_implement(r.shape.problem, r.cfg).ok;
    work.push_back(estimated_row_work(r.shape.problem, r.cfg.dtype, runnable));
  }
  const std::vector<int64_t> assigned = assign_shards(work, opt.shard.count);
  std::vector<RowSpec> mine;
  double total = 0, share = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    total += work[i];
    if (assigned[i] != opt.shard.index) continue;
    share += work[i];
    mine.push_back(rows[i]);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "shard %lld/%lld: %zu of %zu rows; estimated work %.6g of %.6g (%.4g%%)",
                (long long)opt.shard.index, (long long)opt.shard.count, mine.size(), rows.size(),
                share, total, total > 0 ? 100.0 * share / total : 0.0);
  rows = std::move(mine);
  return buf;
}

void print_suites(bool csv) {
  if (csv)
    std::printf(
        "suite,shape,n,c_in,h_in,w_in,c_out,k_h,k_w,stride_h,stride_w,pad_h,pad_w,"
        "out_pad_h,out_pad_w,dil_h,dil_w,groups,bias\n");
  for (const Suite& s : builtin_suites()) {
    if (!csv) std::printf("%s: %s\n", s.name.c_str(), s.description.c_str());
    for (const Shape& sh : s.shapes) {
      const Problem& p = sh.problem;
      if (!csv) {
        std::printf("  %-26s %s  -> %lldx%lld, %.3g GFLOP\n", sh.name.c_str(),
                    format_shape_spec(p).c_str(), (long long)p.h_out(), (long long)p.w_out(),
                    p.flops() * 1e-9);
        continue;
      }
      std::printf(
          "%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,"
          "%d\n",
          s.name.c_str(), sh.name.c_str(), (long long)p.n, (long long)p.c_in, (long long)p.h_in,
          (long long)p.w_in, (long long)p.c_out, (long long)p.k_h, (long long)p.k_w,
          (long long)p.stride_h, (long long)p.stride_w, (long long)p.pad_h, (long long)p.pad_w,
          (long long)p.out_pad_h, (long long)p.out_pad_w, (long long)p.dil_h, (long long)p.dil_w,
          (long long)p.groups, p.has_bias ? 1 : 0);
    }
  }
}

int print_dry_run(const std::vector<RowSpec>& rows, bool csv, const std::string& shard_note) {
  std::map<std::string, std::unique_ptr<Implementation>> impls;
  size_t runnable = 0;
  double gflop = 0, bytes = 0;
  int64_t peak_mem = 0;
  if (csv)
    std::printf(
        "suite,shape,dtype,layout,impl,can_implement,reason,gflop,min_bytes,operand_bytes,"
        "extra_bytes\n");
  else
    std::printf("%-10s %-24s %-5s %-5s %-24s %-4s %10s %12s %12s %12s  %s\n", "suite", "shape",
                "dtype", "lay", "impl", "ok", "GFLOP", "min_bytes", "operands", "extra", "reason");
  for (const RowSpec& r : rows) {
    auto& impl = impls[r.impl];
    if (!impl) impl = create_implementation(r.impl);
    const Problem& p = r.shape.problem;
    const Support sup = impl->can_implement(p, r.cfg);
    const double g = p.flops() * 1e-9;
    const double mb = p.min_bytes(double(storage_bytes(r.cfg.dtype)));
    const int64_t ops = int64_t(DeviceOperands::bytes_needed(p, r.cfg));
    const int64_t extra = sup.ok ? impl->planned_workspace_bytes(p, r.cfg) : -1;
    if (sup.ok) {
      ++runnable;
      gflop += g;
      bytes += mb;
      peak_mem = std::max(peak_mem, ops + std::max<int64_t>(extra, 0));
    }
    const std::string extra_s = extra >= 0 ? std::to_string(extra) : "";
    if (csv) {
      std::printf("%s",
                  csv_line({r.shape.suite, r.shape.name, to_string(r.cfg.dtype),
                            to_string(r.cfg.layout), r.impl, sup.ok ? "yes" : "no", sup.reason,
                            csv_number(g, 6), csv_number(mb, 12), std::to_string(ops), extra_s})
                      .c_str());
    } else {
      std::printf("%-10s %-24s %-5s %-5s %-24s %-4s %10.4g %12.4g %12s %12s  %s\n",
                  r.shape.suite.c_str(), r.shape.name.c_str(), to_string(r.cfg.dtype),
                  to_string(r.cfg.layout), r.impl.c_str(), sup.ok ? "yes" : "no", g, mb,
                  format_bytes(double(ops)).c_str(),
                  extra >= 0 ? format_bytes(double(extra)).c_str() : "?", sup.reason.c_str());
    }
  }
  if (!shard_note.empty()) std::fprintf(csv ? stderr : stdout, "%s\n", shard_note.c_str());
  std::fprintf(csv ? stderr : stdout,
               "total: %zu rows, %zu runnable (%zu not supported); %.4g useful GFLOP and %s "
               "minimum traffic per repetition of the runnable rows; largest known device "
               "memory of one row %s\n",
               rows.size(), runnable, rows.size() - runnable, gflop, format_bytes(bytes).c_str(),
               format_bytes(double(peak_mem)).c_str());
  return 0;
}

}  // namespace tconv
