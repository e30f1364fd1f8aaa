#include "cpu_cuda/profile/profile_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "cpu_cuda/profile/kernel_resources.hpp"

namespace tconv::profile {

namespace {

void add(SiteCounters& a, const SiteCounters& b) {
  a.requests += b.requests;
  a.lane_accesses += b.lane_accesses;
  a.bytes += b.bytes;
  a.sectors += b.sectors;
  a.ideal_sectors += b.ideal_sectors;
  a.block_sectors += b.block_sectors;
  a.l2_sectors += b.l2_sectors;
  a.read_only = a.read_only || b.read_only;
  a.wavefronts += b.wavefronts;
  a.ideal_wavefronts += b.ideal_wavefronts;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string si(double v) {
  const char* units[] = {"", "k", "M", "G", "T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return fmt(u == 0 ? "%.0f" : "%.2f", v) + units[u];
}

// A low-high range of seconds in one unit.
std::string range(double lo, double hi) {
  const bool ms = hi >= 1e-3;
  const double f = ms ? 1e3 : 1e6;
  return fmt(ms ? "%.3f" : "%.2f", lo * f) + fmt(ms ? "-%.3f ms" : "-%.2f us", hi * f);
}

const char* kind_name(Kind k) { return k == Kind::load ? "load" : k == Kind::store ? "store" : "atomic"; }

}  // namespace

std::vector<SiteCounters> by_line(const LaunchProfile& l) {
  std::map<std::tuple<std::string, int, int>, SiteCounters> m;
  for (const SiteCounters& s : l.sites) {
    SiteCounters& a = m[{s.where, int(s.space), int(s.kind)}];
    if (a.where.empty()) {
      a.where = s.where;
      a.space = s.space;
      a.kind = s.kind;
      a.pc = s.pc;
    }
    add(a, s);
  }
  std::vector<SiteCounters> out;
  for (auto& kv : m) out.push_back(kv.second);
  return out;
}

SiteCounters total(const LaunchProfile& l, Space space, Kind kind, const std::string& where) {
  SiteCounters t;
  t.space = space;
  t.kind = kind;
  for (const SiteCounters& s : l.sites)
    if (s.space == space && s.kind == kind &&
        (where.empty() || s.where.find(where) != std::string::npos))
      add(t, s);
  return t;
}

SiteCounters total_space(const LaunchProfile& l, Space space) {
  SiteCounters t;
  t.space = space;
  for (const SiteCounters& s : l.sites)
    if (s.space == space) add(t, s);
  return t;
}

::cpu_cuda::prof::Settings settings_for(const MachineModel& m, int sample_blocks, bool l2) {
  ::cpu_cuda::prof::Settings s;
  s.memcheck = true;
  // Racecheck is the CPU-runtime tests' job (tconv_mem_tests runs every kernel with it); its
  // per-byte records would only slow a profile of a full-size row.
  s.racecheck = false;
  s.counters = true;
  s.l2 = l2;
  s.sample_blocks = sample_blocks;
  s.sms = m.sms;
  s.max_threads_per_sm = m.max_threads_per_sm;
  s.max_blocks_per_sm = m.max_blocks_per_sm;
  s.smem_per_sm = int64_t(m.smem_per_sm);
  s.l2_bytes = int64_t(m.l2_bytes);
  s.l1_smem_per_sm = int64_t(m.l1_smem_per_sm);
  s.regs_per_sm = m.regs_per_sm;
  s.registers_per_thread = [](const std::string& symbol) {
    return build_kernel_resources().of_cpu_symbol(symbol);
  };
  return s;
}

double combine(const std::vector<double>& times, double p) {
  double m = 0;
  for (double t : times) m = std::max(m, t);
  if (m <= 0) return 0;
  double sum = 0;
  for (double t : times) sum += std::pow(t / m, p);  // scaled: no overflow for large p
  return m * std::pow(sum, 1.0 / p);
}

std::optional<IssueCounts> issue_of(const LaunchProfile& l, std::string* why) {
  if (l.kernel_symbol.empty()) {
    if (why) *why = "the launch names no kernel symbol";
    return std::nullopt;
  }
  const KernelSass& k = build_kernel_sass();
  const SassFunction* f = k.unavailable.empty() ? k.of_cpu_symbol(l.kernel_symbol) : nullptr;
  if (!f) {
    if (why)
      *why = !k.unavailable.empty() ? k.unavailable
                                    : "kernel not in the " + k.arch + " disassembly of this build";
    return std::nullopt;
  }
  const double threads = double(l.block.x) * l.block.y * l.block.z;
  const double warps = double(l.blocks) * std::ceil(threads / 32);
  return dynamic_issue(*f, l.sites, warps);
}

Estimate estimate(const LaunchProfile& l, const MachineModel& m, double useful_ffma) {
  return estimate(l, m, useful_ffma, issue_of(l));
}

Estimate estimate(const LaunchProfile& l, const MachineModel& m, double useful_ffma,
                  const std::optional<IssueCounts>& issue) {
  Estimate e;
  // SM-local work: the busiest SM runs ceil(blocks / SMs) of the (on average equal) blocks.
  const double blocks = double(std::max<int64_t>(1, l.blocks));
  const double busiest = std::ceil(blocks / m.sms) / blocks;
  const SiteCounters sh = total_space(l, Space::shared);
  const SiteCounters gl = total_space(l, Space::global);
  // A buffer whose extrapolated footprints are unreliable counts at least its own size once.
  double dram = 0;
  bool suspect = false;
  for (const auto& b : l.buffers) {
    double v = b.dram_read + b.dram_write;
    if (b.extrapolation_suspect) {
      v = std::max(v, double(b.size));
      suspect = true;
    }
    dram += v;
  }
  // work / rate: the low time at the high rate and the high time at the low one.
  auto part = [&](const char* resource, double work, Range rate, std::string basis) {
    e.parts.push_back({resource, work / rate.hi, work / rate.lo, std::move(basis)});
  };
  part("shared", sh.wavefronts * busiest, m.smem_wavefronts_per_s(),
       si(sh.wavefronts) + " wavefronts");
  part("mma.sync", l.mma * busiest, m.mma_sync_per_s(), si(l.mma) + " instructions");
  if (issue) {
    // Warp instructions per SM and clock: issue slots, and each pipe's lanes / 32. IMAD runs
    // only on the heavy half of the FMA pipe, FP32 arithmetic on either half.
    const double w = 32 * busiest;
    const double fma = issue->of(Pipe::fma), imad = issue->of(Pipe::fma_heavy);
    part("issue", issue->instructions * busiest, m.clock_hz * m.issue_per_clk,
         si(issue->instructions) + " warp instructions");
    part("alu", issue->of(Pipe::alu) * w, m.clock_hz * m.int_lanes_per_clk,
         si(issue->of(Pipe::alu)) + " warp instructions");
    part("fma", std::max((fma + imad) / m.ffma_lanes_per_clk, imad / m.imad_lanes_per_clk) * w,
         m.clock_hz, si(fma) + " FP32/FP16x2 + " + si(imad) + " IMAD warp instructions");
    part("xu", issue->of(Pipe::xu) * w, m.clock_hz * m.xu_lanes_per_clk,
         si(issue->of(Pipe::xu)) + " warp instructions");
    // Latency (Little's law on the hottest loop): each resident warp waits one loaded latency per
    // iteration, divided by the loads in flight (stages); plus one DRAM latency per wave of blocks
    // on the busiest SM, for the first loads (the pipeline's fill). The latency is L2's and
    // DRAM's weighted by the L2 model's miss ratio of the reads.
    const RegionCounts* hot = nullptr;
    for (size_t r = 1; r < issue->regions.size(); ++r)
      if (issue->regions[r].anchored && (!hot || issue->regions[r].issued() > hot->issued()))
        hot = &issue->regions[r];
    if (hot && l.resident_blocks_per_sm > 0) {
      const double threads = double(l.block.x) * l.block.y * l.block.z;
      const double on_sm = std::ceil(blocks / m.sms);
      const double resident_warps =
          std::min<double>(l.resident_blocks_per_sm, on_sm) * std::ceil(threads / 32);
      const double waves = std::ceil(on_sm / l.resident_blocks_per_sm);
      double l2_read = 0, dram_read = 0;
      for (const auto& b : l.buffers) l2_read += b.l2_read, dram_read += b.dram_read;
      const double miss = l2_read > 0 ? std::min(1.0, dram_read / l2_read) : 0;
      const Range latency = {(1 - miss) * m.l2_latency_clk.lo + miss * m.dram_latency_clk.lo,
                             (1 - miss) * m.l2_latency_clk.hi + miss * m.dram_latency_clk.hi};
      const double per_warp = hot->executions * busiest / resident_warps / hot->stages;
      char at[16];
      std::snprintf(at, sizeof at, "%04x", hot->first);
      const Range clocks = {per_warp * latency.lo + waves * m.dram_latency_clk.lo,
                            per_warp * latency.hi + waves * m.dram_latency_clk.hi};
      e.parts.push_back({"latency", clocks.lo / m.clock_hz.hi, clocks.hi / m.clock_hz.lo,
                         fmt("%.0f", per_warp) + " iterations per resident warp of the loop at " +
                             at + ", " + std::to_string(hot->stages) + " stage(s)" +
                             fmt(", %.0f%% L2 misses", 100 * miss) + fmt(", %.0f wave(s)", waves)});
    }
  } else if (useful_ffma > 0 && l.mma == 0) {
    part("ffma", useful_ffma * busiest, m.ffma_per_s(),
         si(useful_ffma) + " useful FMAs (not counted: a lower bound)");
  }
  // After the L1 rule (profiler.hpp): read-only sectors once per block where L1 holds them.
  const double l1_saved = gl.sectors - gl.l2_sectors;
  part("l2", gl.l2_sectors * 32, m.l2_bytes_per_s(),
       si(gl.l2_sectors * 32) + "B in sectors" +
           (l1_saved > 0 ? " (" + si(l1_saved * 32) + "B of __ldg reads served by L1)" : ""));
  if (!l.buffers.empty() && dram > 0)
    part("dram", dram, m.dram_bytes_per_s,
         si(dram) + "B modelled" +
             (suspect ? " (unreliable buffers counted once at their size)" : ""));
  std::vector<double> lo, hi;
  double max_lo = -1, max_hi = -1;
  for (const auto& p : e.parts) {
    lo.push_back(p.lo);
    hi.push_back(p.hi);
    if (p.lo > max_lo) max_lo = p.lo, e.bound_lo = p.resource;
    if (p.hi > max_hi) max_hi = p.hi, e.bound_hi = p.resource;
  }
  e.lo = combine(lo, m.overlap_p) + m.launch_overhead_s.lo;
  e.hi = combine(hi, m.overlap_p) + m.launch_overhead_s.hi;
  if (e.bound_lo == e.bound_hi) e.bound = e.bound_lo;
  return e;
}

std::string format_launch(const LaunchProfile& l, const MachineModel& m, double useful_ffma) {
  std::ostringstream os;
  os << "kernel " << l.kernel_name << "\n";
  os << "  grid (" << l.grid.x << "," << l.grid.y << "," << l.grid.z << ") block (" << l.block.x
     << "," << l.block.y << "," << l.block.z << "): " << l.blocks << " blocks, " << l.blocks_run
     << " run, counts scaled x" << fmt("%.2f", l.scale) << "; static shared " << l.static_smem
     << " B\n";
  const KernelResources& kr = build_kernel_resources();
  os << "  residency: " << l.resident_blocks_per_sm << " blocks/SM, limited by "
     << l.residency_limit << "; registers: "
     << (l.regs_per_thread > 0 ? std::to_string(l.regs_per_thread) + "/thread (" + kr.arch +
                                     " machine code of this build, cuobjdump)"
         : !kr.unavailable.empty() ? "not counted (" + kr.unavailable + ")"
                                   : "not counted (kernel not in the " + kr.arch + " dump)")
     << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-72s %-6s %-6s %10s %8s %8s %8s %7s\n", "site", "space",
                "kind", "requests", "B/req", "sect/req", "wf/req", "eff");
  os << line;
  for (const SiteCounters& s : by_line(l)) {
    const double r = std::max(1.0, s.requests);
    std::string where = s.where.size() > 72 ? s.where.substr(0, 69) + "..." : s.where;
    const bool shared = s.space == Space::shared;
    std::snprintf(line, sizeof line, "  %-72s %-6s %-6s %10s %8.1f %8s %8s %6.0f%%\n",
                  where.c_str(), shared ? "shared" : "global", kind_name(s.kind),
                  si(s.requests).c_str(), s.bytes / r,
                  shared ? "-" : fmt("%.2f", s.sectors / r).c_str(),
                  shared ? fmt("%.2f", s.wavefronts / r).c_str() : "-",
                  100.0 * (shared ? 1.0 / s.wavefront_ratio() : s.sector_efficiency()));
    os << line;
  }
  os << "  eff: global = ideal sectors / sectors; shared = conflict-free wavefronts / wavefronts\n";
  os << "  mma.sync: " << si(l.mma) << "\n";
  if (l.l1_read_only_per_sm > 0) {
    std::string held;
    for (const std::string& b : l.l1_held) held += (held.empty() ? "" : ", ") + b;
    os << "  L1: read-only (__ldg) footprint " << si(l.l1_read_only_per_sm) << "B per SM ("
       << l.resident_blocks_per_sm << " block(s)) against " << si(l.l1_bytes)
       << "B of L1 beside their shared memory: "
       << (held.empty() ? std::string("nothing held, every request goes to L2")
                        : "holds " + held + " (" + si(l.l1_held_per_sm) +
                              "B), charged to L2 once per block" +
                              (l.l1_holds_read_only ? "" : "; the rest per request"))
       << "\n";
  }
  std::string why;
  const std::optional<IssueCounts> issue = issue_of(l, &why);
  if (issue) {
    os << "  instructions (" << build_kernel_sass().arch
       << " code of this build, nvdisasm; counts by the rule of kernel_sass.hpp): "
       << si(issue->instructions) << " warp instructions issued:";
    for (const auto& [pipe, n] : issue->by_pipe)
      os << " " << pipe_name(pipe) << " " << fmt("%.0f%%", 100 * n / std::max(1.0, issue->instructions));
    os << "; " << issue->loops << " loop(s), " << issue->loops_without_anchor
       << " without a counted access (a lower bound there), " << issue->anchors << " anchor(s)\n";
    // The regions that issue most: where the instruction time goes.
    std::vector<RegionCounts> hot = issue->regions;
    std::sort(hot.begin(), hot.end(),
              [](const RegionCounts& a, const RegionCounts& b) { return a.issued() > b.issued(); });
    os << "    region (SASS offsets)  instructions  executions  issued  first line\n";
    for (size_t i = 0; i < hot.size() && i < 5 && hot[i].issued() > 0; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%04x-%04x", hot[i].first, hot[i].last);
      std::snprintf(line, sizeof line, "    %-22s %12d %11s %6.0f%%  %s%s\n", buf,
                    hot[i].instructions, si(hot[i].executions).c_str(),
                    100 * hot[i].issued() / std::max(1.0, issue->instructions), hot[i].line.c_str(),
                    hot[i].anchored ? "" : " (no counted access: its parent's executions)");
      os << line;
    }
  } else {
    os << "  instructions: not counted (" << why << ")\n";
  }
  if (!l.buffers.empty()) {
    os << "  buffer          size       L2 read   L2 write   DRAM read  DRAM write  DRAM/size"
       << (l.l2_extrapolated ? "  (L2 model: sampled footprints, extrapolated)" : "") << "\n";
    for (const auto& b : l.buffers) {
      std::snprintf(line, sizeof line, "  %-12s %9sB %9sB %9sB %10sB %10sB %9.2f%s\n",
                    b.name.c_str(), si(double(b.size)).c_str(), si(b.l2_read).c_str(),
                    si(b.l2_write).c_str(), si(b.dram_read).c_str(), si(b.dram_write).c_str(),
                    b.size ? (b.dram_read + b.dram_write) / double(b.size) : 0.0,
                    b.extrapolation_suspect ? "  (unreliable: footprints do not extrapolate)" : "");
      os << line;
    }
  }
  const Estimate e = estimate(l, m, useful_ffma, issue);
  os << "  CPU-model estimate on " << m.name
     << " (cpu_cuda/profile/machine_model.hpp; low-high from the constants' ranges):\n";
  for (const auto& p : e.parts)
    os << "    " << p.resource << ": " << range(p.lo, p.hi) << "  (" << p.basis << ")\n";
  os << "    launch overhead: " << range(m.launch_overhead_s.lo, m.launch_overhead_s.hi)
     << "  (assumed)\n";
  os << "    predicted " << range(e.lo, e.hi) << " (CPU-model estimate; resources combined as "
     << fmt("(sum t^%g)^(1/", m.overlap_p) << fmt("%g)), ", m.overlap_p)
     << (e.bound.empty() ? "bound: not decided (" + e.bound_lo + " at the low end, " + e.bound_hi +
                               " at the high end)"
                         : "bound: " + e.bound)
     << "\n";
  return os.str();
}

}  // namespace tconv::profile
