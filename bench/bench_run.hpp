// tconv_bench's rows at run time: the state every row shares, and one row's body (verify against
// the fp64 reference, then time it in Google Benchmark's loop, then its CSV line).
#pragma once

#include <memory>
#include <vector>

#include "bench/csv.hpp"
#include "bench/harness.hpp"
#include "bench/options.hpp"
#include "bench/plan.hpp"
#include "bench/power.hpp"

namespace tconv {

// tconv_bench's exit codes beyond 0 (done) and 1 (bad arguments or input).
constexpr int kExitNoGpu = 2;        // no usable GPU: nothing ran
constexpr int kExitBroken = 3;       // the GPU or its libraries are unusable
constexpr int kExitDeviceFault = 4;  // a sticky device fault: rerun with --resume

// Everything the benchmark bodies share. One instance, alive for the whole run.
struct Bench {
  Options opt;
  std::vector<RowSpec> rows;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<ReferenceCache> refs;
  std::unique_ptr<L2Flusher> flusher;
  std::unique_ptr<CsvWriter> csv;
  std::unique_ptr<PowerSampler> power;  // clocks and power while timing (NVML), or why not
};

// One Google Benchmark per row of b.rows, with manual (CUDA event) time and opt.reps iterations.
void register_rows(Bench& b);

}  // namespace tconv
