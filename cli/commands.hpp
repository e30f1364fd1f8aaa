// The subcommands of `tconv`. Each returns the process exit code and throws tconv::Error for any
// bad input; main() turns that into one "tconv: error: ..." line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tconv::cli {

int cmd_explain(const std::vector<std::string>& args, std::ostream& out);
int cmd_run(const std::vector<std::string>& args, std::ostream& out);
int cmd_list(const std::vector<std::string>& args, std::ostream& out);

}  // namespace tconv::cli
