// The fuzz targets (fuzz/targets.hpp) on every seed of fuzz/corpus and every finding kept in
// fuzz/regressions, in the ordinary test run: an input that once crashed, hung or over-allocated
// stays a test. A broken contract aborts, which fails the test. Also the .npy refusals themselves:
// the headers that claimed gigabytes are refused with one line naming the file, the shape and the
// sizes, before anything is allocated.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/memory.hpp"
#include "core/npy.hpp"
#include "core/types.hpp"
#include "fuzz/targets.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(TCONV_SOURCE_DIR) / "fuzz";

std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs every file of fuzz/<kind>/<target> through the target; returns how many ran.
int run_folder(const std::string& kind, const tconv::fuzz::NamedTarget& t) {
  const fs::path dir = kFuzzDir / kind / t.name;
  if (!fs::is_directory(dir)) return 0;
  int ran = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = file_bytes(e.path());
    SCOPED_TRACE(e.path().string());
    t.fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++ran;
  }
  return ran;
}

// Restores TCONV_HOST_MEMORY_BYTES at the end of a test.
class HostMemoryCap {
 public:
  explicit HostMemoryCap(const char* bytes) {
    if (const char* old = std::getenv("TCONV_HOST_MEMORY_BYTES")) saved_ = old, had_ = true;
    setenv("TCONV_HOST_MEMORY_BYTES", bytes, 1);
  }
  ~HostMemoryCap() {
    if (had_) setenv("TCONV_HOST_MEMORY_BYTES", saved_.c_str(), 1);
    else unsetenv("TCONV_HOST_MEMORY_BYTES");
  }

 private:
  std::string saved_;
  bool had_ = false;
};

std::string npy_error(const std::string& bytes, const std::string& name) {
  try {
    tconv::read_npy_bytes(bytes, name);
  } catch (const tconv::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FuzzRegressions, EveryTargetHasASeedCorpusAndNoFolderIsUnknown) {
  std::set<std::string> names;
  for (const auto& t : tconv::fuzz::targets()) {
    names.insert(t.name);
    EXPECT_TRUE(fs::is_directory(kFuzzDir / "corpus" / t.name)) << t.name << " has no seed corpus";
  }
  for (const char* kind : {"corpus", "regressions"})
    for (const auto& e : fs::directory_iterator(kFuzzDir / kind))
      EXPECT_TRUE(names.count(e.path().filename().string()))
          << e.path() << " names no target of fuzz/targets.cpp";
}

TEST(FuzzRegressions, SeedsAndFindingsRunCleanThroughTheTargets) {
  int seeds = 0, findings = 0;
  for (const auto& t : tconv::fuzz::targets()) {
    const int n = run_folder("corpus", t);
    EXPECT_GE(n, 2) << t.name << ": a seed corpus of at least two inputs";
    seeds += n;
    findings += run_folder("regressions", t);
  }
  EXPECT_GT(seeds, 0);
  EXPECT_GE(findings, 4);  // the .npy headers of the issue and the fuzzer's first finding at least
}

TEST(FuzzRegressions, NpyHeadersClaimingGigabytesAreRefusedByName) {
  // Shapes (100000000, 8), (2000000000, 8) and (1, 16, 65536, 65536) with 64 bytes of data.
  for (const char* name : {"issue_shape_1e8x8_64_bytes", "issue_shape_2e9x8",
                           "issue_shape_1x16x65536x65536", "size_overflow_from_fuzzer"}) {
    const fs::path p = kFuzzDir / "regressions" / "npy" / name;
    std::string why;
    try {
      tconv::read_npy(p.string());
    } catch (const tconv::Error& e) {
      why = e.what();
    }
    SCOPED_TRACE(why);
    EXPECT_EQ(why.rfind(p.string() + ": ", 0), 0u) << "names the file first";
    EXPECT_NE(why.find("the header's shape ("), std::string::npos);
    EXPECT_NE(why.find("data shorter than the shape says"), std::string::npos);
    EXPECT_EQ(why.find('\n'), std::string::npos) << "one line";
  }
  const std::string why =
      npy_error(file_bytes(kFuzzDir / "regressions" / "npy" / "issue_shape_1e8x8_64_bytes"), "x.npy");
  EXPECT_NE(why.find("(100000000, 8) needs 3200000000 bytes of float32 data, the file holds 64"),
            std::string::npos)
      << why;
}

TEST(FuzzRegressions, NpyArrayLargerThanHostMemoryIsRefusedBeforeReading) {
  // A consistent file (header and data agree) whose array, held as double, is over the cap.
  const std::string bytes = file_bytes(kFuzzDir / "corpus" / "npy" / "f4_4d");  // 16 float32
  {
    HostMemoryCap cap("100");  // 16 doubles = 128 bytes
    const std::string why = npy_error(bytes, "big.npy");
    EXPECT_EQ(why.rfind("big.npy: the array (1, 1, 4, 4) needs 128 B of host memory", 0), 0u) << why;
  }
  HostMemoryCap cap("128");
  EXPECT_EQ(npy_error(bytes, "fits.npy"), "");
}

TEST(FuzzRegressions, NpyTrailingAndShortDataAreTold) {
  const std::string good = file_bytes(kFuzzDir / "corpus" / "npy" / "f4_4d");
  EXPECT_NE(npy_error(good + "xxxx", "t.npy").find("trailing bytes"), std::string::npos);
  EXPECT_NE(npy_error(good.substr(0, good.size() - 4), "s.npy").find("data shorter"), std::string::npos);
  // A header length past the end of the file.
  std::string cut = good.substr(0, 20);
  EXPECT_NE(npy_error(cut, "h.npy").find("truncated npy header"), std::string::npos);
}

TEST(FuzzRegressions, TextFilesThatAreNotRegularFilesAreRefused) {
  EXPECT_THROW(tconv::read_file_text("/dev/zero", "shapes file"), tconv::Error);
  EXPECT_THROW(tconv::read_file_text(TCONV_SOURCE_DIR, "shapes file"), tconv::Error);
  EXPECT_THROW(tconv::read_file_text("/no/such/file.csv", "shapes file"), tconv::Error);
  HostMemoryCap cap("10");
  try {
    tconv::read_file_text((kFuzzDir / "corpus" / "shapes_csv" / "mixed").string(), "shapes file");
    ADD_FAILURE() << "a file over the host-memory cap was read";
  } catch (const tconv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shapes file needs"), std::string::npos) << e.what();
  }
}
