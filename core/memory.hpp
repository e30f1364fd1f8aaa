// Host memory: how much a process may still take, and the check that every reader and command
// makes before it sizes a buffer from its input (a header, a shape, a problem), so that bad
// input is refused with its sizes instead of being attempted (std::bad_alloc, or the kernel's
// OOM killer on an over-committing host).
#pragma once

#include <cstdint>
#include <string>

namespace tconv {

// "12.3 GiB", "4.0 MiB", "512 B".
std::string format_bytes(double bytes);

// Bytes this process may still allocate: the smaller of the kernel's MemAvailable
// (/proc/meminfo) and what the cgroup's memory.max leaves, if either is readable. The variable
// TCONV_HOST_MEMORY_BYTES, when set to a positive integer, caps it (to keep a run on a shared
// node within a share, and for the tests of the refusals).
uint64_t host_memory_available();

// Throws tconv::Error("<what> needs <N> of host memory, <M> is available") when `bytes` is more
// than host_memory_available(). `bytes` is a double so that callers can pass products that would
// overflow an integer.
void require_host_memory(double bytes, const std::string& what);

}  // namespace tconv
