#include "cli/cli_args.hpp"

#include <cerrno>
#include <cstdlib>

#include "core/types.hpp"

namespace tconv::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
           const std::set<std::string>& flag_options) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (flag_options.count(name)) {
      if (inline_value) throw Error("option --" + name + " takes no value");
      flags_.insert(name);
    } else if (value_options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw Error("option --" + name + " needs a value");
        value = argv[++i];
      }
      if (values_.count(name)) throw Error("option --" + name + " given twice");
      values_[name] = value;
    } else {
      throw Error("unknown option --" + name);
    }
  }
}

bool Args::has(const std::string& name) const { return values_.count(name) || flags_.count(name); }

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("missing required option --" + name);
  return it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  return has(name) ? parse_int(name, require(name)) : fallback;
}

std::pair<int64_t, int64_t> Args::get_pair(const std::string& name,
                                           std::pair<int64_t, int64_t> fallback) const {
  return has(name) ? parse_pair(name, require(name)) : fallback;
}

int64_t parse_int(const std::string& option, const std::string& text) {
  if (text.empty()) throw Error("option --" + option + ": empty value");
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE)
    throw Error("option --" + option + ": '" + text + "' is not an integer");
  return v;
}

std::pair<int64_t, int64_t> parse_pair(const std::string& option, const std::string& text) {
  const size_t comma = text.find(',');
  if (comma == std::string::npos) {
    const int64_t v = parse_int(option, text);
    return {v, v};
  }
  if (text.find(',', comma + 1) != std::string::npos)
    throw Error("option --" + option + ": '" + text + "' must be one value or an h,w pair");
  return {parse_int(option, text.substr(0, comma)), parse_int(option, text.substr(comma + 1))};
}

}  // namespace tconv::cli
