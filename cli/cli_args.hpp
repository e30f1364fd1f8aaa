// Command-line parsing for `tconv`'s commands, on CLI11: --name value, --name=value and bare
// flags, with every mistake reported as one tconv::Error line naming the option.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tconv::cli {

class Args {
 public:
  // Throws tconv::Error on an unknown option, a missing value, an option given twice or a stray
  // positional argument.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
       const std::set<std::string>& flag_options);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  // Throws if absent.
  std::string require(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  // "3" -> (3,3), "3,4" -> (3,4); PyTorch's int-or-pair convention.
  std::pair<int64_t, int64_t> get_pair(const std::string& name, std::pair<int64_t, int64_t> fallback) const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

int64_t parse_int(const std::string& option, const std::string& text);
std::pair<int64_t, int64_t> parse_pair(const std::string& option, const std::string& text);

}  // namespace tconv::cli
