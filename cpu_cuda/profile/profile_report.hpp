// Tables and CPU-model estimates from the profiler's counters (cpu_cuda/profiler.hpp) and
// the machine model (machine_model.hpp): what cpu_profile prints and the efficiency tests read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cpu_cuda/profiler.hpp"
#include "cpu_cuda/profile/kernel_sass.hpp"
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

// A launch's time per resource and in all, each as a range: lo with the fast end of every
// constant of the machine model, hi with the slow end (machine_model.hpp). The bound is the
// resource that takes longest; it is named only where the same one does under both ends.
struct Estimate {
  struct Part {
    std::string resource;
    double lo = 0, hi = 0;
    std::string basis;  // what the time is computed from
  };
  std::vector<Part> parts;
  double lo = 0, hi = 0;  // the parts combined (MachineModel::overlap_p) plus the launch overhead
  std::string bound;      // empty when the largest part differs between the two ends
  std::string bound_lo, bound_hi;  // the largest part at each end
};

// The rule that combines resources running at once into one time: (sum t_i^p)^(1/p).
double combine(const std::vector<double>& times, double p);

// The dynamic instruction counts of a launch from the build's sm_90 code (kernel_sass.hpp), or
// none, with the reason in *why.
std::optional<IssueCounts> issue_of(const LaunchProfile& l, std::string* why = nullptr);

// issue: the launch's instruction counts; with them the estimate has issue-slot and pipe times
// (alu, fma, xu). useful_ffma: FP32 FMAs the kernel must issue where it runs no mma.sync (0 if
// unknown), a lower bound used only without instruction counts.
Estimate estimate(const LaunchProfile& l, const MachineModel& m, double useful_ffma,
                  const std::optional<IssueCounts>& issue);
// The same with the build's instruction counts (issue_of).
Estimate estimate(const LaunchProfile& l, const MachineModel& m, double useful_ffma);

std::string format_launch(const LaunchProfile& l, const MachineModel& m, double useful_ffma);

}  // namespace tconv::profile
