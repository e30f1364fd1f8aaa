#include "bench/bench_session.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/memory.hpp"

namespace tconv {
namespace {

std::string indent(const std::string& lines) {
  std::string out;
  std::istringstream in(lines);
  std::string line;
  while (std::getline(in, line)) out += "  " + line + "\n";
  return out;
}

// A ceiling, or "not measured".
std::string fmt(double v, const char* unit) {
  if (v != v) return "not measured";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", v, unit);
  return buf;
}

}  // namespace

int print_env() {
  std::cout << "libraries loaded by this binary:\n" << indent(describe_libraries());
  GpuProbe probe = probe_gpu();
  if (probe.state == GpuState::available) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
      std::cout << "gpu: " << prop.name << ", sm_" << prop.major << prop.minor << ", "
                << prop.multiProcessorCount << " SMs, " << format_bytes(double(prop.totalGlobalMem))
                << "\n";
    else
      std::cout << "gpu: available\n";
    return 0;
  }
  std::cout << (probe.state == GpuState::absent ? "gpu: none: " : "gpu: broken: ") << probe.why
            << "\n";
  return probe.state == GpuState::absent ? kExitNoGpu : kExitBroken;
}

int start_session(Bench& b, const std::string& resumed_text, const std::string& shard_note) {
  RunInfo info;
  std::set<std::string> done;
  std::string why;
  try {
    if (!gpu_available(&why)) {
      std::cerr << "tconv_bench: " << why << std::endl;
      return kExitNoGpu;
    }
  } catch (const FatalError& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return kExitBroken;
  }
  std::cerr << "tconv_bench: libraries loaded:\n" << indent(describe_libraries());
  try {
    b.ctx = std::make_unique<Context>();
    if (b.opt.budget_gib > 0) b.ctx->set_memory_budget(size_t(b.opt.budget_gib * 1073741824.0));
    info = query_run_info(*b.ctx);
    char bus_id[32] = {};
    if (cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, b.ctx->device()) == cudaSuccess)
      b.power = open_nvml_sampler(bus_id);
    else
      b.power = unavailable_sampler("cudaDeviceGetPCIBusId failed: no PCI bus id to find in NVML");
    info.nvml = b.power->description();
    if (!b.power->unavailable_reason().empty())
      std::cerr << "tconv_bench: clock and power columns will be empty: "
                << b.power->unavailable_reason() << std::endl;
    if (!b.opt.no_ceilings) {
      std::cerr << "tconv_bench: measuring ceilings..." << std::endl;
      measure_ceilings(*b.ctx, info);
      std::cerr << "tconv_bench: ceilings on " << info.gpu << ": copy "
                << fmt(info.ceiling_copy_gbps, "GB/s") << ", sgemm "
                << fmt(info.ceiling_sgemm_tflops, "TFLOP/s") << ", tf32 "
                << fmt(info.ceiling_tf32_tflops, "TFLOP/s") << ", hgemm "
                << fmt(info.ceiling_hgemm_tflops, "TFLOP/s") << std::endl;
    }
    if (!b.opt.hot) b.flusher = std::make_unique<L2Flusher>(*b.ctx);
  } catch (const FatalError& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return kExitBroken;
  } catch (const Error& e) {
    std::cerr << "tconv_bench: " << e.what() << std::endl;
    return 1;
  }
  b.refs = std::make_unique<ReferenceCache>(b.opt.seed);
  b.csv = std::make_unique<CsvWriter>(b.opt.csv, info);
  if (!resumed_text.empty()) {
    try {
      done = b.csv->resume_from(resumed_text, b.opt.csv);
    } catch (const Error& e) {
      std::cerr << "tconv_bench: " << e.what() << std::endl;
      return 1;
    }
    std::vector<RowSpec> left;
    for (const RowSpec& r : b.rows)
      if (!done.count(row_key(r.shape.suite, r.shape.name, to_string(r.cfg.dtype),
                              to_string(r.cfg.layout), r.impl)))
        left.push_back(r);
    std::cerr << "tconv_bench: --resume: " << (b.rows.size() - left.size()) << " rows already in "
              << b.opt.csv << ", " << left.size() << " to run" << std::endl;
    b.rows = std::move(left);
  }

  benchmark::AddCustomContext("gpu", info.gpu);
  benchmark::AddCustomContext("sm_count", std::to_string(info.sm_count));
  benchmark::AddCustomContext("sm_clock_mhz", std::to_string(info.sm_clock_mhz));
  benchmark::AddCustomContext("mem_clock_mhz", std::to_string(info.mem_clock_mhz));
  benchmark::AddCustomContext("driver", info.driver);
  benchmark::AddCustomContext("cuda_runtime", info.cuda);
  benchmark::AddCustomContext("cublas", info.cublas);
  benchmark::AddCustomContext("cusparse", info.cusparse);
  benchmark::AddCustomContext("cudnn", info.cudnn);
  benchmark::AddCustomContext("commit", info.commit);
  benchmark::AddCustomContext("nvml", info.nvml);
  benchmark::AddCustomContext("cache", b.opt.hot ? "hot" : "cold");
  benchmark::AddCustomContext("ceiling_copy_gbps", csv_number(info.ceiling_copy_gbps));
  benchmark::AddCustomContext("ceiling_sgemm_tflops", csv_number(info.ceiling_sgemm_tflops));
  benchmark::AddCustomContext("ceiling_tf32_tflops", csv_number(info.ceiling_tf32_tflops));
  benchmark::AddCustomContext("ceiling_hgemm_tflops", csv_number(info.ceiling_hgemm_tflops));
  if (!shard_note.empty()) std::cerr << "tconv_bench: " << shard_note << std::endl;
  std::cerr << "tconv_bench: " << b.rows.size() << " rows, CSV -> " << b.opt.csv << std::endl;
  return 0;
}

}  // namespace tconv
