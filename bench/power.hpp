// Clocks, power and throttling while a row is timed: the GPU's SM clock, board power, energy
// counter and clock-event ("throttle") reasons, read from NVML after each timed repetition, and
// the rule that calls a row throttled. The rule and the arithmetic take samples from any
// PowerSampler, so the tests drive them with a scripted one; open_nvml_sampler reads the driver's
// NVML. Without NVML (no driver, a container without it, a build without nvml.h) the sampler is
// unavailable with a reason, and every row's clock and power cells stay empty.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace tconv {

// NVML's clock-event reason bits (nvml.h, nvmlClocksEventReason*; bench/power.cpp checks each
// against the header). Kept here so the throttle rule compiles and is tested without nvml.h.
namespace clock_reason {
constexpr uint64_t gpu_idle = 0x1;
constexpr uint64_t applications_clocks = 0x2;  // clocks set by the user (nvidia-smi -ac)
constexpr uint64_t sw_power_cap = 0x4;
constexpr uint64_t hw_slowdown = 0x8;
constexpr uint64_t sync_boost = 0x10;
constexpr uint64_t sw_thermal = 0x20;
constexpr uint64_t hw_thermal = 0x40;
constexpr uint64_t hw_power_brake = 0x80;
constexpr uint64_t display_clocks = 0x100;
// The reasons that lower the clock below what the kernel would otherwise get: power, heat and
// hardware slowdown. Idle, user-set application clocks, sync boost and display clocks are not.
constexpr uint64_t throttling =
    sw_power_cap | hw_slowdown | sw_thermal | hw_thermal | hw_power_brake;
}  // namespace clock_reason

// Names of the bits set in reasons, ';'-separated in bit order ("" for none).
std::string clock_reason_names(uint64_t reasons);

// One reading. NaN (or reasons_known false) where the GPU does not report that quantity.
struct PowerSample {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double t_s = kNaN;           // host time, seconds (any fixed origin)
  double sm_clock_mhz = kNaN;  // current SM clock
  double power_w = kNaN;       // board power (NVML: averaged over about 1 s on Ampere and newer)
  double energy_mj = kNaN;     // the board's energy counter since the driver loaded, mJ
  uint64_t reasons = 0;
  bool reasons_known = false;
};

class PowerSampler {
 public:
  virtual ~PowerSampler() = default;
  // "" when samples can be taken, else why not (one line).
  virtual std::string unavailable_reason() const = 0;
  // What the nvml column says for every row: the source and its version, or "unavailable: why".
  virtual std::string description() const = 0;
  // The SM clock's maximum, MHz (NaN when unknown): the clock rule's 100%.
  virtual double max_sm_clock_mhz() = 0;
  virtual PowerSample sample() = 0;
};

// NVML through the driver's libnvidia-ml.so.1, opened at run time (dlopen), for the GPU with
// this PCI bus id (cudaDeviceGetPCIBusId). Never throws: where the library, the GPU or a query
// is missing, the sampler is unavailable or the quantity NaN.
// Why dlopen rather than linking the toolkit's stub: libnvidia-ml.so.1 comes with the driver, so
// a binary linked to it would not start at all on a machine without one (CI, dry runs, --help).
std::unique_ptr<PowerSampler> open_nvml_sampler(const std::string& pci_bus_id,
                                                const std::string& library = "libnvidia-ml.so.1");

// A sampler that never samples, with its reason (no GPU, --no-power, ...).
std::unique_ptr<PowerSampler> unavailable_sampler(const std::string& why);

// What one row's timed repetitions looked like. Empty strings and NaN where there was no sampler.
// Header-only data (no constructor in power.cpp): the results CSV's code, which the fuzz targets
// build on their own, holds one in every row without linking the sampler.
struct PowerSummary {
  double sm_clock_mean_mhz = PowerSample::kNaN;  // mean SM clock over the samples after each run
  double power_mean_w =
      PowerSample::kNaN;  // mean board power over the timed window (energy / time)
  double energy_per_call_j = PowerSample::kNaN;  // power_mean_w x the median time of one call
  std::string
      throttle_reasons;   // reasons seen (clock_reason_names, plus the clock rule's), or "none"
  std::string throttled;  // yes / no; "" without samples
  int samples = 0;
};

// Samples around one row's timed repetitions: begin() after the warm-up, after_run() after each
// timed run (the run has finished: its stop event was waited for), end() with the median time.
// The row is throttled when any sample shows a throttling reason (clock_reason::throttling), or
// a sample not marked idle has an SM clock below clock_threshold x the maximum SM clock (0.75,
// nvbench's default for discarding a sample as throttled). Unlike nvbench the samples are kept:
// the row says it was throttled, and the report marks it.
class PowerRecorder {
 public:
  explicit PowerRecorder(PowerSampler* sampler, double clock_threshold = 0.75);
  void begin();
  void after_run();
  PowerSummary end(double median_ms);

 private:
  PowerSampler* sampler_;  // null or unavailable: end() returns an empty summary
  double clock_threshold_;
  std::vector<PowerSample> samples_;  // [0]: begin()
};

}  // namespace tconv
