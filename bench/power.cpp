#include "bench/power.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#ifdef TCONV_HAVE_NVML_H
#include <nvml.h>
#endif

namespace tconv {
namespace {

constexpr double kNaN = PowerSample::kNaN;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class UnavailableSampler final : public PowerSampler {
 public:
  explicit UnavailableSampler(std::string why) : why_(std::move(why)) {}
  std::string unavailable_reason() const override { return why_; }
  std::string description() const override { return "unavailable: " + why_; }
  double max_sm_clock_mhz() override { return kNaN; }
  PowerSample sample() override { return PowerSample{}; }

 private:
  std::string why_;
};

#ifdef TCONV_HAVE_NVML_H
static_assert(clock_reason::gpu_idle == nvmlClocksEventReasonGpuIdle);
static_assert(clock_reason::applications_clocks == nvmlClocksEventReasonApplicationsClocksSetting);
static_assert(clock_reason::sw_power_cap == nvmlClocksEventReasonSwPowerCap);
static_assert(clock_reason::hw_slowdown == nvmlClocksThrottleReasonHwSlowdown);
static_assert(clock_reason::sync_boost == nvmlClocksEventReasonSyncBoost);
static_assert(clock_reason::sw_thermal == nvmlClocksEventReasonSwThermalSlowdown);
static_assert(clock_reason::hw_thermal == nvmlClocksThrottleReasonHwThermalSlowdown);
static_assert(clock_reason::hw_power_brake == nvmlClocksThrottleReasonHwPowerBrakeSlowdown);
static_assert(clock_reason::display_clocks == nvmlClocksEventReasonDisplayClockSetting);

// The NVML entry points used, resolved from the driver's library. The prototypes are nvml.h's
// (decltype), so a signature change in the header is a compile error here.
class NvmlSampler final : public PowerSampler {
 public:
  NvmlSampler(const std::string& pci_bus_id, const std::string& library) {
    lib_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib_) {
      const char* e = dlerror();
      why_ = "cannot load " + library + " (the NVIDIA driver's NVML): " + (e ? e : "not found");
      return;
    }
    if (!resolve()) return;
    nvmlReturn_t r = init_();
    if (r != NVML_SUCCESS) {
      why_ = std::string("nvmlInit_v2: ") + error_string(r);
      return;
    }
    initialized_ = true;
    r = handle_by_pci_(pci_bus_id.c_str(), &dev_);
    if (r != NVML_SUCCESS) {
      why_ = "nvmlDeviceGetHandleByPciBusId_v2(" + pci_bus_id + "): " + error_string(r);
      return;
    }
    char version[NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE] = {};
    if (nvml_version_ && nvml_version_(version, sizeof version) == NVML_SUCCESS)
      description_ = std::string("nvml ") + version;
    else
      description_ = "nvml";
    // Energy since the driver loaded (Volta and newer): the timed window's mean power from two
    // readings instead of the 1-s averages of nvmlDeviceGetPowerUsage.
    unsigned long long mj = 0;
    has_energy_ = energy_ && energy_(dev_, &mj) == NVML_SUCCESS;
    ok_ = true;
  }
  ~NvmlSampler() override {
    if (initialized_) shutdown_();
    if (lib_) dlclose(lib_);
  }
  std::string unavailable_reason() const override { return ok_ ? "" : why_; }
  std::string description() const override { return ok_ ? description_ : "unavailable: " + why_; }
  double max_sm_clock_mhz() override {
    unsigned int mhz = 0;
    if (!ok_ || max_clock_(dev_, NVML_CLOCK_SM, &mhz) != NVML_SUCCESS || mhz == 0) return kNaN;
    return mhz;
  }
  PowerSample sample() override {
    PowerSample s;
    if (!ok_) return s;
    s.t_s = now_s();
    unsigned int v = 0;
    if (clock_(dev_, NVML_CLOCK_SM, &v) == NVML_SUCCESS) s.sm_clock_mhz = v;
    if (power_(dev_, &v) == NVML_SUCCESS) s.power_w = v * 1e-3;
    unsigned long long mj = 0;
    if (has_energy_ && energy_(dev_, &mj) == NVML_SUCCESS) s.energy_mj = double(mj);
    unsigned long long reasons = 0;
    if (reasons_(dev_, &reasons) == NVML_SUCCESS) {
      s.reasons = reasons;
      s.reasons_known = true;
    }
    return s;
  }

