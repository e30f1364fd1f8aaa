#include "bench/shard.hpp"

#include <algorithm>
#include <numeric>
#include <queue>
#include <utility>
#include <vector>

namespace tconv {

namespace {
constexpr int64_t kMaxShards = 4096;

bool parse_count(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  out = std::stoll(s);
  return true;
}
}  // namespace

ShardSpec parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  ShardSpec s;
  if (slash == std::string::npos || !parse_count(text.substr(0, slash), s.index) ||
      !parse_count(text.substr(slash + 1), s.count))
    throw Error("--shard " + text + ": expected I/N, e.g. 0/4 (shard I of N, counting from 0)");
  if (s.count < 1 || s.count > kMaxShards)
    throw Error("--shard " + text + ": N must be between 1 and " + std::to_string(kMaxShards));
  if (s.index >= s.count)
    throw Error("--shard " + text + ": I must be between 0 and N-1 = " + std::to_string(s.count - 1));
  return s;
}

double estimated_row_work(const Problem& p, DType dtype, bool runnable) {
  if (!runnable) return kWorkPerRefusedRow;
  return p.flops() + kWorkPerByte * p.min_bytes(double(storage_bytes(dtype))) + kWorkPerRunnableRow;
}

std::vector<int64_t> assign_shards(const std::vector<double>& work, int64_t count) {
  std::vector<int64_t> shard(work.size(), 0);
  if (count <= 1) return shard;
  std::vector<size_t> order(work.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return work[a] > work[b]; });
  // Min-heap of (load, shard): the least-loaded shard on top, the lower index on ties.
  using Slot = std::pair<double, int64_t>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> slots;
  for (int64_t i = 0; i < count; ++i) slots.push({0.0, i});
  for (size_t r : order) {
    Slot s = slots.top();
    slots.pop();
    shard[r] = s.second;
    s.first += work[r];
    slots.push(s);
  }
  return shard;
}

}  // namespace tconv
