// The fiber scheduler of the CPU runtime (see cpu_cuda.hpp). ucontext fibers: one per thread of
// the running block, stacks reused from block to block.
#include "cpu_cuda/cpu_cuda.hpp"

#include "cpu_cuda/profiler.hpp"

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TCONV_CPU_CUDA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCONV_CPU_CUDA_ASAN 1
#endif
#endif
#if defined(TCONV_CPU_CUDA_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

// The bounds of the section that holds every __shared__ array (weak: a binary without kernels
// has none).
extern "C" char __start_tconv_cpu_shared[] __attribute__((weak));
extern "C" char __stop_tconv_cpu_shared[] __attribute__((weak));

namespace cpu_cuda {
namespace detail {
ThreadState* g_current = nullptr;
}  // namespace detail

namespace {

// ASan's stack frames are several times larger; 256 KiB is far above what a kernel thread uses.
constexpr size_t kStackBytes = size_t(256) << 10;
constexpr size_t kMaxStaticShared = size_t(48) << 10;
constexpr size_t kWarpScratchBytes = 16384;  // zeroed when a block starts
// The fiber's ThreadState sits at the bottom of its stack mapping, below the usable stack.
constexpr size_t kStateBytes = 256;
static_assert(sizeof(ThreadState) <= kStateBytes, "ThreadState must fit below the stack");

enum class Wait { none, block, warp, done };

struct Fiber {
  ucontext_t ctx;
  char* stack = nullptr;
  ThreadState* state = nullptr;  // at stack[0]
  Wait wait = Wait::none;
  void* fake_stack = nullptr;
};

Schedule initial_schedule() {
  const char* v = std::getenv("TCONV_CPU_SCHEDULE");
  if (!v || !*v) return Schedule::random;
  for (Schedule s : {Schedule::random, Schedule::warp_ahead, Schedule::reverse_warps})
    if (std::strcmp(v, to_string(s)) == 0) return s;
  std::fprintf(stderr, "cpu_cuda: TCONV_CPU_SCHEDULE='%s': expected random, warp_ahead or reverse_warps\n", v);
  std::exit(2);
}

struct Scheduler {
  std::vector<Fiber> fibers;
  ucontext_t main_ctx;
  const void* main_bottom = nullptr;
  size_t main_size = 0;
  void* main_fake = nullptr;
  Fiber* running = nullptr;
  const std::function<void()>* body = nullptr;
  std::vector<int> runnable;
  int live = 0, block_arrived = 0;
  std::vector<int> warp_live, warp_arrived;
  std::vector<unsigned char> warp_scratch;  // kWarpScratchBytes per warp, one range
  std::mt19937_64 rng{1};
  Schedule schedule = initial_schedule();
  std::string failure;
  LaunchRecord record;
};

Scheduler& sched() {
  static Scheduler s;
  return s;
}

void switch_to_main(Fiber& f, bool exiting) {
  Scheduler& s = sched();
#if defined(TCONV_CPU_CUDA_ASAN)
  __sanitizer_start_switch_fiber(exiting ? nullptr : &f.fake_stack, s.main_bottom, s.main_size);
#else
  (void)exiting;
#endif
  swapcontext(&f.ctx, &s.main_ctx);
#if defined(TCONV_CPU_CUDA_ASAN)
  __sanitizer_finish_switch_fiber(f.fake_stack, &s.main_bottom, &s.main_size);
#endif
}

void fiber_entry() {
  Scheduler& s = sched();
#if defined(TCONV_CPU_CUDA_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &s.main_bottom, &s.main_size);
#endif
  Fiber& f = *s.running;
  (*s.body)();
  f.state->in_kernel = false;
  f.wait = Wait::done;
  switch_to_main(f, true);
}

void run_fiber(Fiber& f) {
  Scheduler& s = sched();
  s.running = &f;
  detail::g_current = f.state;
#if defined(TCONV_CPU_CUDA_ASAN)
  __sanitizer_start_switch_fiber(&s.main_fake, f.stack + kStateBytes, kStackBytes - kStateBytes);
#endif
  swapcontext(&s.main_ctx, &f.ctx);
#if defined(TCONV_CPU_CUDA_ASAN)
  __sanitizer_finish_switch_fiber(s.main_fake, nullptr, nullptr);
#endif
  detail::g_current = nullptr;
  s.running = nullptr;
}

int warp_of(const Fiber& f) { return f.state->warp; }

// Releases the block barrier or a warp barrier once every live participant has arrived.
void release_ready(int warp) {
  Scheduler& s = sched();
  if (s.block_arrived > 0 && s.block_arrived == s.live) {
    for (size_t i = 0; i < s.fibers.size(); ++i)
      if (s.fibers[i].wait == Wait::block) {
        s.fibers[i].wait = Wait::none;
        s.runnable.push_back(int(i));
      }
    s.block_arrived = 0;
    prof::block_barrier();
  }
  if (warp >= 0 && s.warp_arrived[warp] > 0 && s.warp_arrived[warp] == s.warp_live[warp]) {
    prof::warp_barrier(warp);
    for (size_t i = 0; i < s.fibers.size(); ++i)
      if (s.fibers[i].wait == Wait::warp && warp_of(s.fibers[i]) == warp) {
        s.fibers[i].wait = Wait::none;
        s.runnable.push_back(int(i));
      }
    s.warp_arrived[warp] = 0;
  }
}

// The index in s.runnable of the fiber to run next, by the schedule (cpu_cuda.hpp).
size_t next_pick() {
  Scheduler& s = sched();
  const size_t n = s.runnable.size();
  if (s.schedule == Schedule::random) return std::uniform_int_distribution<size_t>(0, n - 1)(s.rng);
  const bool ahead = s.schedule == Schedule::warp_ahead;
  int best = -1;
  size_t count = 0;
  for (size_t k = 0; k < n; ++k) {
    const int w = warp_of(s.fibers[size_t(s.runnable[k])]);
    if (best < 0 || (ahead ? w < best : w > best)) best = w, count = 0;
    if (w == best) ++count;
  }
  size_t nth = std::uniform_int_distribution<size_t>(0, count - 1)(s.rng);
  for (size_t k = 0; k < n; ++k)
    if (warp_of(s.fibers[size_t(s.runnable[k])]) == best && nth-- == 0) return k;
  return 0;  // not reached
}

void run_block(size_t nthreads) {
  Scheduler& s = sched();
  if (__start_tconv_cpu_shared && __stop_tconv_cpu_shared)
    std::memset(__start_tconv_cpu_shared, 0xFF,
                size_t(__stop_tconv_cpu_shared - __start_tconv_cpu_shared));
  s.runnable.clear();
  s.live = int(nthreads);
  s.block_arrived = 0;
  std::fill(s.warp_arrived.begin(), s.warp_arrived.end(), 0);
  std::fill(s.warp_live.begin(), s.warp_live.end(), 0);
  std::fill(s.warp_scratch.begin(), s.warp_scratch.end(), 0);
  for (size_t i = 0; i < nthreads; ++i) {
    Fiber& f = s.fibers[i];
    f.wait = Wait::none;
    f.fake_stack = nullptr;
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack + kStateBytes;
    f.ctx.uc_stack.ss_size = kStackBytes - kStateBytes;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_entry, 0);
    ++s.warp_live[warp_of(f)];
    s.runnable.push_back(int(i));
  }
  while (!s.runnable.empty()) {
    const size_t pick = next_pick();
    const int i = s.runnable[pick];
    s.runnable[pick] = s.runnable.back();
    s.runnable.pop_back();
    Fiber& f = s.fibers[size_t(i)];
    run_fiber(f);
    const int warp = warp_of(f);
    if (f.wait == Wait::done) {
      --s.live;
      --s.warp_live[warp];
    }
    release_ready(warp);
  }
  if (s.live != 0 && s.failure.empty())
    s.failure = "deadlock: " + std::to_string(s.live) +
                " threads wait at a barrier that the others never reach";
  // Fibers stuck at a barrier are abandoned with the block; their stacks are reset next time.
}

}  // namespace

