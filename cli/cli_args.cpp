#include "cli/cli_args.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>

#include "core/types.hpp"

namespace tconv::cli {

namespace {
std::string& command_name() {
  static std::string name = "tconv";
  return name;
}

struct OptionDoc {
  const char* type;
  const char* help;
};

// What each option of tconv's commands means, for the help text (one table: the same option
// means the same thing in every command that takes it).
const std::map<std::string, OptionDoc>& option_docs() {
  static const std::map<std::string, OptionDoc> docs = {
      {"impl", {"NAME", "a name from `tconv list`"}},
      {"input", {"x.npy", "(N, C_in, H_in, W_in), or (N, C_in, L) for 1-D; float32 or float64"}},
      {"weight", {"w.npy", "(C_in, C_out/groups, kH, kW), or (C_in, C_out/groups, K) for 1-D"}},
      {"bias", {"b.npy", "(C_out), optional"}},
      {"output", {"y.npy", "the result, in the input's dtype"}},
      {"stride", {"S[,S]", "stride, one value or an h,w pair (default 1)"}},
      {"padding", {"P[,P]", "padding (default 0); run also takes B:E[,B:E], begin and end per axis"}},
      {"output-padding", {"A[,A]", "output padding (default 0)"}},
      {"dilation", {"D[,D]", "dilation (default 1)"}},
      {"groups", {"G", "groups (default 1)"}},
      {"dtype", {"T", "GPU math: fp32 (default), tf32, fp16, bf16"}},
      {"layout", {"L", "GPU memory layout: nchw (default) or nhwc"}},
      {"size", {"H[,W]", "forward-conv input = transposed-conv output size (default 4)"}},
      {"kernel", {"K[,K]", "kernel size (default 3)"}},
      {"seed", {"N", "random small integers from this seed"}},
      {"random", {"", "random small integers instead of 1, 2, 3, ..."}},
      {"dump-c", {"FILE", "write C as .npy (float64) or .csv"}},
  };
  return docs;
}
}  // namespace

void set_command_name(const std::string& name) { command_name() = name; }

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
           const std::set<std::string>& flag_options) {
  CLI::App app{"", command_name()};
  app.set_help_flag("-h,--help", "this text");
  app.get_formatter()->column_width(30);
  // Unknown options and stray words are reported below in tconv's own words.
  app.allow_extras();
  // A value that is itself one of the options means the value was forgotten ("--input --bias").
  const CLI::Validator not_an_option(
      [&](std::string& v) -> std::string {
        if (v.rfind("--", 0) != 0) return "";
        const std::string name = v.substr(2, v.find('=') == std::string::npos ? std::string::npos
                                                                               : v.find('=') - 2);
        return value_options.count(name) || flag_options.count(name)
                   ? "needs a value (got the option --" + name + ")"
                   : "";
      },
      "", "not an option");
  std::map<std::string, std::vector<std::string>> given;
  std::map<std::string, bool> set_flags;
  auto doc = [](const std::string& name) {
    const auto it = option_docs().find(name);
    return it == option_docs().end() ? OptionDoc{"VALUE", ""} : it->second;
  };
  for (const std::string& name : value_options)
    app.add_option("--" + name, given[name], doc(name).help)
        ->type_name(doc(name).type)
        ->expected(1)  // one value each time; a second time is reported below
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false)
        ->check(not_an_option);
  for (const std::string& name : flag_options) app.add_flag("--" + name, set_flags[name], doc(name).help);
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested{app.help()};
  } catch (const CLI::ParseError& e) {
    throw Error(e.what());
  }
  for (const std::string& extra : app.remaining()) {
    if (extra.rfind("-", 0) == 0) throw Error("unknown option " + extra.substr(0, extra.find('=')));
    throw Error("unexpected argument '" + extra + "'");
  }
  for (const auto& [name, values] : given) {
    if (values.size() > 1) throw Error("option --" + name + " given twice");
    if (!values.empty()) values_[name] = values.front();
  }
  for (const auto& [name, on] : set_flags)
    if (on) flags_.insert(name);
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
