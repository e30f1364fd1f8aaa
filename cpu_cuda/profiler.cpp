// The profiler of the CPU runtime (see profiler.hpp): device allocations, memcheck, per-site
// counters, the L2 model and the symboliser. Not itself instrumented.
#include "cpu_cuda/profiler.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <unistd.h>

extern "C" char __executable_start[] __attribute__((weak));
extern "C" char _end[] __attribute__((weak));

namespace cpu_cuda {
namespace {

// ---- Device allocations --------------------------------------------------------------------

constexpr size_t kGuard = 256;  // unregistered bytes on both sides; also cudaMalloc's alignment

struct Alloc {
  uintptr_t base = 0;
  size_t size = 0;
  std::string name;
  uint64_t serial = 0;
};

struct Registry {
  std::map<uintptr_t, Alloc> live;  // by base
  uint64_t serial = 0;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void* device_malloc(size_t bytes) {
  const size_t body = (bytes + kGuard - 1) / kGuard * kGuard;
  void* raw = std::aligned_alloc(kGuard, body + 2 * kGuard);
  if (!raw) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw) + kGuard;
  Registry& r = registry();
  Alloc a;
  a.base = base;
  a.size = bytes;
  a.serial = ++r.serial;
  a.name = "buffer#" + std::to_string(a.serial);
  r.live[base] = a;
  return reinterpret_cast<void*>(base);
}

void device_free(void* p) noexcept {
  if (!p) return;
  registry().live.erase(reinterpret_cast<uintptr_t>(p));
  std::free(static_cast<char*>(p) - kGuard);
}

void name_allocation(const void* p, const std::string& name) {
  auto it = registry().live.find(reinterpret_cast<uintptr_t>(p));
  if (it != registry().live.end()) it->second.name = name;
}

namespace prof {

bool g_instrumented = false;  // set by tsan_hooks.cpp's static initializer

namespace {

// ---- Shared arrays, from the binary's symbol table -----------------------------------------

struct SharedArray {
  uintptr_t base = 0;
  size_t size = 0;
  std::string name;
};

}  // namespace

std::string demangle(const char* s) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(s, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(s);
}

namespace {

// Function symbols by address (kernels in anonymous namespaces are local symbols, which dladdr
// does not see).
std::map<uintptr_t, std::string>& function_symbols() {
  static std::map<uintptr_t, std::string> m;
  return m;
}

// The __shared__ arrays of every kernel: the function-local static objects of the binary (a
// kernel's only statics are its __shared__ arrays; nvcc allows no others in device code), read
// from the symbol table with their exact sizes. Template kernels' arrays are COMDAT objects that
// GCC places in .bss whatever section attribute they carry, so the symbol table is the one place
// that lists them all. Also fills function_symbols().
std::vector<SharedArray> read_shared_arrays() {
  std::vector<SharedArray> out;
  Dl_info self{};
  if (!dladdr(reinterpret_cast<void*>(&read_shared_arrays), &self) || !self.dli_fbase) return out;
  const uintptr_t bias = reinterpret_cast<uintptr_t>(self.dli_fbase);
  std::ifstream f("/proc/self/exe", std::ios::binary);
  std::vector<char> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (img.size() < sizeof(Elf64_Ehdr)) return out;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(img.data());
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shoff + size_t(eh->e_shnum) * sizeof(Elf64_Shdr) > img.size())
    return out;
  // A non-PIE executable is loaded at its link addresses.
  const uintptr_t load = eh->e_type == ET_DYN ? bias : 0;
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(img.data() + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB) continue;
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(img.data() + sh[i].sh_offset);
    const size_t nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
    const char* strtab = img.data() + sh[sh[i].sh_link].sh_offset;
    for (size_t k = 0; k < nsyms; ++k) {
      const char* name = strtab + syms[k].st_name;
      const int type = ELF64_ST_TYPE(syms[k].st_info);
      if (type == STT_FUNC && syms[k].st_value != 0)
        function_symbols()[syms[k].st_value + load] = name;
      if (type == STT_OBJECT && syms[k].st_size > 0 && std::strncmp(name, "_ZZ", 3) == 0) {
        const std::string d = demangle(name);
        if (d.find(")::") == std::string::npos || d.find("::{lambda") != std::string::npos) continue;
        out.push_back({syms[k].st_value + load, size_t(syms[k].st_size), d});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SharedArray& a, const SharedArray& b) { return a.base < b.base; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const SharedArray& a, const SharedArray& b) { return a.base == b.base; }),
            out.end());
  return out;
}

const std::vector<SharedArray>& shared_arrays() {
  static const std::vector<SharedArray> a = read_shared_arrays();
  return a;
}

// ---- Symbolising instruction addresses ----------------------------------------------------

std::string short_function(const std::string& f) {
  // Drop template arguments and parameter lists: "pg::BLoader::store" is what a reader wants.
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '<' || c == '(') {
      if (c == '(' && depth == 0 && f.compare(i, 20, "(anonymous namespace)") == 0) {
        i += 20;
        continue;
      }
      ++depth;
    } else if (c == '>' || c == ')') {
      depth = std::max(0, depth - 1);
    } else if (depth == 0) {
      out += c;
    }
  }
  // The return type of a template's name ("void f", "unsigned int g") goes too.
  while (out.size() > 6 && out.compare(out.size() - 6, 6, " const") == 0) out.erase(out.size() - 6);
  const size_t space = out.rfind(' ');
  if (space != std::string::npos) out.erase(0, space + 1);
  for (const char* ns : {"cpu_run::", "tconv::", "cpu_cuda::"})
    for (size_t pos; (pos = out.find(ns)) != std::string::npos;) out.erase(pos, std::strlen(ns));
  return out;
}

}  // namespace

std::string relative_path(const std::string& path) {
  for (const char* root : {"/kernels/", "/bench/", "/tests/", "/core/", "/reference/"}) {
    const size_t pos = path.rfind(root);
    if (pos != std::string::npos) return path.substr(pos + 1);
  }
  return path;
}