const LaunchRecord& last_launch() { return sched().record; }
void reset_launch_count() { sched().record.launches = 0; }
void set_seed(uint64_t seed) { sched().rng.seed(seed); }
void set_schedule(Schedule s) { sched().schedule = s; }
Schedule schedule() { return sched().schedule; }
const char* to_string(Schedule s) {
  switch (s) {
    case Schedule::warp_ahead: return "warp_ahead";
    case Schedule::reverse_warps: return "reverse_warps";
    default: return "random";
  }
}

void fail(const std::string& what) {
  Scheduler& s = sched();
  // Not an access of the kernel's (see profiler.cpp's on_access).
  ThreadState* t = detail::g_current;
  const bool in_kernel = t && t->in_kernel;
  if (t) t->in_kernel = false;
  struct Restore {
    ThreadState* t;
    bool v;
    ~Restore() {
      if (t) t->in_kernel = v;
    }
  } restore{t, in_kernel};
  if (s.failure.empty()) s.failure = what;
}

void syncthreads() {
  Scheduler& s = sched();
  Fiber& f = *s.running;
  f.wait = Wait::block;
  ++s.block_arrived;
  switch_to_main(f, false);
}

int lane_id() { return sched().running->state->lane; }

void* warp_scratch(size_t bytes, size_t offset) {
  Scheduler& s = sched();
  if (offset + bytes > kWarpScratchBytes) {  // a model asking for more is a bug of the runtime itself
    std::fprintf(stderr, "cpu_cuda: warp_scratch: %zu bytes asked, %zu available\n", bytes,
                 kWarpScratchBytes);
    std::abort();
  }
  return s.warp_scratch.data() + size_t(warp_of(*s.running)) * kWarpScratchBytes + offset;
}

