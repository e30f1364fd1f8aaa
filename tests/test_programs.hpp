// Running the built programs (tconv, tconv_bench) from GoogleTest as a user would: exit code,
// stdout and stderr. Shared by the CLI, 1-D and no-GPU tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tconv::testing {

struct ProgramRun {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A path prefix unique to the running test: CTest runs tests in parallel processes, and two
// tests (or two build folders' copies of one test) must never share a temporary file.
inline std::string test_temp_prefix(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "tconv_" + tag + "_" + info->test_suite_name() + "_" +
         info->name() + "_" + std::to_string(::getpid()) + "_";
}

inline bool program_built(const std::string& name) {
  return std::ifstream(std::string(TCONV_BINARY_DIR) + "/" + name).good();
}

// TCONV_BINARY_DIR/<name> <args>, its output captured in files (the shell does the redirection
// so that the program sees ordinary files, as a user's would).
inline ProgramRun run_program(const std::string& name, const std::string& args,
                              const std::string& tag = "run") {
  const std::string out = test_temp_prefix(tag) + "stdout.txt";
  const std::string err = test_temp_prefix(tag) + "stderr.txt";
  const std::string cmd =
      std::string(TCONV_BINARY_DIR) + "/" + name + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace tconv::testing
