// One run split across processes (tconv_bench --shard I/N): every process builds the same row
// list from the same arguments and keeps the rows assigned to shard I. The assignment depends
// only on the rows and their estimated work, so N processes on N GPUs (or N Slurm array tasks)
// run disjoint shares that together are exactly the unsharded run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "core/types.hpp"

namespace tconv {

struct ShardSpec {
  int64_t index = 0;  // 0 <= index < count
  int64_t count = 1;
};

// "I/N" with 0 <= I < N (as CUDA device numbers and Slurm array task ids count). Throws Error.
ShardSpec parse_shard(const std::string& text);

// Weight of a byte against a FLOP: about the FLOP/byte ratio of a current data-centre GPU
// (fp32 math rate over memory bandwidth), so that a memory-bound row is not counted as free.
constexpr double kWorkPerByte = 20.0;
// What a row costs besides its arithmetic (allocation, prepare, the reference check, the L2
// flushes between repetitions), in FLOP-equivalents; a refused row costs a can_implement call.
constexpr double kWorkPerRunnableRow = 1e8;
constexpr double kWorkPerRefusedRow = 1e5;

// Estimated work of one row, in FLOP-equivalents: useful FLOPs + kWorkPerByte * minimum bytes
// + kWorkPerRunnableRow when can_implement accepts it; kWorkPerRefusedRow when it does not.
double estimated_row_work(const Problem& p, DType dtype, bool runnable);

// The shard of every row: the rows by decreasing work (ties: earlier row first), each to the
// shard with the least work so far (ties: the lower shard), i.e. longest-processing-time-first
// scheduling, whose largest shard is at most the mean plus the largest single row.
std::vector<int64_t> assign_shards(const std::vector<double>& work, int64_t count);

}  // namespace tconv
