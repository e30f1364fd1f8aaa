// racecheck (cpu_cuda/profiler.hpp) and the warp schedules (cpu_cuda.hpp) on kernels written
// to race: each hazard fails the launch with both sites, the array and the byte, whatever the
// values; and a missing barrier that the random order lets through gives a wrong number when
// one warp runs a whole phase ahead.
#include <gtest/gtest.h>

#include <string>

#include "kernels/common/launch.cuh"
#include "cpu_cuda/device_memory.hpp"
#include "cpu_cuda/profiler.hpp"
#include "tests/profile/launch_error.hpp"

namespace tconv {
namespace {

namespace prof = ::cpu_cuda::prof;
using ::cpu_cuda::Schedule;

// Each warp reads the other warp's half of the tile, then overwrites its own half. Without the
// barrier between the two phases one warp may overwrite what the other has yet to read.
__global__ void exchange_kernel(const float* x, float* y, int barrier) {
  __shared__ float tile[64];
  const int t = int(threadIdx.x);
  tile[t] = x[t];
  __syncthreads();
  const float v = tile[t ^ 32];
  __syncwarp();
  if (barrier) __syncthreads();
  tile[t] = v + 1.0f;
  __syncthreads();
  y[t] = tile[t];
}

// Lane 1 reads what lane 0 of the same warp wrote in this block interval: ordered only by
// __syncwarp.
__global__ void lanes_kernel(float* y, int warp_sync) {
  __shared__ float cell[32];
  const int t = int(threadIdx.x);
  cell[t] = float(t);
  __syncthreads();
  if (t == 0) cell[0] = 5.0f;
  if (warp_sync) __syncwarp();
  y[t] = t == 1 ? cell[0] : 0.0f;
}

// Two warps write the same word in one interval.
__global__ void double_write_kernel(float* y) {
  __shared__ float cell[1];
  const int t = int(threadIdx.x);
  if (t == 0 || t == 32) cell[0] = float(t);
  __syncthreads();
  y[t] = cell[0];
}

// Not hazards: every thread reading one word (a broadcast), a thread's own write then read.
__global__ void clean_kernel(float* y) {
  __shared__ float cell[64];
  const int t = int(threadIdx.x);
  cell[t] = float(t);
  const float own = cell[t];
  __syncthreads();
  y[t] = own + cell[0];
}

using profile::launch_error;

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

class Racecheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prof::instrumented()) GTEST_SKIP() << "not an instrumented binary";
    saved_ = ::cpu_cuda::schedule();
    configure(true);
  }
  void TearDown() override {
    ::cpu_cuda::set_schedule(saved_);
    configure(true);
  }
  static void configure(bool racecheck) {
    prof::Settings s;
    s.memcheck = true;
    s.racecheck = racecheck;
    prof::configure(s);
  }
  Schedule saved_ = Schedule::random;
};

TEST_F(Racecheck, MissingBarrierBeforeOverwriteIsAHazardUnderEverySchedule) {
  auto x = ::cpu_cuda::device_vec<float>(64, 0.0f, "x");
  for (int i = 0; i < 64; ++i) x[i] = float(i);
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  for (Schedule sch : {Schedule::random, Schedule::warp_ahead, Schedule::reverse_warps}) {
    ::cpu_cuda::set_schedule(sch);
    SCOPED_TRACE(::cpu_cuda::to_string(sch));
    EXPECT_EQ(launch_error([&] { launch(exchange_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 1); }), "");
    for (int i = 0; i < 64; ++i) ASSERT_EQ(y[i], float(i ^ 32) + 1.0f) << i;
    const std::string what = launch_error(
        [&] { launch(exchange_kernel, dim3(2), dim3(64), 0, nullptr, x.data(), y.data(), 0); });
    // Which of the two the run meets first depends on the order: the overwrite before the other
    // warp's read (read-after-write, a warp ahead) or after it (write-after-read).
    EXPECT_TRUE(what.find("racecheck: write-after-read hazard on shared '") != std::string::npos ||
                what.find("racecheck: read-after-write hazard on shared '") != std::string::npos)
        << what;
    EXPECT_NE(what.find("exchange_kernel"), std::string::npos) << what;
    EXPECT_EQ(count(what, "test_racecheck.cpp:"), 2) << "both sites: " << what;
    EXPECT_NE(what.find("with no __syncthreads between them"), std::string::npos) << what;
    EXPECT_NE(what.find("(address 0x"), std::string::npos) << what;
  }
}

TEST_F(Racecheck, LanesOfOneWarpNeedSyncwarp) {
  auto y = ::cpu_cuda::device_vec<float>(32, 0.0f, "y");
  EXPECT_EQ(launch_error([&] { launch(lanes_kernel, dim3(1), dim3(32), 0, nullptr, y.data(), 1); }), "");
  EXPECT_EQ(y[1], 5.0f);
  const std::string what =
      launch_error([&] { launch(lanes_kernel, dim3(1), dim3(32), 0, nullptr, y.data(), 0); });
  EXPECT_NE(what.find("racecheck: "), std::string::npos) << what;
  EXPECT_NE(what.find("hazard on shared '"), std::string::npos) << what;
  EXPECT_NE(what.find("byte 0 "), std::string::npos) << what;
  EXPECT_NE(what.find("with no __syncwarp or __syncthreads between them"), std::string::npos) << what;
}

TEST_F(Racecheck, TwoWarpsWritingOneWordIsAWriteAfterWrite) {
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  const std::string what =
      launch_error([&] { launch(double_write_kernel, dim3(1), dim3(64), 0, nullptr, y.data()); });
  EXPECT_NE(what.find("racecheck: write-after-write hazard"), std::string::npos) << what;
}

TEST_F(Racecheck, BroadcastReadsAndOwnAccessesAreNotHazards) {
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  EXPECT_EQ(launch_error([&] { launch(clean_kernel, dim3(3), dim3(64), 0, nullptr, y.data()); }), "");
  EXPECT_EQ(y[7], 7.0f);
}

TEST_F(Racecheck, WarpAheadScheduleTurnsTheMissingBarrierIntoWrongValues) {
  // With racecheck off only the values can tell: one warp a phase ahead reads the other's
  // overwritten half.
  configure(false);
  auto x = ::cpu_cuda::device_vec<float>(64, 0.0f, "x");
  for (int i = 0; i < 64; ++i) x[i] = float(i);
  auto y = ::cpu_cuda::device_vec<float>(64, 0.0f, "y");
  for (Schedule sch : {Schedule::warp_ahead, Schedule::reverse_warps}) {
    ::cpu_cuda::set_schedule(sch);
    SCOPED_TRACE(::cpu_cuda::to_string(sch));
    EXPECT_EQ(launch_error([&] { launch(exchange_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), y.data(), 0); }), "");
    int wrong = 0;
    for (int i = 0; i < 64; ++i) wrong += y[i] != float(i ^ 32) + 1.0f;
    EXPECT_EQ(wrong, 32) << "the warp that runs second reads the first one's new values";
  }
}

}  // namespace
}  // namespace tconv
