#include "cpu_cuda/profile/kernel_resources.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tconv::profile {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  const size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string gpu_symbol(const std::string& cpu_symbol) {
  return replace_all(cpu_symbol, "::cpu_run::", "::gpu_run::");
}

std::string read_generated(const char* path, std::string* why) {
  if (!path) {
    *why = "built without it";
    return "";
  }
  std::ifstream f(path);
  if (!f) {
    *why = std::string("cannot read ") + path;
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int KernelResources::of_cpu_symbol(const std::string& cpu_symbol) const {
  const auto it = regs.find(gpu_symbol(cpu_symbol));
  return it == regs.end() ? 0 : it->second;
}

KernelResources parse_kernel_resources(const std::string& text) {
  KernelResources r;
  std::istringstream in(text);
  std::string line, arch, function;
  std::string first_comment;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.rfind("#", 0) == 0 && first_comment.empty()) first_comment = trim(t.substr(1));
    if (t.rfind("arch = ", 0) == 0) {
      arch = t.substr(7);
    } else if (t.rfind("Function ", 0) == 0 && t.back() == ':') {
      function = t.substr(9, t.size() - 10);
    } else if (t.rfind("REG:", 0) == 0 && !function.empty()) {
      if (arch == "sm_90" || arch == "sm_90a") r.regs[function] = std::atoi(t.c_str() + 4);
      function.clear();
    }
  }
  if (r.regs.empty())
    r.unavailable = first_comment.rfind("unavailable: ", 0) == 0
                        ? first_comment.substr(13)
                        : "the resource dump holds no sm_90 machine code";
  return r;
}

const KernelResources& build_kernel_resources() {
#ifdef TCONV_KERNEL_RESOURCES
  static const char* const path = TCONV_KERNEL_RESOURCES;
#else
  static const char* const path = nullptr;
#endif
  static const KernelResources r = [] {
    std::string why;
    const std::string text = read_generated(path, &why);
    if (!why.empty()) {
      KernelResources none;
      none.unavailable = path ? why : "built without the kernel resource dump";
      return none;
    }
    return parse_kernel_resources(text);
  }();
  return r;
}

}  // namespace tconv::profile