namespace {

struct Frame {
  std::string function, file;
};

// addr2line over a batch of addresses: -a prints each address before its inline chain
// (innermost frame first).
std::map<uintptr_t, std::vector<Frame>> addr2line(const std::vector<uintptr_t>& pcs) {
  std::map<uintptr_t, std::vector<Frame>> out;
  if (pcs.empty()) return out;
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(pcs[0]), &info) || !info.dli_fbase) return out;
  const uintptr_t base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  for (size_t at = 0; at < pcs.size(); at += 200) {
    std::string cmd = "addr2line -a -C -f -i -e /proc/" + std::to_string(getpid()) + "/exe";
    char buf[32];
    for (size_t i = at; i < std::min(pcs.size(), at + 200); ++i) {
      // The return address is one past the call: name the call instruction's line.
      std::snprintf(buf, sizeof buf, " 0x%" PRIxPTR, pcs[i] - base - 1);
      cmd += buf;
    }
    cmd += " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    std::vector<std::string> lines;
    char line[4096];
    while (std::fgets(line, sizeof line, p)) {
      std::string s(line);
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      lines.push_back(s);
    }
    pclose(p);
    uintptr_t cur = 0;
    size_t idx = at;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind("0x", 0) == 0) {
        cur = pcs[std::min(idx++, pcs.size() - 1)];
        continue;
      }
      if (i + 1 < lines.size()) {
        out[cur].push_back({lines[i], lines[i + 1]});
        ++i;
      }
    }
  }
  return out;
}

std::map<uintptr_t, std::string>& symbol_cache() {
  static std::map<uintptr_t, std::string> c;
  return c;
}

}  // namespace

// One-line access helpers of our kernels (a scalar or vector load, a fragment read): a site is
// named by their caller, with the helper after "via", so that A's and B's loads stay apart.
bool access_helper(const std::string& function) {
  const std::string f = short_function(function);
  for (const char* h : {"load_scalar", "load_vec", "store_vec", "smem_u32", "__ldg", "ldmatrix_x4",
                        "ldmatrix_x4_trans", "store_pair", "load_smem16"}) {
    const size_t n = std::strlen(h);
    if (f.size() >= n && f.compare(f.size() - n, n, h) == 0) return true;
  }
  return false;
}

namespace {

std::string clean_file(const std::string& path) {
  std::string file = relative_path(path);
  const size_t disc = file.find(" (discriminator");
  if (disc != std::string::npos) file.erase(disc);
  return file;
}

// The first frame of the chain in our kernels' code (kernels/, bench/) that is not an access
// helper, else the first outside the runtime's own models, else the innermost.
std::string pick_frame(const std::vector<Frame>& chain) {
  if (chain.empty()) return "?";
  const Frame* pick = nullptr;
  const Frame* helper = nullptr;
  for (const Frame& f : chain)
    if (f.file.find("/kernels/") != std::string::npos || f.file.find("/bench/") != std::string::npos) {
      if (!helper && access_helper(f.function)) {
        helper = &f;
        continue;
      }
      pick = &f;
      break;
    }
  if (pick && helper)
    return clean_file(pick->file) + " (" + short_function(pick->function) + ") via " +
           short_function(helper->function);
  if (!pick) pick = helper;
  if (!pick)
    for (const Frame& f : chain)
      if (f.file.find("/cpu_cuda/") == std::string::npos && f.file.rfind("/usr/", 0) != 0) {
        pick = &f;
        break;
      }
  if (!pick) pick = &chain.front();
  return clean_file(pick->file) + " (" + short_function(pick->function) + ")";
}

void symbolize_all(const std::vector<uintptr_t>& pcs) {
  std::vector<uintptr_t> todo;
  for (uintptr_t pc : pcs)
    if (!symbol_cache().count(pc)) todo.push_back(pc);
  std::sort(todo.begin(), todo.end());
  todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
  const auto chains = addr2line(todo);
  for (uintptr_t pc : todo) {
    auto it = chains.find(pc);
    char buf[32];
    std::snprintf(buf, sizeof buf, "pc 0x%" PRIxPTR, pc);
    symbol_cache()[pc] = it == chains.end() ? std::string(buf) : pick_frame(it->second);
  }
}

// The demangled symbol of a function address, empty where unknown.
std::string function_symbol(const void* fn) {
  shared_arrays();  // reads the symbol table
  auto it = function_symbols().find(reinterpret_cast<uintptr_t>(fn));
  if (it != function_symbols().end()) return demangle(it->second.c_str());
  Dl_info info{};
  if (dladdr(fn, &info) && info.dli_sname) return demangle(info.dli_sname);
  return "";
}

std::string function_name(const void* fn) {
  std::string s = function_symbol(fn);
  if (!s.empty()) {
    for (const char* prefix : {"tconv::cpu_run::", "tconv::"})
      for (size_t pos; (pos = s.find(prefix)) != std::string::npos;) s.erase(pos, std::strlen(prefix));
    const size_t paren = s.rfind('(');
    if (paren != std::string::npos && paren > 0) s.erase(paren);
    if (s.rfind("void ", 0) == 0) s.erase(0, 5);
    return s;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "kernel@%p", fn);
  return buf;
}

// ---- Per-launch state ------------------------------------------------------------------------

struct Rec {
  uintptr_t pc;
  uintptr_t addr;
  uint32_t seq;     // the lane's execution count of this site
  uint32_t size;
  uint16_t warp;
  uint8_t lane;
  Kind kind;
  Space space;
  int32_t alloc;    // index in LaunchState::allocs (global), -1 for shared
  bool read_only;   // through __ldg
};

struct Touch {
  int32_t alloc;
  int64_t sector;  // relative to the allocation's base
  bool write;
  bool operator<(const Touch& o) const {
    return alloc != o.alloc ? alloc < o.alloc : sector < o.sector;
  }
};

struct BlockFootprint {
  uint64_t linear = 0;
  uint3 idx{};
  std::vector<Touch> touches;  // sorted by (alloc, sector), unique
  std::vector<int64_t> min_sector;  // per alloc, -1 where untouched
};

struct SiteAcc {
  Space space = Space::global;
  Kind kind = Kind::load;
  bool read_only = false;
  int32_t alloc = -1;
  double requests = 0, lanes = 0, bytes = 0, sectors = 0, ideal_sectors = 0, wavefronts = 0,
         ideal_wavefronts = 0, block_sectors = 0;
};

struct LaunchState {
  bool active = false;
  const void* kernel = nullptr;
  dim3 grid, block;
  uint64_t blocks = 0;
  std::vector<uint64_t> sample;  // sorted; empty: every block
  uint64_t blocks_run = 0;
  uint64_t current = 0;
  uint3 current_idx{};
  // allocations met by this launch (index = Rec::alloc)
  std::vector<Alloc> allocs;
  std::unordered_map<uint64_t, int32_t> alloc_index;  // serial -> index
  std::vector<double> l2_read, l2_write;               // per alloc, sectors*32 (unscaled)
  std::unordered_map<uintptr_t, SiteAcc> sites;
  std::set<size_t> shared_touched;  // indices in shared_arrays()
  std::vector<Rec> recs;            // this block's
  std::unordered_map<uint64_t, uint32_t> seq;
  std::vector<BlockFootprint> footprints;
  double mma = 0;
  // The L1 rule: per buffer, the largest block's read-only footprint (sectors).
  std::map<int32_t, int64_t> read_only_sectors;
};

// racecheck's record of one byte of shared memory (profiler.hpp): its last write and the reads
// since, each as (thread, site, intervals). Intervals are numbers that never repeat within a
// process (block_begin and every barrier release take a fresh one), so a stale record from an
// earlier block or launch never matches.
struct Access {
  uintptr_t pc = 0;
  uint32_t block_iv = 0, warp_iv = 0;
  uint16_t thread = 0, warp = 0;
};
struct RaceCell {
  Access write;        // block_iv 0: none
  Access first_read;   // the first read of this interval (block_iv 0: none)
  Access other_read;   // the latest read by a warp other than first_read's (block_iv 0: none)
  Access last_read;    // the latest read
  uint32_t read_iv = 0;      // the interval of the reads above
  uint32_t read_warps = 0;   // warps (mod 32) that read in it
};

struct State {
  Settings settings;
  std::vector<std::vector<RaceCell>> race;  // per array, per byte (racecheck)
  uint32_t interval = 0;                    // the block's barrier interval
  std::vector<uint32_t> warp_interval;      // per warp of the block
  uint32_t next_interval = 0;
  bool race_reported = false;               // one report per launch
  std::vector<size_t> owned;       // the running kernel's __shared__ arrays (indices)
  std::vector<std::vector<uint32_t>> shadow;  // per array, per byte: epoch of its last write
  std::vector<LaunchProfile> launches;
  LaunchState launch;
  uint32_t epoch = 0;
  std::pair<uintptr_t, size_t> runtime_ranges[4] = {};
  // one-entry caches on the hot path
  const Alloc* last_alloc = nullptr;
  size_t last_shared = SIZE_MAX;
};

State& st() {
  static State s = [] {
    State init;
    // TCONV_CPU_RACECHECK=0: memcheck alone, to see what the values and the schedules catch
    // without racecheck (docs/cpu-profiler.md).
    const char* rc = std::getenv("TCONV_CPU_RACECHECK");
    init.settings.racecheck = !(rc && std::string(rc) == "0");
    return init;
  }();
  return s;
}

std::string hex(uintptr_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIxPTR, v);
  return buf;
}