 private:
  template <class F>
  bool sym(F*& f, const char* name, bool required = true) {
    f = reinterpret_cast<F*>(dlsym(lib_, name));
    if (!f && required) why_ = std::string(name) + " is missing from the NVML library";
    return f || !required;
  }
  bool resolve() {
    // The clock-event reasons were "throttle reasons" before driver 535: either name will do.
    sym(reasons_, "nvmlDeviceGetCurrentClocksEventReasons", false);
    if (!reasons_) {
      reasons_ = reinterpret_cast<decltype(reasons_)>(
          dlsym(lib_, "nvmlDeviceGetCurrentClocksThrottleReasons"));
    }
    if (!reasons_) {
      why_ =
          "neither nvmlDeviceGetCurrentClocksEventReasons nor ...ThrottleReasons is in the library";
      return false;
    }
    sym(energy_, "nvmlDeviceGetTotalEnergyConsumption", false);
    sym(nvml_version_, "nvmlSystemGetNVMLVersion", false);
    sym(error_string_, "nvmlErrorString", false);
    return sym(init_, "nvmlInit_v2") && sym(shutdown_, "nvmlShutdown") &&
           sym(handle_by_pci_, "nvmlDeviceGetHandleByPciBusId_v2") &&
           sym(clock_, "nvmlDeviceGetClockInfo") && sym(max_clock_, "nvmlDeviceGetMaxClockInfo") &&
           sym(power_, "nvmlDeviceGetPowerUsage");
  }
  std::string error_string(nvmlReturn_t r) const {
    const char* s = error_string_ ? error_string_(r) : nullptr;
    return s ? s : "error " + std::to_string(int(r));
  }

  void* lib_ = nullptr;
  bool initialized_ = false, ok_ = false, has_energy_ = false;
  std::string why_, description_;
  nvmlDevice_t dev_{};
  decltype(nvmlInit_v2)* init_ = nullptr;
  decltype(nvmlShutdown)* shutdown_ = nullptr;
  decltype(nvmlDeviceGetHandleByPciBusId_v2)* handle_by_pci_ = nullptr;
  decltype(nvmlDeviceGetClockInfo)* clock_ = nullptr;
  decltype(nvmlDeviceGetMaxClockInfo)* max_clock_ = nullptr;
  decltype(nvmlDeviceGetPowerUsage)* power_ = nullptr;
  decltype(nvmlDeviceGetTotalEnergyConsumption)* energy_ = nullptr;
  decltype(nvmlDeviceGetCurrentClocksEventReasons)* reasons_ = nullptr;
  decltype(nvmlSystemGetNVMLVersion)* nvml_version_ = nullptr;
  decltype(nvmlErrorString)* error_string_ = nullptr;
};
#endif

}  // namespace

std::string clock_reason_names(uint64_t reasons) {
  static const std::pair<uint64_t, const char*> names[] = {
      {clock_reason::gpu_idle, "gpu_idle"},
      {clock_reason::applications_clocks, "applications_clocks"},
      {clock_reason::sw_power_cap, "sw_power_cap"},
      {clock_reason::hw_slowdown, "hw_slowdown"},
      {clock_reason::sync_boost, "sync_boost"},
      {clock_reason::sw_thermal, "sw_thermal"},
      {clock_reason::hw_thermal, "hw_thermal"},
      {clock_reason::hw_power_brake, "hw_power_brake"},
      {clock_reason::display_clocks, "display_clocks"}};
  std::string out;
  uint64_t known = 0;
  for (const auto& [bit, name] : names) {
    known |= bit;
    if (reasons & bit) out += (out.empty() ? "" : ";") + std::string(name);
  }
  if (reasons & ~known) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(reasons & ~known));
    out += (out.empty() ? "other_" : ";other_") + std::string(buf);
  }
  return out;
}

