// bench/power.hpp on the CPU: what a row's clock and power columns say, from a scripted sampler
// (the arithmetic and the throttle rule), and the no-NVML path: a sampler that cannot load its
// library, whose rows get empty cells and the reason in the nvml column.
#include <gtest/gtest.h>

#if defined(TCONV_HAVE_HARNESS)
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bench/csv.hpp"
#include "bench/power.hpp"
#include "kernels/common/gpu_context.hpp"

namespace tconv {
namespace {

// Plays back a list of samples; max clock as given.
class ScriptedSampler final : public PowerSampler {
 public:
  ScriptedSampler(std::vector<PowerSample> script, double max_clock)
      : script_(std::move(script)), max_clock_(max_clock) {}
  std::string unavailable_reason() const override { return ""; }
  std::string description() const override { return "scripted"; }
  double max_sm_clock_mhz() override { return max_clock_; }
  PowerSample sample() override {
    EXPECT_LT(next_, script_.size()) << "more samples taken than scripted";
    return next_ < script_.size() ? script_[next_++] : PowerSample{};
  }
  size_t taken() const { return next_; }

 private:
  std::vector<PowerSample> script_;
  double max_clock_;
  size_t next_ = 0;
};

PowerSample at(double t, double clock, double watts, double mj, uint64_t reasons = 0,
               bool known = true) {
  PowerSample s;
  s.t_s = t;
  s.sm_clock_mhz = clock;
  s.power_w = watts;
  s.energy_mj = mj;
  s.reasons = reasons;
  s.reasons_known = known;
  return s;
}

// begin(), n after_run()s, end(median).
PowerSummary record(PowerSampler& s, int runs, double median_ms) {
  PowerRecorder r(&s);
  r.begin();
  for (int i = 0; i < runs; ++i) r.after_run();
  return r.end(median_ms);
}

TEST(Power, MeansFromTheEnergyCounterAndTheSamplesAfterEachRun) {
  // 0.5 s of timed runs, the energy counter rising by 300 J: 600 W. The clock is the mean of the
  // three samples after the runs (begin()'s 1200 MHz, after the warm-up, is not one of them).
  ScriptedSampler s({at(10.0, 1200, 100, 5e6), at(10.2, 1980, 650, 5e6 + 120e3),
                     at(10.4, 1950, 640, 5e6 + 240e3), at(10.5, 1920, 630, 5e6 + 300e3)},
                    1980);
  const PowerSummary p = record(s, 3, 2.0);
  EXPECT_EQ(s.taken(), 4u);
  EXPECT_EQ(p.samples, 3);
  EXPECT_DOUBLE_EQ(p.sm_clock_mean_mhz, 1950);
  EXPECT_NEAR(p.power_mean_w, 600, 1e-9);
  EXPECT_NEAR(p.energy_per_call_j, 600 * 2e-3, 1e-12);  // mean power x the median time
  EXPECT_EQ(p.throttled, "no");
  EXPECT_EQ(p.throttle_reasons, "none");
}

TEST(Power, WithoutAnEnergyCounterThePowerReadingsAreAveraged) {
  const double nan = std::nan("");
  ScriptedSampler s({at(0, 1980, 90, nan), at(1, 1980, 600, nan), at(2, 1980, 700, nan)}, 1980);
  const PowerSummary p = record(s, 2, 1.0);
  EXPECT_NEAR(p.power_mean_w, 650, 1e-9);
  EXPECT_NEAR(p.energy_per_call_j, 0.65, 1e-12);
}

TEST(Power, AThrottlingReasonInAnySampleMarksTheRow) {
  for (uint64_t bit :
       {clock_reason::sw_power_cap, clock_reason::hw_slowdown, clock_reason::sw_thermal,
        clock_reason::hw_thermal, clock_reason::hw_power_brake}) {
    ScriptedSampler s({at(0, 1980, 500, 0), at(1, 1980, 700, 7e5, bit), at(2, 1980, 500, 12e5)},
                      1980);
    const PowerSummary p = record(s, 2, 1.0);
    EXPECT_EQ(p.throttled, "yes") << clock_reason_names(bit);
    EXPECT_EQ(p.throttle_reasons, clock_reason_names(bit));
  }
  ScriptedSampler s({at(0, 1980, 500, 0), at(1, 1900, 700, 7e5, clock_reason::sw_power_cap),
                     at(2, 1700, 700, 14e5, clock_reason::sw_thermal | clock_reason::gpu_idle)},
                    1980);
  const PowerSummary p = record(s, 2, 1.0);
  EXPECT_EQ(p.throttled, "yes");
  EXPECT_EQ(p.throttle_reasons, "sw_power_cap;sw_thermal");  // idle is never listed
}

TEST(Power, ReasonsThatAreNotSlowdownsAreListedButDoNotMarkTheRow) {
  ScriptedSampler s({at(0, 1980, 500, 0), at(1, 1755, 600, 6e5, clock_reason::applications_clocks),
                     at(2, 1755, 600, 12e5, clock_reason::gpu_idle | clock_reason::sync_boost)},
                    1980);
  const PowerSummary p = record(s, 2, 1.0);
  EXPECT_EQ(p.throttled, "no");
  EXPECT_EQ(p.throttle_reasons, "applications_clocks;sync_boost");
}

TEST(Power, AClockBelowThreeQuartersOfTheMaximumMarksTheRowUnlessTheGpuWasIdle) {
  // 1400 MHz < 0.75 x 1980 = 1485, with no reason given (what a clock drop the driver does not
  // explain looks like).
  ScriptedSampler low({at(0, 1980, 500, 0), at(1, 1980, 600, 6e5), at(2, 1400, 600, 12e5)}, 1980);
  PowerSummary p = record(low, 2, 1.0);
  EXPECT_EQ(p.throttled, "yes");
  EXPECT_EQ(p.throttle_reasons, "sm_clock_below_75%_of_max");
  ScriptedSampler idle(
      {at(0, 1980, 500, 0), at(1, 1980, 600, 6e5), at(2, 1400, 600, 12e5, clock_reason::gpu_idle)},
      1980);
  p = record(idle, 2, 1.0);
  EXPECT_EQ(p.throttled, "no");
  EXPECT_EQ(p.throttle_reasons, "none");
  ScriptedSampler just_above({at(0, 1980, 500, 0), at(1, 1490, 600, 6e5)}, 1980);
  EXPECT_EQ(record(just_above, 1, 1.0).throttled, "no");
  // The threshold is a parameter.
  ScriptedSampler strict({at(0, 1980, 500, 0), at(1, 1700, 600, 6e5)}, 1980);
  PowerRecorder r(&strict, 0.9);
  r.begin();
  r.after_run();
  p = r.end(1.0);
  EXPECT_EQ(p.throttled, "yes");
  EXPECT_EQ(p.throttle_reasons, "sm_clock_below_90%_of_max");
}

TEST(Power, UnknownQuantitiesStayEmpty) {
  const double nan = std::nan("");
  // No clock, no power, no energy, no reasons: nothing to say but that nothing was seen.
  ScriptedSampler s({at(0, nan, nan, nan, 0, false), at(1, nan, nan, nan, 0, false)}, nan);
  const PowerSummary p = record(s, 1, 1.0);
  EXPECT_TRUE(std::isnan(p.sm_clock_mean_mhz));
  EXPECT_TRUE(std::isnan(p.power_mean_w));
  EXPECT_TRUE(std::isnan(p.energy_per_call_j));
  EXPECT_EQ(p.throttled, "no");
  // A counter that went backwards (a driver reload) is not a negative power.
  ScriptedSampler back({at(0, 1980, 300, 9e6), at(1, 1980, 500, 1e3)}, 1980);
  EXPECT_NEAR(record(back, 1, 1.0).power_mean_w, 500, 1e-9);
}

TEST(Power, ReasonNamesInBitOrderWithUnknownBitsShown) {
  EXPECT_EQ(clock_reason_names(0), "");
  EXPECT_EQ(clock_reason_names(clock_reason::hw_thermal | clock_reason::sw_power_cap),
            "sw_power_cap;hw_thermal");
  EXPECT_EQ(clock_reason_names(0x1000), "other_0x1000");
  EXPECT_EQ(clock_reason_names(clock_reason::display_clocks | 0x400), "display_clocks;other_0x400");
}

TEST(Power, NoSamplerOrAnUnavailableOneGivesEmptyColumnsAndTheReasonOnce) {
  PowerRecorder none(nullptr);
  none.begin();
  none.after_run();
  PowerSummary p = none.end(1.0);
  EXPECT_EQ(p.samples, 0);
  EXPECT_EQ(p.throttled, "");
  EXPECT_EQ(p.throttle_reasons, "");

  // The no-NVML path as a machine without a driver takes it: the library does not load.
  auto missing = open_nvml_sampler("0000:00:00.0", "libnvidia-ml-not-here.so.1");
  ASSERT_FALSE(missing->unavailable_reason().empty());
  EXPECT_EQ(missing->description().rfind("unavailable: ", 0), 0u) << missing->description();
  PowerRecorder r(missing.get());
  r.begin();
  r.after_run();
  p = r.end(1.0);
  EXPECT_EQ(p.samples, 0);
  EXPECT_TRUE(std::isnan(p.power_mean_w));

  // A library that loads but is not NVML (the C library): unavailable, not a crash.
  auto not_nvml = open_nvml_sampler("0000:00:00.0", "libc.so.6");
  EXPECT_FALSE(not_nvml->unavailable_reason().empty()) << not_nvml->description();

  // In the CSV: the row's cells empty, the reason in the nvml column.
  RunInfo info;
  info.nvml = missing->description();
  ResultRow row;
  row.power = p;
  const auto cols = csv_columns();
  const auto fields = csv_fields(row, info);
  ASSERT_EQ(fields.size(), cols.size());
  auto cell = [&](const char* name) {
    return fields[size_t(std::find(cols.begin(), cols.end(), name) - cols.begin())];
  };
  for (const char* c :
       {"sm_clock_mean_mhz", "power_mean_w", "energy_per_call_j", "throttle_reasons", "throttled"})
    EXPECT_EQ(cell(c), "") << c;
  EXPECT_EQ(cell("nvml"), info.nvml);
}

TEST(Power, ColumnsComeAfterTheEarlierOnesFilledFromTheSummary) {
  const auto cols = csv_columns();
  const auto pos = [&](const char* name) {
    return size_t(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  const char* ours[] = {"sm_clock_mean_mhz", "power_mean_w", "energy_per_call_j",
                        "throttle_reasons",  "throttled",    "nvml"};
  ASSERT_LT(pos("nvml"), cols.size());
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(pos(ours[i]), pos("pad_end_w") + 1 + i) << ours[i];

  ScriptedSampler s({at(0, 1980, 500, 0), at(1, 1830, 690, 6.9e5, clock_reason::sw_power_cap)},
                    1980);
  ResultRow row;
  row.power = record(s, 1, 0.25);
  RunInfo info;
  info.nvml = "nvml 13.580.82";
  const auto f = csv_fields(row, info);
  EXPECT_EQ(f[pos("sm_clock_mean_mhz")], "1830");
  EXPECT_EQ(f[pos("power_mean_w")], "690");
  EXPECT_EQ(f[pos("energy_per_call_j")], "0.1725");
  EXPECT_EQ(f[pos("throttle_reasons")], "sw_power_cap");
  EXPECT_EQ(f[pos("throttled")], "yes");
  EXPECT_EQ(f[pos("nvml")], "nvml 13.580.82");
}

// On a GPU: NVML found by the PCI bus id of CUDA's device 0, as tconv_bench opens it, and its
// readings in range. Skipped without a GPU, and (saying why) where the GPU has no NVML.
TEST(GpuPower, NvmlReadsTheDeviceOfTheRun) {
  std::string why;
  if (!gpu_available(&why)) GTEST_SKIP() << why;
  char bus_id[32] = {};
  ASSERT_EQ(cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, 0), cudaSuccess);
  auto nvml = open_nvml_sampler(bus_id);
  if (!nvml->unavailable_reason().empty()) GTEST_SKIP() << nvml->unavailable_reason();
  EXPECT_EQ(nvml->description().rfind("nvml", 0), 0u) << nvml->description();
  const double max_clock = nvml->max_sm_clock_mhz();
  ASSERT_TRUE(std::isfinite(max_clock) && max_clock > 100) << max_clock;
  const PowerSample s = nvml->sample();
  EXPECT_TRUE(s.sm_clock_mhz > 0 && s.sm_clock_mhz <= max_clock) << s.sm_clock_mhz;
  EXPECT_TRUE(s.reasons_known);
  if (std::isfinite(s.power_w)) {
    EXPECT_TRUE(s.power_w > 1 && s.power_w < 2000) << s.power_w;
  }
  PowerRecorder r(nvml.get());
  r.begin();
  r.after_run();
  const PowerSummary p = r.end(1.0);
  EXPECT_EQ(p.samples, 1);
  EXPECT_TRUE(p.throttled == "yes" || p.throttled == "no") << p.throttled;
}

}  // namespace
}  // namespace tconv
#endif  // TCONV_HAVE_HARNESS