const char* kind_name(Kind k) {
  return k == Kind::load ? "load" : k == Kind::store ? "store" : "atomic";
}

std::string who() {
  const ThreadState& t = *detail::g_current;
  return "block (" + std::to_string(t.block_idx.x) + "," + std::to_string(t.block_idx.y) + "," +
         std::to_string(t.block_idx.z) + ") thread " + std::to_string(t.thread);
}

std::string site_of(uintptr_t pc) {
  symbolize_all({pc});
  return symbol_cache()[pc];
}

// Bytes between an access [addr, addr + size) and a region [base, base + bytes); 0 if they overlap.
uintptr_t gap(uintptr_t addr, size_t size, uintptr_t base, size_t bytes) {
  const uintptr_t end = base + bytes;
  return addr >= end ? addr - end : (addr + size <= base ? base - addr : 0);
}

void report_global(uintptr_t addr, size_t size, Kind kind, uintptr_t pc) {
  const auto& live = registry().live;
  std::string nearest = "no live allocation";
  uintptr_t best = UINTPTR_MAX;
  for (const auto& [base, a] : live) {
    const uintptr_t end = base + a.size;
    const uintptr_t d = gap(addr, size, base, a.size);
    if (d < best) {
      best = d;
      std::ostringstream os;
      os << "nearest allocation '" << a.name << "' at " << hex(base) << ", " << a.size
         << " bytes: the access ";
      if (addr >= end)
        os << "starts " << (addr - end) << " bytes past its end";
      else if (addr + size <= base)
        os << "ends " << (base - addr - size) << " bytes before its start";
      else
        os << "overlaps its end (offset " << (addr - base) << ")";
      nearest = os.str();
    }
  }
  fail("memcheck: invalid global " + std::string(kind_name(kind)) + " of " + std::to_string(size) +
       " bytes at " + hex(addr) + " at " + site_of(pc) + ", " + who() + "; " + nearest);
}

void report_shared(uintptr_t addr, size_t size, Kind kind, uintptr_t pc) {
  const auto& arrays = shared_arrays();
  std::string nearest = "no __shared__ array";
  uintptr_t best = UINTPTR_MAX;
  std::string foreign;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const SharedArray& a = arrays[i];
    if (std::find(st().owned.begin(), st().owned.end(), i) == st().owned.end()) {
      if (addr >= a.base && addr < a.base + a.size)
        foreign = " (the address is in '" + a.name + "', not an array of this kernel)";
      continue;
    }
    const uintptr_t d = gap(addr, size, a.base, a.size);
    if (d < best) {
      best = d;
      nearest = "nearest __shared__ array '" + a.name + "' (" + std::to_string(a.size) +
                " bytes), offset " + std::to_string(int64_t(addr) - int64_t(a.base));
    }
  }
  fail("memcheck: invalid shared " + std::string(kind_name(kind)) + " of " +
       std::to_string(size) + " bytes at " + site_of(pc) + ", " + who() + "; " + nearest + foreign);
}

size_t find_shared(uintptr_t addr, size_t size) {
  State& s = st();
  const auto& arrays = shared_arrays();
  if (s.last_shared < arrays.size()) {
    const SharedArray& a = arrays[s.last_shared];
    if (addr >= a.base && addr + size <= a.base + a.size) return s.last_shared;
  }
  auto it = std::upper_bound(arrays.begin(), arrays.end(), addr,
                             [](uintptr_t v, const SharedArray& a) { return v < a.base; });
  if (it == arrays.begin()) return SIZE_MAX;
  --it;
  if (addr + size > it->base + it->size) return SIZE_MAX;
  s.last_shared = size_t(it - arrays.begin());
  return s.last_shared;
}

const Alloc* find_alloc(uintptr_t addr, size_t size) {
  State& s = st();
  if (s.last_alloc && addr >= s.last_alloc->base && addr + size <= s.last_alloc->base + s.last_alloc->size)
    return s.last_alloc;
  const auto& live = registry().live;
  auto it = live.upper_bound(addr);
  if (it == live.begin()) return nullptr;
  --it;
  if (addr + size > it->second.base + it->second.size) return nullptr;
  s.last_alloc = &it->second;
  return s.last_alloc;
}

