// The fuzz targets: one function per reader of outside input, each taking the fuzzer's bytes.
// The contract each one checks: bad input ends in tconv::Error (one line for the user), never in
// another exception, a crash, a sanitizer report or an allocation the input's size does not
// justify; where a reader has an inverse (format_shape_spec, csv_line) the round trip must give
// back what was read. A broken contract aborts (libFuzzer reports it, the regression test fails).
//
// Compiled twice: into the libFuzzer binaries of fuzz/CMakeLists.txt (clang,
// -fsanitize=fuzzer,address,undefined; scripts/fuzz.sh) and into tconv_tests, whose
// FuzzRegressions tests run every seed and every saved finding through the same functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tconv::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);

int npy(const uint8_t* data, size_t size);            // core/npy.hpp: read_npy from bytes
int shape_spec(const uint8_t* data, size_t size);     // bench/shapes.hpp: --shape
int shapes_csv(const uint8_t* data, size_t size);     // bench/shapes.hpp: --shapes-file
int results_csv(const uint8_t* data, size_t size);    // bench/csv.hpp: --resume's reader
int bench_options(const uint8_t* data, size_t size);  // bench/options.hpp: tconv_bench's argv
int tconv_args(const uint8_t* data, size_t size);     // cli/: tconv run's and explain's argv

struct NamedTarget {
  const char* name;  // the folder under fuzz/corpus and fuzz/regressions, the binary fuzz_<name>
  Target fn;
};
const std::vector<NamedTarget>& targets();

// Words of an argv from fuzzer bytes: split at '\n' (seeds stay readable text files).
std::vector<std::string> split_args(const uint8_t* data, size_t size);

}  // namespace tconv::fuzz