void syncwarp() {
  Scheduler& s = sched();
  Fiber& f = *s.running;
  f.wait = Wait::warp;
  ++s.warp_arrived[warp_of(f)];
  switch_to_main(f, false);
}

void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, const std::function<void()>& body,
              const void* kernel) {
  Scheduler& s = sched();
  if (s.running) throw std::logic_error("cpu_cuda: a kernel launched a kernel");
  s.record.grid = grid;
  s.record.block = block;
  s.record.smem = dynamic_smem;
  ++s.record.launches;
  s.failure.clear();
  const size_t nthreads = size_t(block.x) * block.y * block.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64)
    throw std::runtime_error("cpu_cuda: invalid block " + std::to_string(block.x) + "x" +
                             std::to_string(block.y) + "x" + std::to_string(block.z));
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 ||
      grid.z > 65535)
    throw std::runtime_error("cpu_cuda: invalid grid " + std::to_string(grid.x) + "x" +
                             std::to_string(grid.y) + "x" + std::to_string(grid.z));
  const size_t static_shared =
      (__start_tconv_cpu_shared && __stop_tconv_cpu_shared)
          ? size_t(__stop_tconv_cpu_shared - __start_tconv_cpu_shared) : 0;
  if (dynamic_smem != 0)
    throw std::runtime_error("cpu_cuda: dynamic shared memory is not modelled");
  (void)static_shared;  // the section holds every kernel's arrays; per-kernel size is unknown
  while (s.fibers.size() < nthreads) {
    Fiber f;
    void* m = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("cpu_cuda: cannot allocate a fiber stack");
    f.stack = static_cast<char*>(m);
    f.state = new (m) ThreadState();
    f.state->stack_lo = f.stack;
    f.state->stack_hi = f.stack + kStackBytes;
    s.fibers.push_back(f);
  }
  s.warp_live.assign((nthreads + 31) / 32, 0);
  s.warp_arrived.assign((nthreads + 31) / 32, 0);
  s.warp_scratch.assign((nthreads + 31) / 32 * kWarpScratchBytes, 0);
  prof::set_runtime_range(0, s.warp_scratch.data(), s.warp_scratch.size());
  s.body = &body;
  prof::launch_begin(kernel, grid, block);
  uint64_t linear = 0;
  for (unsigned bz = 0; bz < grid.z && s.failure.empty(); ++bz)
    for (unsigned by = 0; by < grid.y && s.failure.empty(); ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx, ++linear) {
        if (!prof::want_block(linear)) continue;
        size_t i = 0;
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx, ++i) {
              ThreadState& t = *s.fibers[i].state;
              t.thread_idx = make_uint3(tx, ty, tz);
              t.block_idx = make_uint3(bx, by, bz);
              t.block_dim = block;
              t.grid_dim = grid;
              t.thread = int(i);
              t.warp = int(i / 32);
              t.lane = int(i % 32);
              t.in_kernel = false;
            }
        prof::block_begin(linear, make_uint3(bx, by, bz));
        run_block(nthreads);
        prof::block_end();
        if (!s.failure.empty()) break;
      }
  prof::launch_end(!s.failure.empty());
  s.body = nullptr;
  if (!s.failure.empty()) throw std::runtime_error("cpu_cuda: " + s.failure);
}

}  // namespace cpu_cuda