int32_t launch_alloc(const Alloc& a) {
  LaunchState& L = st().launch;
  auto it = L.alloc_index.find(a.serial);
  if (it != L.alloc_index.end()) return it->second;
  const int32_t i = int32_t(L.allocs.size());
  L.allocs.push_back(a);
  L.alloc_index[a.serial] = i;
  L.l2_read.push_back(0);
  L.l2_write.push_back(0);
  return i;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Distinct bytes of a request (lanes may overlap).
int64_t unique_bytes(std::vector<std::pair<uintptr_t, uintptr_t>>& r) {
  std::sort(r.begin(), r.end());
  int64_t total = 0;
  uintptr_t cur_lo = 0, cur_hi = 0;
  bool open = false;
  for (const auto& [lo, hi] : r) {
    if (!open || lo > cur_hi) {
      if (open) total += int64_t(cur_hi - cur_lo);
      cur_lo = lo;
      cur_hi = hi;
      open = true;
    } else {
      cur_hi = std::max(cur_hi, hi);
    }
  }
  if (open) total += int64_t(cur_hi - cur_lo);
  return total;
}

// One warp-wide request: recs[b, e) share (pc, warp, seq).
void account_request(LaunchState& L, const Rec* b, const Rec* e) {
  SiteAcc& site = L.sites[b->pc];
  site.space = b->space;
  site.kind = b->kind;
  site.read_only = site.read_only || b->read_only;
  if (site.alloc < 0) site.alloc = b->alloc;
  site.requests += 1;
  site.lanes += double(e - b);
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  ranges.reserve(size_t(e - b));
  for (const Rec* r = b; r != e; ++r) {
    site.bytes += r->size;
    ranges.push_back({r->addr, r->addr + r->size});
  }
  const int64_t uniq = unique_bytes(ranges);
  if (b->space == Space::global) {
    std::vector<uintptr_t> sectors;
    for (const Rec* r = b; r != e; ++r)
      for (uintptr_t s = r->addr >> 5; s <= (r->addr + r->size - 1) >> 5; ++s) sectors.push_back(s);
    std::sort(sectors.begin(), sectors.end());
    sectors.erase(std::unique(sectors.begin(), sectors.end()), sectors.end());
    site.sectors += double(sectors.size());
    site.ideal_sectors += double(ceil_div(uniq, 32));
    // L2 traffic per buffer: each sector of a request is one L2 sector access.
    if (b->alloc >= 0) {
      if (b->kind == Kind::load)
        L.l2_read[size_t(b->alloc)] += 32.0 * double(sectors.size());
      else
        L.l2_write[size_t(b->alloc)] += 32.0 * double(sectors.size());
    }
  } else {
    // Shared: a request is served in phases of lanes (all 32 for accesses up to 4 bytes, 16 for
    // 8 bytes, 8 for 16 bytes); a phase takes as many wavefronts as the most distinct 4-byte
    // words any one bank holds among its lanes' words.
    uint32_t size = std::max<uint32_t>(4, b->size);
    uint32_t pow2 = 4;
    while (pow2 < size) pow2 *= 2;
    const int lanes_per_phase = std::max(1, std::min(32, int(128 / pow2)));
    double wf = 0;
    for (int ph = 0; ph < 32 / lanes_per_phase; ++ph) {
      std::vector<uintptr_t> words;
      for (const Rec* r = b; r != e; ++r)
        if (r->lane / lanes_per_phase == ph)
          for (uintptr_t w = r->addr >> 2; w <= (r->addr + r->size - 1) >> 2; ++w) words.push_back(w);
      if (words.empty()) continue;
      std::sort(words.begin(), words.end());
      words.erase(std::unique(words.begin(), words.end()), words.end());
      int per_bank[32] = {};
      int worst = 0;
      for (uintptr_t w : words) worst = std::max(worst, ++per_bank[w & 31]);
      wf += worst;
    }
    site.wavefronts += wf;
    site.ideal_wavefronts += double(std::max<int64_t>(1, ceil_div(uniq, 128)));
  }
}

void finish_block() {
  State& s = st();
  LaunchState& L = s.launch;
  std::vector<Rec>& recs = L.recs;
  std::sort(recs.begin(), recs.end(), [](const Rec& a, const Rec& b) {
    if (a.pc != b.pc) return a.pc < b.pc;
    if (a.warp != b.warp) return a.warp < b.warp;
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.lane < b.lane;
  });
  for (size_t i = 0; i < recs.size();) {
    size_t j = i + 1;
    while (j < recs.size() && recs[j].pc == recs[i].pc && recs[j].warp == recs[i].warp &&
           recs[j].seq == recs[i].seq)
      ++j;
    account_request(L, recs.data() + i, recs.data() + j);
    i = j;
  }
  // The L1 rule: the block's distinct read-only sectors per buffer, each credited to one site
  // (the first instruction that reads it: unrolled copies of one access read the same sectors).
  {
    struct Ro {
      int32_t alloc;
      uintptr_t sector, pc;
      bool operator<(const Ro& o) const {
        return std::tie(alloc, sector, pc) < std::tie(o.alloc, o.sector, o.pc);
      }
    };
    std::vector<Ro> ro;
    for (const Rec& r : recs)
      if (r.read_only && r.space == Space::global && r.alloc >= 0)
        for (uintptr_t sct = r.addr >> 5; sct <= (r.addr + r.size - 1) >> 5; ++sct)
          ro.push_back({r.alloc, sct, r.pc});
    std::sort(ro.begin(), ro.end());
    std::map<int32_t, int64_t> distinct;
    for (size_t i = 0; i < ro.size(); ++i)
      if (i == 0 || ro[i].sector != ro[i - 1].sector || ro[i].alloc != ro[i - 1].alloc) {
        L.sites[ro[i].pc].block_sectors += 1;
        ++distinct[ro[i].alloc];
      }
    for (const auto& [a, n] : distinct)
      L.read_only_sectors[a] = std::max(L.read_only_sectors[a], n);
  }
  if (s.settings.l2) {
    BlockFootprint fp;
    fp.linear = L.current;
    fp.idx = L.current_idx;
    for (const Rec& r : recs) {
      if (r.space != Space::global || r.alloc < 0) continue;
      const uintptr_t base = L.allocs[size_t(r.alloc)].base;
      for (uintptr_t sct = (r.addr - base) >> 5; sct <= (r.addr + r.size - 1 - base) >> 5; ++sct)
        fp.touches.push_back({r.alloc, int64_t(sct), r.kind != Kind::load});
    }
    std::sort(fp.touches.begin(), fp.touches.end());
    std::vector<Touch> u;
    for (const Touch& t : fp.touches) {
      if (!u.empty() && u.back().alloc == t.alloc && u.back().sector == t.sector)
        u.back().write = u.back().write || t.write;
      else
        u.push_back(t);
    }
    fp.touches.swap(u);
    L.footprints.push_back(std::move(fp));
  }
  recs.clear();
  L.seq.clear();
}

// The grid dimension with the most blocks: where a sample's blocks are spread; the blocks of the
// other dimensions are sampled alike where the budget allows.
int sweep_dim(dim3 g) {
  const unsigned n[3] = {g.x, g.y, g.z};
  int d = 0;
  for (int i = 1; i < 3; ++i)
    if (n[i] > n[d]) d = i;
  return d;
}

// The blocks a sample runs: pairs of neighbours along the sweep dimension at spread positions,
// for every combination of the other two dimensions where the budget allows (or up to 64 blocks
// in all; else for spread
// ones, plus the +1 neighbours of the first in each of those dimensions), so that the L2 model
// can measure each grid step's shift and anchor every block on one that differs from it along
// the sweep dimension only.
std::vector<uint64_t> choose_sample(dim3 g, int budget) {
  const uint64_t n[3] = {g.x, g.y, g.z};
  const uint64_t blocks = n[0] * n[1] * n[2];
  if (budget <= 0 || uint64_t(budget) >= blocks) return {};
  const int sd = sweep_dim(g);
  const int o1 = sd == 0 ? 1 : 0, o2 = sd == 2 ? 1 : 2;  // the other two dimensions
  const uint64_t combos = n[o1] * n[o2];
  const uint64_t per_combo = n[sd] > 1 ? 2 : 1;
  std::set<uint64_t> pick_combos;  // c = i1 + n[o1] * i2
  // Up to 64 blocks, every combination is sampled even past the budget: a translation along a
  // dimension that mixes two indices (phase_gemm's (n-tile, phase) pairs) is not a fixed shift.
  if (combos * per_combo <= std::max<uint64_t>(uint64_t(budget), 64)) {
    for (uint64_t c = 0; c < combos; ++c) pick_combos.insert(c);
  } else {
    const uint64_t k = std::max<uint64_t>(1, uint64_t(budget) / per_combo);
    for (uint64_t i = 0; i < k; ++i) pick_combos.insert(k > 1 ? i * (combos - 1) / (k - 1) : 0);
    if (n[o1] > 1) pick_combos.insert(1);
    if (n[o2] > 1) pick_combos.insert(n[o1]);
  }
  const uint64_t pairs =
      std::max<uint64_t>(1, uint64_t(budget) / (per_combo * pick_combos.size()));
  std::set<uint64_t> pos;
  if (n[sd] == 1) {
    pos.insert(0);
  } else {
    for (uint64_t i = 0; i < pairs; ++i) {
      const uint64_t v = pairs > 1 ? i * (n[sd] - 2) / (pairs - 1) : 0;
      pos.insert(v);
      pos.insert(v + 1);
    }
  }
  std::vector<uint64_t> out;
  for (uint64_t c : pick_combos)
    for (uint64_t v : pos) {
      uint64_t idx[3];
      idx[sd] = v;
      idx[o1] = c % n[o1];
      idx[o2] = c / n[o1];
      out.push_back(idx[0] + n[0] * (idx[1] + n[1] * idx[2]));
    }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int kernel_registers(const Settings& cfg, const void* kernel) {
  if (!cfg.registers_per_thread) return 0;
  const std::string sym = function_symbol(kernel);
  return sym.empty() ? 0 : cfg.registers_per_thread(sym);
}

struct Fenwick {
  std::vector<int64_t> t;
  explicit Fenwick(size_t n) : t(n + 1, 0) {}
  void add(size_t i, int64_t v) {
    for (++i; i < t.size(); i += i & (~i + 1)) t[i] += v;
  }
  int64_t prefix(size_t i) const {  // sum of [0, i)
    int64_t s = 0;
    for (; i > 0; i -= i & (~i + 1)) s += t[i];
    return s;
  }
};

int64_t mode(std::vector<int64_t>& v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  int64_t best = v[0], best_n = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    if (int64_t(j - i) > best_n) {
      best_n = int64_t(j - i);
      best = v[i];
    }
    i = j;
  }
  return best;
}

void run_l2_model(LaunchState& L, LaunchProfile& out) {
  const Settings& cfg = st().settings;
  const size_t na = L.allocs.size();
  const dim3 g = L.grid;
  std::vector<int64_t> nsec(na);
  for (size_t a = 0; a < na; ++a) nsec[a] = int64_t((L.allocs[a].size + 31) / 32);
  for (BlockFootprint& fp : L.footprints) {
    fp.min_sector.assign(na, -1);
    for (const Touch& t : fp.touches)
      if (fp.min_sector[size_t(t.alloc)] < 0) fp.min_sector[size_t(t.alloc)] = t.sector;
  }
  std::unordered_map<uint64_t, size_t> by_linear;
  for (size_t i = 0; i < L.footprints.size(); ++i) by_linear[L.footprints[i].linear] = i;
  const bool full = L.footprints.size() == L.blocks;
  out.l2_extrapolated = !full;
  // Shift per grid step and buffer, from sampled neighbours.
  std::vector<int64_t> delta[3];
  for (int d = 0; d < 3; ++d) delta[d].assign(na, 0);
  if (!full) {
    const uint64_t step[3] = {1, g.x, uint64_t(g.x) * g.y};
    for (size_t a = 0; a < na; ++a)
      for (int d = 0; d < 3; ++d) {
        std::vector<int64_t> seen;
        for (const BlockFootprint& fp : L.footprints) {
          const unsigned c = d == 0 ? fp.idx.x : d == 1 ? fp.idx.y : fp.idx.z;
          const unsigned n = d == 0 ? g.x : d == 1 ? g.y : g.z;
          if (c + 1 >= n) continue;
          auto it = by_linear.find(fp.linear + step[d]);
          if (it == by_linear.end()) continue;
          const BlockFootprint& nb = L.footprints[it->second];
          if (fp.min_sector[a] < 0 || nb.min_sector[a] < 0) continue;
          seen.push_back(nb.min_sector[a] - fp.min_sector[a]);
        }
        delta[d][a] = mode(seen);
      }
  }
  // The anchor of every block: itself where it ran, else the nearest sampled block, preferring
  // the same (y, z), then the same z.
  // An anchor that differs from the block along the sweep dimension only, where there is one.
  const int sd = sweep_dim(g);
  auto anchor_of = [&](uint3 b) -> const BlockFootprint* {
    const BlockFootprint* best = nullptr;
    int64_t best_key = INT64_MAX;
    for (const BlockFootprint& fp : L.footprints) {
      const int64_t d[3] = {std::abs(int64_t(fp.idx.x) - int64_t(b.x)),
                            std::abs(int64_t(fp.idx.y) - int64_t(b.y)),
                            std::abs(int64_t(fp.idx.z) - int64_t(b.z))};
      int64_t key = d[sd];
      for (int i = 0; i < 3; ++i)
        if (i != sd && d[i] != 0) key += (int64_t(1) << 44) + d[i] * (int64_t(1) << 24);
      if (key < best_key) {
        best_key = key;
        best = &fp;
      }
    }
    return best;
  };
  // The residency launch_end computed: the waves of the same occupancy the report prints.
  const int resident = out.resident_blocks_per_sm;
  const uint64_t wave = uint64_t(cfg.sms) * uint64_t(resident);
  const uint64_t nwaves = (L.blocks + wave - 1) / wave;
  const int64_t capacity = cfg.l2_bytes / 32;
  std::vector<std::vector<int32_t>> last(na);
  std::vector<std::vector<uint8_t>> dirty(na);
  for (size_t a = 0; a < na; ++a) {
    last[a].assign(size_t(nsec[a]), -1);
    dirty[a].assign(size_t(nsec[a]), 0);
  }
  std::vector<double> rd(na, 0), wr(na, 0);
  Fenwick fen(size_t(nwaves) + 1);
  // Within a sampled (y, z) row the anchors repeat; cache the last one to avoid the search.
  for (uint64_t w = 0; w < nwaves; ++w) {
    const int32_t wi = int32_t(w);
    for (uint64_t lin = w * wave; lin < std::min<uint64_t>(L.blocks, (w + 1) * wave); ++lin) {
      const uint3 b = make_uint3(unsigned(lin % g.x), unsigned((lin / g.x) % g.y),
                                 unsigned(lin / (uint64_t(g.x) * g.y)));
      const BlockFootprint* fp;
      auto own = by_linear.find(lin);
      if (own != by_linear.end())
        fp = &L.footprints[own->second];
      else
        fp = anchor_of(b);
      if (!fp) continue;
      const int64_t dx = int64_t(b.x) - int64_t(fp->idx.x), dy = int64_t(b.y) - int64_t(fp->idx.y),
                    dz = int64_t(b.z) - int64_t(fp->idx.z);
      for (const Touch& t : fp->touches) {
        const size_t a = size_t(t.alloc);
        const int64_t s = t.sector + dx * delta[0][a] + dy * delta[1][a] + dz * delta[2][a];
        if (s < 0 || s >= nsec[a]) continue;
        int32_t& lw = last[a][size_t(s)];
        uint8_t& dt = dirty[a][size_t(s)];
        if (lw == wi) {
          if (t.write && !dt) {
            wr[a] += 32;
            dt = 1;
          }
          continue;
        }
        const bool hit = lw >= 0 && fen.prefix(size_t(wi) + 1) - fen.prefix(size_t(lw) + 1) < capacity;
        if (!hit) {
          if (!t.write) rd[a] += 32;
          dt = 0;
        }
        if (t.write && !dt) {
          wr[a] += 32;
          dt = 1;
        }
        if (lw >= 0) fen.add(size_t(lw), -1);
        fen.add(size_t(wi), 1);
        lw = wi;
      }
    }
  }
  for (size_t a = 0; a < na; ++a) {
    BufferTraffic& bt = out.buffers[a];
    bt.dram_read = rd[a];
    bt.dram_write = wr[a];
    if (full) continue;
    // Coverage check of the extrapolation (see BufferTraffic::extrapolation_suspect).
    std::vector<char> seen(size_t(nsec[a]), 0);
    double sampled = 0;
    for (const BlockFootprint& fp : L.footprints)
      for (const Touch& t : fp.touches)
        if (size_t(t.alloc) == a && t.sector < nsec[a] && !seen[size_t(t.sector)]) {
          seen[size_t(t.sector)] = 1;
          sampled += 1;
        }
    double covered = 0;
    for (int32_t v : last[a]) covered += v >= 0;
    const double expected = std::min(double(nsec[a]), sampled * double(L.blocks) /
                                                          double(L.footprints.size()));
    bt.extrapolation_suspect = covered < 0.9 * expected;
  }
}

}  // namespace

