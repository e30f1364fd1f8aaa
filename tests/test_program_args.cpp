// The argument parsing of both programs (CLI11) as a user meets it: the mistakes a parser switch
// could change (an option given twice, a missing value, a forgotten value, a misspelt Google
// Benchmark flag) are still one line on stderr and exit status 1; repeatable options, comma
// lists, --help and the Google Benchmark pass-through still work.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "test_programs.hpp"

namespace tconv {
namespace {

using testing::ProgramRun;

ProgramRun bench(const std::string& args) { return testing::run_program("tconv_bench", args, "args"); }
ProgramRun tconv(const std::string& args) { return testing::run_program("tconv", args, "args"); }

int lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

// The number N of "total: N rows" in a text dry run.
long dry_run_rows(const ProgramRun& r) {
  const size_t at = r.out.rfind("total: ");
  return at == std::string::npos ? -1 : std::stol(r.out.substr(at + 7));
}

void expect_one_line_error(const ProgramRun& r, const std::string& what, const std::string& needle,
                           const std::string& prefix) {
  EXPECT_EQ(r.code, 1) << what << ": " << r.err;
  EXPECT_EQ(lines(r.err), 1) << what << ": " << r.err;
  EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << what << ": " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << what << ": " << r.err;
  EXPECT_EQ(r.err.find("terminate"), std::string::npos) << what << ": " << r.err;
}

#define REQUIRE_BENCH() \
  if (!testing::program_built("tconv_bench")) GTEST_SKIP() << "tconv_bench not built (no Google Benchmark)"

TEST(BenchArgs, MistakesAreOneLineAndExitOne) {
  REQUIRE_BENCH();
  const struct {
    const char* what;
    const char* args;
    const char* needle;
  } cases[] = {
      {"one-value option given twice", "--dry-run --csv a.csv --csv b.csv", "--csv"},
      {"--reps twice", "--dry-run --reps 3 --reps 4", "--reps"},
      {"missing value at the end", "--dry-run --csv", "--csv"},
      {"forgotten value (the next option taken as it)", "--csv --dry-run", "--csv"},
      {"misspelt Google Benchmark flag", "--dry-run --benchmark_filterx=gather", "--benchmark_filterx"},
      {"Google Benchmark flag with a dash", "--dry-run --benchmark-filter=gather", "--benchmark-filter"},
      {"Google Benchmark flag with a separate value", "--dry-run --benchmark_filter gather",
       "--benchmark_filter=gather"},
      {"Google Benchmark repetitions", "--dry-run --benchmark_repetitions=3", "--reps"},
      {"unknown option", "--dry-run --frobnicate 3", "--frobnicate"},
      {"stray word", "--dry-run smoke", "smoke"},
      {"bad list item", "--dry-run --dtype fp32,fp8", "fp8"},
      {"--format not text or csv", "--dry-run --format xml", "--format"},
      {"--shard I = N", "--dry-run --shard 4/4", "--shard"},
      {"--shard N = 0", "--dry-run --shard 0/0", "--shard"},
      {"--shard not I/N", "--dry-run --shard 2", "--shard"},
      {"--shard negative", "--dry-run --shard -1/4", "--shard"},
  };
  for (const auto& c : cases) expect_one_line_error(bench(c.args), c.what, c.needle, "tconv_bench: ");
}

TEST(BenchArgs, RepeatableOptionsAndCommaListsAddUp) {
  REQUIRE_BENCH();
  const long smoke = dry_run_rows(bench("--dry-run --suite smoke --impl gather"));
  const long dcgan = dry_run_rows(bench("--dry-run --suite dcgan --impl gather"));
  ASSERT_GT(smoke, 0);
  ASSERT_GT(dcgan, 0);
  EXPECT_EQ(dry_run_rows(bench("--dry-run --suite smoke --suite dcgan --impl gather")), smoke + dcgan);
  EXPECT_EQ(dry_run_rows(bench("--dry-run --suite smoke --impl gather --impl scatter")), 2 * smoke);
  // A comma list, a second occurrence and the = form all add dtypes; duplicates count once.
  EXPECT_EQ(dry_run_rows(bench("--dry-run --suite smoke --impl gather --dtype fp32,fp16 --dtype=bf16 "
                               "--dtype fp16")),
            3 * smoke);
  EXPECT_EQ(dry_run_rows(bench("--dry-run --suite smoke --impl gather --dtype all --layout all")), 8 * smoke);
}

TEST(BenchArgs, HelpAndGoogleBenchmarkPassThrough) {
  REQUIRE_BENCH();
  const ProgramRun help = bench("--help");
  EXPECT_EQ(help.code, 0) << help.err;
  for (const char* part : {"--suite", "--shard I/N", "--dry-run", "--benchmark_", "Exit status"})
    EXPECT_NE(help.out.find(part), std::string::npos) << part << "\n" << help.out;
  // Google Benchmark's own flags reach it: the filter selects benchmarks by name, no GPU needed.
  const ProgramRun list = bench("--suite smoke --impl gather --benchmark_filter=gather/fp32 "
                                "--benchmark_list_tests");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_GT(lines(list.out), 0);
  EXPECT_NE(list.out.find("/gather/fp32/nchw"), std::string::npos) << list.out;
  const ProgramRun none = bench("--suite smoke --impl gather --benchmark_filter=no_such_row "
                                "--benchmark_list_tests");
  EXPECT_EQ(none.out.find("/gather/"), std::string::npos) << none.out;
}

TEST(TconvArgs, MistakesAreOneLineAndExitOne) {
  const struct {
    const char* what;
    const char* args;
    const char* needle;
  } cases[] = {
      {"option given twice", "run --impl ref_direct --stride 2 --stride 3 --input x.npy --weight w.npy --output y.npy",
       "--stride given twice"},
      {"missing value at the end", "run --impl ref_direct --input x.npy --weight w.npy --output", "--output"},
      {"forgotten value", "run --impl ref_direct --input --weight w.npy --output y.npy", "--input"},
      {"unknown option", "explain --frobnicate", "--frobnicate"},
      {"stray word", "explain 4", "'4'"},
      {"explain option twice", "explain --size 4 --size 5", "--size given twice"},
  };
  for (const auto& c : cases) expect_one_line_error(tconv(c.args), c.what, c.needle, "tconv: error: ");
}

TEST(TconvArgs, HelpForEveryCommand) {
  const ProgramRun top = tconv("--help");
  EXPECT_EQ(top.code, 0) << top.err;
  EXPECT_NE(top.out.find("usage: tconv"), std::string::npos) << top.out;
  // Each command's help lists exactly the options it takes.
  const ProgramRun run = tconv("run --help");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("tconv run"), std::string::npos) << run.out;
  for (const char* opt : {"--impl NAME", "--input x.npy", "--weight w.npy", "--output-padding", "--groups G"})
    EXPECT_NE(run.out.find(opt), std::string::npos) << opt << "\n" << run.out;
  EXPECT_EQ(run.out.find("--dump-c"), std::string::npos) << run.out;
  const ProgramRun explain = tconv("explain -h");
  EXPECT_EQ(explain.code, 0) << explain.err;
  for (const char* opt : {"--size", "--kernel", "--random", "--dump-c FILE"})
    EXPECT_NE(explain.out.find(opt), std::string::npos) << opt << "\n" << explain.out;
  EXPECT_EQ(explain.out.find("--weight"), std::string::npos) << explain.out;
  const ProgramRun eq = tconv("explain --size=5,4 --kernel=3");
  EXPECT_EQ(eq.code, 0) << eq.err;
}

}  // namespace
}  // namespace tconv
