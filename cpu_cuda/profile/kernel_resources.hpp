// Registers per thread of our kernels' GPU machine code, as the build made it: the demangled
// output of `cuobjdump --dump-resource-usage` on libtconv_kernels (cmake/kernel_resources.cmake
// writes it after every build of the kernels). The CPU profiler's occupancy takes a kernel's
// registers from here, by the name of its CPU build: the same template in the CPU runtime's
// namespace (cpu_run) instead of the GPU build's (gpu_run).
#pragma once

#include <map>
#include <string>

namespace tconv::profile {

struct KernelResources {
  std::string arch = "sm_90";       // the machine code read (sm_90 and sm_90a)
  std::string unavailable;          // why there are no counts, or ""
  std::map<std::string, int> regs;  // demangled GPU symbol -> registers per thread
  // Registers of the kernel whose CPU build has this demangled symbol; 0 when not found.
  int of_cpu_symbol(const std::string& cpu_symbol) const;
};

// The GPU build's symbol of a kernel whose CPU build has this demangled symbol: the runtime's
// namespace cpu_run read as the GPU build's gpu_run.
std::string gpu_symbol(const std::string& cpu_symbol);
// A text file the build generated, whole; "" with *why set where it cannot be read, or where the
// binary was built without it (path null).
std::string read_generated(const char* path, std::string* why);
// Spaces and tabs at both ends removed.
std::string trim(const std::string& s);

// Parses the demangled cuobjdump text: "arch = sm_90" sections, "Function NAME:" lines followed
// by "REG:N ..." lines. A text that holds no sm_90 function is unavailable, saying so.
KernelResources parse_kernel_resources(const std::string& text);
// The build's file (TCONV_KERNEL_RESOURCES), read once.
const KernelResources& build_kernel_resources();

}  // namespace tconv::profile