bool instrumented() { return g_instrumented; }

void configure(const Settings& s) { st().settings = s; }

Residency residency(const Settings& cfg, int threads_per_block, int64_t smem_per_block,
                    int regs_per_thread) {
  Residency r;
  const int threads = std::max(1, threads_per_block);
  r.blocks = cfg.max_blocks_per_sm;
  r.limit = "blocks";
  auto limit = [&](int64_t n, const char* why) {
    if (n < r.blocks) {
      r.blocks = int(n);
      r.limit = why;
    }
  };
  limit(cfg.max_threads_per_sm / threads, "threads");
  if (smem_per_block > 0)
    limit(cfg.smem_per_sm / (smem_per_block + cfg.smem_reserved_per_block), "shared memory");
  if (regs_per_thread > 0) {
    const int warps = (threads + 31) / 32;
    const int64_t per_warp = (int64_t(regs_per_thread) * 32 + 255) / 256 * 256;
    limit(cfg.regs_per_sm / (per_warp * warps), "registers");
  }
  r.blocks = std::max(1, r.blocks);  // a block that fits nowhere still runs (the launch fails)
  return r;
}
const Settings& settings() { return st().settings; }
const std::vector<LaunchProfile>& launches() { return st().launches; }
void clear() { st().launches.clear(); }

