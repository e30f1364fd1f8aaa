#include "core/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "core/types.hpp"

namespace tconv {

std::string format_bytes(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else if (bytes >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

// MemAvailable of /proc/meminfo in bytes (the kernel's estimate of what can be allocated without
// swapping), or sysconf's free pages where /proc is not there.
uint64_t meminfo_available() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib) {
    std::getline(f, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : kUnknown;
}

uint64_t read_number(const char* path) {
  std::ifstream f(path);
  std::string text;
  if (!(f >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return kUnknown;  // missing, or "max"
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return kUnknown;
  }
}

// What the cgroup (v2) of this process still allows: memory.max - memory.current.
uint64_t cgroup_available() {
  const uint64_t max = read_number("/sys/fs/cgroup/memory.max");
  const uint64_t cur = read_number("/sys/fs/cgroup/memory.current");
  if (max == kUnknown || cur == kUnknown) return kUnknown;
  return max > cur ? max - cur : 0;
}

}  // namespace

uint64_t host_memory_available() {
  uint64_t avail = std::min(meminfo_available(), cgroup_available());
  if (const char* cap = std::getenv("TCONV_HOST_MEMORY_BYTES"); cap && *cap) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(cap, &end, 10);
    if (*end != '\0' || v == 0)
      throw Error(std::string("TCONV_HOST_MEMORY_BYTES='") + cap + "': expected a positive integer");
    avail = std::min<uint64_t>(avail, v);
  }
  return avail;
}

void require_host_memory(double bytes, const std::string& what) {
  const uint64_t avail = host_memory_available();
  if (avail != kUnknown && bytes > double(avail))
    throw Error(what + " needs " + format_bytes(bytes) + " of host memory, " +
                format_bytes(double(avail)) + " is available");
}

}  // namespace tconv
