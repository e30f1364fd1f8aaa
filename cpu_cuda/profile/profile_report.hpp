// Tables and CPU-model estimates from the profiler's counters (cpu_cuda/profiler.hpp) and
// the machine model (machine_model.hpp): what cpu_profile prints and the efficiency tests read.
#pragma once

#include <string>
#include <vector>

#include "cpu_cuda/profiler.hpp"
#include "cpu_cuda/profile/machine_model.hpp"

namespace tconv::profile {

using ::cpu_cuda::prof::Kind;
using ::cpu_cuda::prof::LaunchProfile;
using ::cpu_cuda::prof::SiteCounters;
using ::cpu_cuda::prof::Space;

// The counters of one source line (all instructions that file:line compiled to) of one launch.
std::vector<SiteCounters> by_line(const LaunchProfile& l);

// Sums over the sites of a launch that match space, kind and (if not empty) a substring of where.
SiteCounters total(const LaunchProfile& l, Space space, Kind kind, const std::string& where = "");
// Shared loads+stores+atomics together, or global loads+stores+atomics.
SiteCounters total_space(const LaunchProfile& l, Space space);

// The profiler settings that go with a machine model (wave size, L2 size).
::cpu_cuda::prof::Settings settings_for(const MachineModel& m, int sample_blocks, bool l2);

struct Estimate {
  struct Part {
    std::string resource;
    double seconds = 0;
    std::string basis;  // what the time is computed from
  };
  std::vector<Part> parts;
  double seconds = 0;   // the largest part: the predicted time
  std::string bound;    // its resource
};

// useful_ffma: FP32 FMAs the kernel must issue where it runs no mma.sync (0 if unknown): the
// runtime counts memory accesses and mma.sync, not arithmetic instructions.
Estimate estimate(const LaunchProfile& l, const MachineModel& m, double useful_ffma);

std::string format_launch(const LaunchProfile& l, const MachineModel& m, double useful_ffma);

}  // namespace tconv::profile
