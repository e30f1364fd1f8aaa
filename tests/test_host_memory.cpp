// Host memory is checked before a buffer is sized from outside input or a problem
// (core/memory.hpp): the harness's fp64 reference of a problem too large for this host is a
// skipped row with its sizes, never an allocation that fails (or that the OOM killer ends).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "bench/harness.hpp"
#include "core/memory.hpp"

namespace tconv {
namespace {

class HostMemoryCapEnv {
 public:
  explicit HostMemoryCapEnv(const char* bytes) { setenv("TCONV_HOST_MEMORY_BYTES", bytes, 1); }
  ~HostMemoryCapEnv() { unsetenv("TCONV_HOST_MEMORY_BYTES"); }
};

Problem small_problem() {
  Problem p;
  p.n = 1, p.c_in = 4, p.h_in = 8, p.w_in = 8, p.c_out = 4, p.k_h = p.k_w = 3;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
  return p;
}

TEST(HostMemory, ReferenceTooLargeForTheHostIsASkippedRowWithItsSizes) {
  const Problem p = small_problem();
  ASSERT_EQ(p.validate(), "");
  Context host(Context::HostOnly{});
  {
    HostMemoryCapEnv cap("1000");
    ReferenceCache refs(1);
    try {
      refs.get(host, p, DType::fp32);
      ADD_FAILURE() << "the reference was computed over the host-memory cap";
    } catch (const Skipped& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind("the fp64 reference and the row's output need ", 0), 0u) << what;
      EXPECT_NE(what.find("of host memory, 1000 B is available"), std::string::npos) << what;
    }
  }
  ReferenceCache refs(1);
  EXPECT_EQ(refs.get(host, p, DType::fp32).y.size(), size_t(p.y_elems()));
}

TEST(HostMemory, CapMustBeAPositiveInteger) {
  HostMemoryCapEnv cap("lots");
  EXPECT_THROW(host_memory_available(), Error);
}

TEST(HostMemory, FormatBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(3.5 * 1024 * 1024), "3.5 MiB");
  EXPECT_EQ(format_bytes(2.0 * 1024 * 1024 * 1024), "2.00 GiB");
}

}  // namespace
}  // namespace tconv