std::unique_ptr<PowerSampler> open_nvml_sampler(const std::string& pci_bus_id,
                                                const std::string& library) {
#ifdef TCONV_HAVE_NVML_H
  return std::make_unique<NvmlSampler>(pci_bus_id, library);
#else
  (void)pci_bus_id;
  (void)library;
  return unavailable_sampler("built without nvml.h (scripts/bootstrap.sh installs it)");
#endif
}

std::unique_ptr<PowerSampler> unavailable_sampler(const std::string& why) {
  return std::make_unique<UnavailableSampler>(why);
}

PowerRecorder::PowerRecorder(PowerSampler* sampler, double clock_threshold)
    : sampler_(sampler && sampler->unavailable_reason().empty() ? sampler : nullptr),
      clock_threshold_(clock_threshold) {}

void PowerRecorder::begin() {
  samples_.clear();
  if (sampler_) samples_.push_back(sampler_->sample());
}

void PowerRecorder::after_run() {
  if (sampler_ && !samples_.empty()) samples_.push_back(sampler_->sample());
}

PowerSummary PowerRecorder::end(double median_ms) {
  PowerSummary s;
  if (!sampler_ || samples_.size() < 2) return s;
  s.samples = int(samples_.size()) - 1;
  // The clock after each run; begin()'s sample follows the warm-up and only opens the window.
  double clock_sum = 0, power_sum = 0;
  int clocks = 0, powers = 0;
  uint64_t seen = 0;
  bool clock_low = false;
  const double max_clock = sampler_->max_sm_clock_mhz();
  for (size_t i = 1; i < samples_.size(); ++i) {
    const PowerSample& x = samples_[i];
    if (std::isfinite(x.sm_clock_mhz)) {
      clock_sum += x.sm_clock_mhz;
      ++clocks;
      const bool idle = x.reasons_known && (x.reasons & clock_reason::gpu_idle);
      if (!idle && std::isfinite(max_clock) && x.sm_clock_mhz < clock_threshold_ * max_clock)
        clock_low = true;
    }
    if (std::isfinite(x.power_w)) {
      power_sum += x.power_w;
      ++powers;
    }
    if (x.reasons_known) seen |= x.reasons;
  }
  if (clocks) s.sm_clock_mean_mhz = clock_sum / clocks;
  const PowerSample& a = samples_.front();
  const PowerSample& b = samples_.back();
  const double dt = b.t_s - a.t_s, de = b.energy_mj - a.energy_mj;
  if (std::isfinite(de) && std::isfinite(dt) && dt > 0 && de >= 0)
    s.power_mean_w = de * 1e-3 / dt;
  else if (powers)
    s.power_mean_w = power_sum / powers;
  if (std::isfinite(s.power_mean_w) && std::isfinite(median_ms))
    s.energy_per_call_j = s.power_mean_w * median_ms * 1e-3;
  // gpu_idle is not a slowdown: between two synchronous runs the GPU may be idle for a moment.
  std::string names = clock_reason_names(seen & ~clock_reason::gpu_idle);
  if (clock_low) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "sm_clock_below_%d%%_of_max", int(clock_threshold_ * 100 + 0.5));
    names += (names.empty() ? "" : ";") + std::string(buf);
  }
  s.throttle_reasons = names.empty() ? "none" : names;
  s.throttled = (seen & clock_reason::throttling) || clock_low ? "yes" : "no";
  return s;
}

}  // namespace tconv
