#include "cpu_cuda/profile/kernel_sass.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <sstream>

#include "cpu_cuda/profile/kernel_resources.hpp"

#include "cpu_cuda/profile/kernel_resources.hpp"

namespace tconv::profile {

namespace {

using ::cpu_cuda::prof::Kind;
using ::cpu_cuda::prof::SiteCounters;
using ::cpu_cuda::prof::Space;

// `//## File "PATH", line N[ inlined at ...]`: the first frame, as "path:N".
std::string frame_of(const std::string& comment) {
  const size_t q0 = comment.find('"');
  const size_t q1 = q0 == std::string::npos ? q0 : comment.find('"', q0 + 1);
  const size_t ln = q1 == std::string::npos ? q1 : comment.find("line ", q1);
  if (ln == std::string::npos) return "";
  return ::cpu_cuda::prof::relative_path(comment.substr(q0 + 1, q1 - q0 - 1)) + ":" +
         std::to_string(std::atol(comment.c_str() + ln + 5));
}

std::string base_of(const std::string& opcode) {
  return opcode.substr(0, opcode.find('.'));
}

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

// The (space, kind) pairs a memory instruction performs, as the CPU runtime's sites count them.
std::vector<std::pair<Space, Kind>> accesses_of(const std::string& opcode) {
  const std::string b = base_of(opcode);
  if (one_of(b, {"LDG", "LD"})) return {{Space::global, Kind::load}};
  if (one_of(b, {"STG", "ST"})) return {{Space::global, Kind::store}};
  if (one_of(b, {"ATOMG", "ATOM", "RED", "REDG"})) return {{Space::global, Kind::atomic}};
  if (one_of(b, {"LDS", "LDSM"})) return {{Space::shared, Kind::load}};
  if (one_of(b, {"STS", "STSM"})) return {{Space::shared, Kind::store}};
  if (b == "ATOMS") return {{Space::shared, Kind::atomic}};
  if (b == "LDGSTS") return {{Space::global, Kind::load}, {Space::shared, Kind::store}};
  return {};
}

}  // namespace

const char* pipe_name(Pipe p) {
  switch (p) {
    case Pipe::alu:
      return "alu";
    case Pipe::fma_heavy:
      return "fma_heavy";
    case Pipe::fma:
      return "fma";
    case Pipe::xu:
      return "xu";
    case Pipe::memory:
      return "memory";
    case Pipe::tensor:
      return "tensor";
    case Pipe::uniform:
      return "uniform";
    case Pipe::control:
      return "control";
    case Pipe::other:
      return "other";
    case Pipe::nop:
      return "nop";
  }
  return "?";
}

// Pipes after Nsight Compute's documentation of its pipelines (alu, fma, fmaheavy, xu, lsu,
// tensor, uniform) and the CUDA C++ Programming Guide's throughput table for compute capability
// 9.0 (integer multiply-add at half the FP32 rate, conversions and special functions at 16 per
// SM per clock). An opcode not listed costs its issue slot only (Pipe::other).
Pipe pipe_of(const std::string& opcode) {
  const std::string b = base_of(opcode);
  if (b == "NOP") return Pipe::nop;
  if (!accesses_of(opcode).empty() ||
      one_of(b, {"LDL", "STL", "SHFL", "MATCH", "LDGDEPBAR", "ARRIVES", "SYNCS"}))
    return Pipe::memory;
  if (one_of(b, {"HMMA", "IMMA", "DMMA", "BMMA", "HGMMA", "IGMMA", "QGMMA"})) return Pipe::tensor;
  if (one_of(b, {"FFMA", "FADD", "FMUL", "FFMA32I", "FADD32I", "FMUL32I", "HFMA2", "HADD2", "HMUL2",
                 "FSWZADD"}))
    return Pipe::fma;
  if (one_of(b, {"IMAD", "IMUL", "IMAD32I", "IMUL32I", "IDP", "IMADSP"})) return Pipe::fma_heavy;
  if (one_of(b, {"MUFU", "I2F", "F2I", "F2F", "FRND", "I2I", "POPC", "FLO", "BREV"}))
    return Pipe::xu;
  if (one_of(b, {"IADD3",  "IADD",   "IADD32I", "VIADD", "VIADDMNMX", "VIMNMX", "ISETP",
                 "LOP3",   "LOP",    "LOP32I",  "SHF",   "SHL",       "SHR",    "LEA",
                 "ISCADD", "IABS",   "IMNMX",   "SEL",   "FSEL",      "FSETP",  "FMNMX",
                 "PRMT",   "BMSK",   "PLOP3",   "P2R",   "R2P",       "I2FP",   "F2FP",
                 "HSETP2", "HMNMX2", "FCHK",    "CSET",  "CSETP"}))
    return Pipe::alu;
  if (b == "S2UR" || b == "R2UR" || b == "VOTEU" || (b.size() > 1 && b[0] == 'U'))
    return Pipe::uniform;
  if (one_of(b, {"BRA",    "BRX",    "JMP",  "JMX",      "EXIT",      "RET",    "CALL",
                 "BSSY",   "BSYNC",  "BAR",  "WARPSYNC", "YIELD",     "DEPBAR", "BPT",
                 "MEMBAR", "ERRBAR", "CCTL", "KILL",     "NANOSLEEP", "BREAK",  "WARPGROUP"}))
    return Pipe::control;
  return Pipe::other;
}

const SassFunction* KernelSass::of_cpu_symbol(const std::string& cpu_symbol) const {
  return function(gpu_symbol(cpu_symbol));
}

namespace {

// One function's text, from its ".text.NAME:" line to the next function's.
SassFunction parse_function(const std::string& name, const std::string& text) {
  SassFunction f;
  f.name = name;
  std::istringstream in(text);
  std::string line;
  std::map<std::string, uint32_t> labels;                // label -> offset it names
  std::vector<std::string> open_labels;                  // read, awaiting their instruction
  std::vector<std::pair<size_t, std::string>> branches;  // (instruction, target label)
  std::vector<std::string> chain;
  bool chain_open = false;  // the //## lines just read are one chain
  while (std::getline(in, line)) {
    if (line.rfind(".L_", 0) == 0 && line.back() == ':') {
      open_labels.push_back(line.substr(0, line.size() - 1));  // names the next instruction
      continue;
    }
    const std::string t = trim(line);
    if (t.rfind("//## File ", 0) == 0) {
      if (!chain_open) chain.clear();
      chain_open = true;
      const std::string fr = frame_of(t);
      if (!fr.empty()) chain.push_back(fr);
      continue;
    }
    if (t.rfind("/*", 0) != 0) continue;
    const size_t close = t.find("*/");
    if (close == std::string::npos) continue;
    SassInstruction ins;
    ins.offset = uint32_t(std::strtoul(t.c_str() + 2, nullptr, 16));
    std::istringstream ws(t.substr(close + 2));
    std::string tok;
    ws >> tok;
    if (!tok.empty() && tok[0] == '@') {
      ins.predicated = tok != "@PT";
      ws >> tok;
    }
    while (!tok.empty() && tok.back() == ';') tok.pop_back();
    if (tok.empty()) continue;
    ins.opcode = tok;
    std::string rest;
    std::getline(ws, rest);
    ins.operands = trim(rest.substr(0, rest.find(';')));
    ins.lines = chain;
    chain_open = false;
    for (const std::string& label : open_labels) labels[label] = ins.offset;
    open_labels.clear();
    if (base_of(ins.opcode) == "BRA") {
      const size_t a = t.find("`(");
      const size_t b = a == std::string::npos ? a : t.find(')', a);
      if (b != std::string::npos) branches.emplace_back(f.code.size(), t.substr(a + 2, b - a - 2));
    }
    f.code.push_back(std::move(ins));
  }
  for (const auto& [i, label] : branches) {
    const auto it = labels.find(label);
    if (it != labels.end()) f.code[i].target = it->second;
  }
  return f;
}

}  // namespace

const SassFunction* KernelSass::function(const std::string& name) const {
  const auto it = index.find(name);
  if (it == index.end()) return nullptr;
  auto& cached = parsed[name];
  if (!cached)
    cached = std::make_shared<SassFunction>(
        parse_function(name, text.substr(it->second.first, it->second.second - it->second.first)));
  return cached.get();
}

KernelSass parse_kernel_sass(std::string text) {
  KernelSass k;
  k.text = std::move(text);
  const std::string& t = k.text;
  if (t.compare(0, 15, "# unavailable: ") == 0) {
    k.unavailable = trim(t.substr(15, t.find('\n') - 15));
    return k;
  }
  std::string pending;  // the function whose text runs up to the next header
  size_t pending_begin = 0;
  // Headers start a line: ".text.MANGLED:".
  size_t pos = t.compare(0, 6, ".text.") == 0 ? 0 : t.find("\n.text.");
  if (pos != 0 && pos != std::string::npos) ++pos;
  while (pos < t.size()) {
    size_t eol = t.find('\n', pos);
    if (eol == std::string::npos) eol = t.size();
    if (eol > pos + 7 && t[eol - 1] == ':') {
      if (!pending.empty()) k.index.emplace(pending, std::make_pair(pending_begin, pos));
      pending = ::cpu_cuda::prof::demangle(t.substr(pos + 6, eol - pos - 7).c_str());
      pending_begin = eol;
    }
    const size_t next = t.find("\n.text.", eol);
    pos = next == std::string::npos ? t.size() : next + 1;
  }
  if (!pending.empty()) k.index.emplace(pending, std::make_pair(pending_begin, t.size()));
  if (k.index.empty()) k.unavailable = "the disassembly holds no " + k.arch + " function";
  return k;
}

const KernelSass& build_kernel_sass() {
#ifdef TCONV_KERNEL_SASS
  static const char* const path = TCONV_KERNEL_SASS;
#else
  static const char* const path = nullptr;
#endif
  static const KernelSass k = [] {
    std::string why;
    std::string text = read_generated(path, &why);
    if (!why.empty()) {
      KernelSass none;
      none.unavailable = path ? why : "built without the kernel disassembly";
      return none;
    }
    return parse_kernel_sass(std::move(text));
  }();
  return k;
}

IssueCounts dynamic_issue(const SassFunction& f, const std::vector<SiteCounters>& sites,
                          double warps) {
  IssueCounts out;
  const size_t n = f.code.size();
  // 1. Regions: [first, last] instruction indices of each backward branch; 0 is the function.
  struct Region {
    size_t first, last;
    int parent = -1;
    double anchored = -1;  // most executed anchor directly inside; -1: none
    double count = 0;
  };
  std::vector<Region> regions{{0, n ? n - 1 : 0}};
  auto index_of = [&](int64_t offset) {
    return size_t(std::lower_bound(
                      f.code.begin(), f.code.end(), offset,
                      [](const SassInstruction& i, int64_t o) { return int64_t(i.offset) < o; }) -
                  f.code.begin());
  };
  // A branch to itself ends the function after its last EXIT (padding that never runs).
  auto parks = [&](size_t i) { return f.code[i].target == int64_t(f.code[i].offset); };
  for (size_t i = 0; i < n; ++i)
    if (f.code[i].target >= 0 && f.code[i].target < int64_t(f.code[i].offset))
      regions.push_back({index_of(f.code[i].target), i});
  out.loops = int(regions.size()) - 1;
  auto span = [&](const Region& r) { return r.last - r.first; };
  // The smallest region strictly around each, and the smallest holding each instruction.
  for (size_t r = 1; r < regions.size(); ++r) {
    int best = 0;
    for (size_t q = 1; q < regions.size(); ++q)
      if (q != r && regions[q].first <= regions[r].first && regions[r].last <= regions[q].last &&
          span(regions[q]) > span(regions[r]) &&
          (best == 0 || span(regions[q]) < span(regions[size_t(best)])))
        best = int(q);
    regions[r].parent = best;
  }
  std::vector<int> home(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t r = 1; r < regions.size(); ++r)
      if (regions[r].first <= i && i <= regions[r].last &&
          (home[i] == 0 || span(regions[r]) < span(regions[size_t(home[i])])))
        home[i] = int(r);
  // 2. Anchors: per counted site, the memory instructions its requests are the executions of.
  struct Key {
    std::string line;
    Space space;
    Kind kind;
    bool operator<(const Key& o) const {
      return std::tie(line, space, kind) < std::tie(o.line, o.space, o.kind);
    }
  };
  std::map<Key, double> requests;
  std::set<Key> fallback;  // sites named by an access helper itself (no caller was known)
  for (const SiteCounters& s : sites) {
    const size_t paren = s.where.find(" (");
    const Key key{s.where.substr(0, paren), s.space, s.kind};
    requests[key] += s.requests;
    const size_t close = paren == std::string::npos ? paren : s.where.find(')', paren);
    if (close != std::string::npos && s.where.find(" via ", close) == std::string::npos &&
        ::cpu_cuda::prof::access_helper(s.where.substr(paren + 2, close - paren - 2)))
      fallback.insert(key);
  }
  std::map<Key, std::vector<size_t>> matches;
  for (size_t i = 0; i < n; ++i)
    for (const auto& [space, kind] : accesses_of(f.code[i].opcode)) {
      // The innermost frame of the chain that a site names, as the CPU names sites: a line
      // further out is the call of an inlined function whose own accesses have their own sites,
      // and a site named by an access helper itself comes last (its callers were unknown there;
      // every other caller of the helper has its own site).
      const Key* pick = nullptr;
      std::vector<Key> keys;
      for (const std::string& line : f.code[i].lines) keys.push_back({line, space, kind});
      for (const Key& k : keys)
        if (requests.count(k) && !fallback.count(k)) {
          pick = &k;
          break;
        }
      if (!pick)
        for (const Key& k : keys)
          if (requests.count(k)) {
            pick = &k;
            break;
          }
      if (pick) matches[*pick].push_back(i);
    }
  // 3. The executions of the anchored loops: each site's requests are the sum, over its copies,
  // of the executions of the loop holding the copy. Solved for all loops at once, in the least
  // squares of the relative errors with executions >= 0 (coordinate descent: a convex problem of
  // a few dozen unknowns), since one access often has copies in several loops (a prologue load
  // and the main loop's, or a path that never runs) and no single site decides a loop alone.
  // The function body is not an unknown: it runs once per warp.
  std::vector<int> unknown(regions.size(), -1);
  int unknowns = 0;
  struct Equation {
    double rhs, weight;
    std::map<int, double> copies;  // unknown -> copies of the site in that loop
  };
  std::vector<Equation> eqs;
  for (const auto& [key, idx] : matches) {
    Equation e{requests[key], 0, {}};
    for (size_t i : idx) {
      const int r = home[i];
      ++out.anchors;
      if (r == 0) {
        e.rhs -= warps;
        continue;
      }
      if (unknown[size_t(r)] < 0) unknown[size_t(r)] = unknowns++;
      e.copies[unknown[size_t(r)]] += 1;
    }
    e.weight = 1 / std::max(1.0, requests[key] * requests[key]);
    if (!e.copies.empty()) eqs.push_back(std::move(e));
  }
  // Where the sums leave loops undetermined (one access with copies in two loops and nothing
  // else to tell them apart), the copies share evenly: a faint pull (1e-6 of each unknown's
  // weight) toward that even share, which is also where the descent starts.
  std::vector<double> prior(size_t(unknowns), 0), prior_n(size_t(unknowns), 0);
  for (const Equation& e : eqs) {
    double copies = 0;
    for (const auto& [v, c] : e.copies) copies += c;
    for (const auto& [v, c] : e.copies) {
      prior[size_t(v)] += std::max(0.0, e.rhs) / copies;
      prior_n[size_t(v)] += 1;
    }
  }
  for (int v = 0; v < unknowns; ++v) prior[size_t(v)] /= std::max(1.0, prior_n[size_t(v)]);
  std::vector<double> x = prior;
  std::vector<double> lhs(eqs.size(), 0);
  for (size_t k = 0; k < eqs.size(); ++k)
    for (const auto& [v, c] : eqs[k].copies) lhs[k] += c * x[size_t(v)];
  for (int sweep = 0; sweep < 2000; ++sweep) {
    double moved = 0;
    for (int v = 0; v < unknowns; ++v) {
      double grad = 0, curv = 0;
      for (size_t k = 0; k < eqs.size(); ++k) {
        const auto it = eqs[k].copies.find(v);
        if (it == eqs[k].copies.end()) continue;
        grad += eqs[k].weight * it->second * (lhs[k] - eqs[k].rhs);
        curv += eqs[k].weight * it->second * it->second;
      }
      const double pull = 1e-6 * curv;
      grad += pull * (x[size_t(v)] - prior[size_t(v)]);
      curv += pull;
      if (curv <= 0) continue;
      const double next = std::max(0.0, x[size_t(v)] - grad / curv);
      const double d = next - x[size_t(v)];
      if (d == 0) continue;
      for (size_t k = 0; k < eqs.size(); ++k) {
        const auto it = eqs[k].copies.find(v);
        if (it != eqs[k].copies.end()) lhs[k] += it->second * d;
      }
      x[size_t(v)] = next;
      moved = std::max(moved, std::fabs(d) / std::max(1.0, next));
    }
    if (moved < 1e-9) break;
  }
  for (size_t r = 1; r < regions.size(); ++r)
    if (unknown[r] >= 0) regions[r].anchored = x[size_t(unknown[r])];
  // 4. Counts, outermost first (a parent spans more than its children).
  std::vector<size_t> order(regions.size());
  for (size_t r = 0; r < order.size(); ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return span(regions[a]) > span(regions[b]); });
  for (size_t r : order) {
    Region& g = regions[r];
    if (r == 0) {
      g.count = warps;
    } else if (g.anchored >= 0) {
      g.count = g.anchored;
    } else {
      g.count = regions[size_t(std::max(0, g.parent))].count;
      ++out.loops_without_anchor;
    }
  }
  out.regions.resize(regions.size());
  for (size_t r = 0; r < regions.size(); ++r) {
    RegionCounts& rc = out.regions[r];
    rc.first = n ? f.code[regions[r].first].offset : 0;
    rc.last = n ? f.code[regions[r].last].offset : 0;
    if (n && !f.code[regions[r].first].lines.empty())
      rc.line = f.code[regions[r].first].lines.front();
    rc.executions = regions[r].count;
    rc.anchored = r == 0 || regions[r].anchored >= 0;
    bool async_copies = false;
    int waits_leave = -1;
    for (size_t i = regions[r].first; n && i <= regions[r].last; ++i) {
      const std::string& op = f.code[i].opcode;
      if (base_of(op) == "LDGSTS") async_copies = true;
      if (op.rfind("DEPBAR.LE", 0) == 0) {
        const size_t comma = f.code[i].operands.find(',');
        if (comma != std::string::npos)
          waits_leave = std::max(
              waits_leave, int(std::strtol(f.code[i].operands.c_str() + comma + 1, nullptr, 0)));
      }
    }
    if (async_copies && waits_leave >= 0) rc.stages = waits_leave + 1;
  }
  for (size_t i = 0; i < n; ++i) {
    const Pipe p = pipe_of(f.code[i].opcode);
    if (p == Pipe::nop || parks(i)) continue;
    const double c = regions[size_t(home[i])].count;
    ++out.regions[size_t(home[i])].instructions;
    out.by_pipe[p] += c;
    out.instructions += c;
  }
  return out;
}

}  // namespace tconv::profile
