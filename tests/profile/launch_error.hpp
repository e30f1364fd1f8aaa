// What a launch under the CPU runtime failed with: the message a check (memcheck, racecheck, a
// launch limit) made run_grid throw, or "" when it passed. The checks' own tests compare it.
#pragma once

#include <exception>
#include <functional>
#include <string>

namespace tconv::profile {

inline std::string launch_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace tconv::profile