std::string symbolize(uintptr_t pc) { return site_of(pc); }

void set_runtime_range(int slot, const void* p, size_t bytes) {
  st().runtime_ranges[slot] = {reinterpret_cast<uintptr_t>(p), bytes};
}

void launch_begin(const void* kernel, dim3 grid, dim3 block) {
  State& s = st();
  LaunchState& L = s.launch;
  L = LaunchState();
  L.active = true;
  L.kernel = kernel;
  L.grid = grid;
  L.block = block;
  L.blocks = uint64_t(grid.x) * grid.y * grid.z;
  if (s.settings.counters) L.sample = choose_sample(grid, s.settings.sample_blocks);
  s.last_alloc = nullptr;
  s.last_shared = SIZE_MAX;
  // The kernel's own __shared__ arrays: those whose symbol is a local of the kernel function.
  const auto& arrays = shared_arrays();
  s.owned.clear();
  std::string k = kernel ? function_symbol(kernel) : std::string();
  if (!k.empty()) {
    if (k.rfind("void ", 0) == 0) k.erase(0, 5);
    k += "::";
    for (size_t i = 0; i < arrays.size(); ++i) {
      std::string n = arrays[i].name;
      if (n.rfind("void ", 0) == 0) n.erase(0, 5);
      if (n.rfind(k, 0) == 0) s.owned.push_back(i);
    }
  }
  if (s.shadow.size() != arrays.size()) s.shadow.resize(arrays.size());
  for (size_t i : s.owned)
    if (s.shadow[i].size() != arrays[i].size) s.shadow[i].assign(arrays[i].size, 0);
  s.race_reported = false;
  if (s.settings.racecheck) {
    if (s.race.size() != arrays.size()) s.race.resize(arrays.size());
    for (size_t i : s.owned)
      if (s.race[i].size() != arrays[i].size) s.race[i].assign(arrays[i].size, RaceCell{});
  }
}

bool want_block(uint64_t linear) {
  const LaunchState& L = st().launch;
  return L.sample.empty() || std::binary_search(L.sample.begin(), L.sample.end(), linear);
}

void block_begin(uint64_t linear, uint3 idx) {
  State& s = st();
  // Each block starts with poisoned shared memory (cpu_cuda.hpp): the runtime poisons the
  // tconv_cpu_shared section, this the template kernels' arrays that GCC keeps out of it.
  for (size_t i : s.owned)
    std::memset(reinterpret_cast<void*>(shared_arrays()[i].base), 0xFF, shared_arrays()[i].size);
  s.launch.current = linear;
  s.launch.current_idx = idx;
  ++s.launch.blocks_run;
  s.interval = ++s.next_interval;
  s.warp_interval.assign((size_t(s.launch.block.x) * s.launch.block.y * s.launch.block.z + 31) / 32, 0);
  for (auto& w : s.warp_interval) w = ++s.next_interval;
  if (s.next_interval > 0xF0000000u) {  // about to wrap: forget every earlier record
    for (auto& v : s.race) std::fill(v.begin(), v.end(), RaceCell{});
    s.next_interval = 0;
    s.interval = ++s.next_interval;
    for (auto& w : s.warp_interval) w = ++s.next_interval;
  }
  if (++s.epoch == 0) {  // wrapped: forget every earlier block's writes
    for (auto& v : s.shadow) std::fill(v.begin(), v.end(), 0);
    s.epoch = 1;
  }
}

void block_barrier() {
  State& s = st();
  s.interval = ++s.next_interval;
}

void warp_barrier(int warp) {
  State& s = st();
  if (size_t(warp) < s.warp_interval.size()) s.warp_interval[size_t(warp)] = ++s.next_interval;
}

void block_end() {
  State& s = st();
  if (s.settings.counters && s.launch.active) finish_block();
  s.launch.recs.clear();
  s.launch.seq.clear();
}

void count_mma() {
  if (st().settings.counters) st().launch.mma += 1;
}

void launch_end(bool failed) {
  State& s = st();
  LaunchState& L = s.launch;
  L.active = false;
  if (!s.settings.counters || failed) return;
  LaunchProfile out;
  out.kernel = L.kernel;
  out.kernel_name = function_name(L.kernel);
  out.kernel_symbol = function_symbol(L.kernel);
  out.grid = L.grid;
  out.block = L.block;
  out.blocks = int64_t(L.blocks);
  out.blocks_run = int64_t(L.blocks_run);
  out.scale = L.blocks_run ? double(L.blocks) / double(L.blocks_run) : 0.0;
  for (size_t i : L.shared_touched) out.static_smem += int64_t(shared_arrays()[i].size);
  out.mma = L.mma * out.scale;
  std::vector<uintptr_t> pcs;
  for (const auto& kv : L.sites) pcs.push_back(kv.first);
  symbolize_all(pcs);
  for (const auto& [pc, a] : L.sites) {
    SiteCounters c;
    Dl_info info{};
    c.pc = pc;
    if (dladdr(reinterpret_cast<void*>(pc), &info) && info.dli_fbase)
      c.pc = pc - reinterpret_cast<uintptr_t>(info.dli_fbase);
    c.where = symbol_cache()[pc];
    c.space = a.space;
    c.kind = a.kind;
    c.requests = a.requests * out.scale;
    c.lane_accesses = a.lanes * out.scale;
    c.bytes = a.bytes * out.scale;
    c.sectors = a.sectors * out.scale;
    c.ideal_sectors = a.ideal_sectors * out.scale;
    c.read_only = a.read_only;
    c.alloc = a.alloc;
    c.block_sectors = a.block_sectors * out.scale;
    c.wavefronts = a.wavefronts * out.scale;
    c.ideal_wavefronts = a.ideal_wavefronts * out.scale;
    out.sites.push_back(c);
  }
  std::sort(out.sites.begin(), out.sites.end(), [](const SiteCounters& a, const SiteCounters& b) {
    return a.where != b.where ? a.where < b.where : a.pc < b.pc;
  });
  out.regs_per_thread = kernel_registers(s.settings, L.kernel);
  const Residency res = residency(s.settings, int(L.block.x * L.block.y * L.block.z),
                                  out.static_smem, out.regs_per_thread);
  out.resident_blocks_per_sm = res.blocks;
  out.residency_limit = res.limit;
  // Buffers in increasing footprint, as many as fit in the L1 beside the resident blocks'
  // shared memory; a read-only site of a held buffer costs its distinct sectors per block.
  out.l1_bytes = double(std::max<int64_t>(
      0, s.settings.l1_smem_per_sm -
             int64_t(res.blocks) * (out.static_smem + s.settings.smem_reserved_per_block)));
  std::vector<std::pair<int64_t, int32_t>> by_size;
  for (const auto& [a, n] : L.read_only_sectors) by_size.push_back({n, a});
  std::sort(by_size.begin(), by_size.end());
  std::set<int32_t> held;
  for (const auto& [n, a] : by_size) {
    const double bytes = double(res.blocks) * double(n) * 32;
    out.l1_read_only_per_sm += bytes;
    if (out.l1_held_per_sm + bytes <= out.l1_bytes) {
      out.l1_held_per_sm += bytes;
      held.insert(a);
      out.l1_held.push_back(L.allocs[size_t(a)].name.empty() ? "?" : L.allocs[size_t(a)].name);
    }
  }
  out.l1_holds_read_only = !held.empty() && held.size() == by_size.size();
  for (SiteCounters& c : out.sites)
    c.l2_sectors = c.read_only && held.count(c.alloc) ? c.block_sectors : c.sectors;
  for (size_t a = 0; a < L.allocs.size(); ++a) {
    BufferTraffic bt;
    bt.name = L.allocs[a].name;
    bt.size = int64_t(L.allocs[a].size);
    bt.l2_read = L.l2_read[a] * out.scale;
    bt.l2_write = L.l2_write[a] * out.scale;
    out.buffers.push_back(bt);
  }
  if (s.settings.l2 && !L.footprints.empty()) run_l2_model(L, out);
  L.footprints.clear();
  s.launches.push_back(std::move(out));
}

namespace {

// Whether an earlier access `a` and the current one by thread t (warp w) are unordered: another
// thread, the same block interval and, for two lanes of one warp, the same warp interval too.
bool unordered(const Access& a, const ThreadState& t, uint32_t iv, uint32_t warp_iv) {
  if (a.block_iv != iv || a.thread == uint16_t(t.thread)) return false;
  return a.warp != uint16_t(t.warp) || a.warp_iv == warp_iv;
}

void report_race(const char* what, const Access& earlier, const char* earlier_kind, Kind kind,
                 uintptr_t pc, const SharedArray& a, size_t byte, uintptr_t addr) {
  State& s = st();
  if (s.race_reported) return;
  s.race_reported = true;
  const ThreadState& t = *detail::g_current;
  const int ew = earlier.warp, el = earlier.thread % 32;
  fail("racecheck: " + std::string(what) + " hazard on shared '" + a.name + "' byte " +
       std::to_string(byte) + " (address " + hex(addr) + "): " + kind_name(kind) + " at " +
       site_of(pc) + " by " + who() + " (warp " + std::to_string(t.warp) + ", lane " +
       std::to_string(t.lane) + ") after the " + earlier_kind + " at " + site_of(earlier.pc) +
       " by thread " + std::to_string(earlier.thread) + " (warp " + std::to_string(ew) +
       ", lane " + std::to_string(el) + ") with no " +
       (ew == t.warp ? "__syncwarp or __syncthreads" : "__syncthreads") + " between them");
}

void race_access(size_t arr, size_t offset, size_t size, Kind kind, uintptr_t pc,
                 const ThreadState& t) {
  State& s = st();
  if (kind == Kind::atomic) return;
  const SharedArray& a = shared_arrays()[arr];
  const uint32_t iv = s.interval;
  const uint32_t wiv = s.warp_interval[size_t(t.warp)];
  const Access me{pc, iv, wiv, uint16_t(t.thread), uint16_t(t.warp)};
  const uint32_t bit = 1u << (t.warp & 31);
  for (size_t i = 0; i < size; ++i) {
    RaceCell& c = s.race[arr][offset + i];
    const uintptr_t addr = a.base + offset + i;
    if (kind == Kind::load) {
      if (unordered(c.write, t, iv, wiv))
        report_race("read-after-write", c.write, "store", kind, pc, a, offset + i, addr);
      if (c.read_iv != iv) {
        c.read_iv = iv;
        c.read_warps = 0;
        c.first_read = me;
        c.other_read = Access{};
      } else if (c.first_read.warp != me.warp) {
        c.other_read = me;
      }
      c.read_warps |= bit;
      c.last_read = me;
    } else {
      if (unordered(c.write, t, iv, wiv))
        report_race("write-after-write", c.write, "store", kind, pc, a, offset + i, addr);
      if (c.read_iv == iv) {
        // Another warp's read in this interval: first_read, or other_read when first_read was
        // this warp's. A read by another lane of this warp in this warp interval: last_read.
        if ((c.read_warps & ~bit) != 0) {
          const Access& r = c.first_read.warp != me.warp ? c.first_read : c.other_read;
          report_race("write-after-read", r.block_iv ? r : c.first_read, "load", kind, pc, a,
                      offset + i, addr);
        } else if (unordered(c.last_read, t, iv, wiv)) {
          report_race("write-after-read", c.last_read, "load", kind, pc, a, offset + i, addr);
        }
        c.read_iv = 0;
      }
      c.write = me;
    }
  }
}

}  // namespace

void on_access(const void* p, size_t size, Kind kind, uintptr_t pc) {
  ThreadState* t = detail::g_current;
  // Only an instrumented binary sees every access; elsewhere (the atomics still report) none.
  if (!t || !t->in_kernel || size == 0 || !g_instrumented) return;
  // The profiler's own work is not the kernel's: the linker may have kept the instrumented copy
  // of an inline library function (std::string's, say) that the profiler calls too.
  t->in_kernel = false;
  struct Restore {
    ThreadState* t;
    ~Restore() { t->in_kernel = true; }
  } restore{t};
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  if (addr >= reinterpret_cast<uintptr_t>(t->stack_lo) && addr < reinterpret_cast<uintptr_t>(t->stack_hi))
    return;
  State& s = st();
  for (const auto& [lo, n] : s.runtime_ranges)
    if (addr >= lo && addr < lo + n) return;
  LaunchState& L = s.launch;
  Space space;
  int32_t alloc = -1;
  size_t arr = SIZE_MAX;
  for (size_t i : s.owned) {
    const SharedArray& a = shared_arrays()[i];
    if (addr >= a.base && addr < a.base + a.size) {
      arr = i;
      break;
    }
  }
  if (arr != SIZE_MAX) {
    space = Space::shared;
    const SharedArray& a = shared_arrays()[arr];
    if (addr + size > a.base + a.size) {
      if (s.settings.memcheck) report_shared(addr, size, kind, pc);
      return;
    }
    if (s.settings.counters) L.shared_touched.insert(arr);
    uint32_t* sh = s.shadow[arr].data() + (addr - a.base);
    if (kind != Kind::store && s.settings.memcheck) {
      for (size_t i = 0; i < size; ++i)
        if (sh[i] != s.epoch) {
          fail("memcheck: uninitialized shared " + std::string(kind_name(kind)) + " of " +
               std::to_string(size) + " bytes at " + site_of(pc) + ", " + who() +
               ": byte " + std::to_string(addr + i - a.base) + " of '" + a.name +
               "' was not written by any thread of the block since it started");
          break;
        }
    }
    if (kind != Kind::load)
      for (size_t i = 0; i < size; ++i) sh[i] = s.epoch;
    if (s.settings.racecheck) race_access(arr, addr - a.base, size, kind, pc, *t);
  } else if (__executable_start && addr >= reinterpret_cast<uintptr_t>(__executable_start) &&
             addr < reinterpret_cast<uintptr_t>(_end)) {
    // The binary's static data: another kernel's __shared__ array is an error (an overrun of
    // this kernel's), the rest is the runtime's own globals (see profiler.hpp).
    if (s.settings.memcheck && find_shared(addr, 1) != SIZE_MAX) report_shared(addr, size, kind, pc);
    return;
  } else {
    space = Space::global;
    const Alloc* a = find_alloc(addr, size);
    if (!a) {
      if (s.settings.memcheck) report_global(addr, size, kind, pc);
      return;
    }
    if (s.settings.counters) alloc = launch_alloc(*a);
  }
  if (!s.settings.counters) return;
  const uint64_t key = (uint64_t(pc) << 10) ^ uint64_t(t->thread);
  const uint32_t seq = L.seq[key]++;
  L.recs.push_back(Rec{pc, addr, seq, uint32_t(size), uint16_t(t->warp), uint8_t(t->lane), kind,
                       space, alloc, t->read_only && kind == Kind::load});
}

}  // namespace prof
}  // namespace cpu_cuda
