// `tconv run`'s problem: the tensors' shapes (from the .npy headers) and the options, checked
// against each other. Pure C++, apart from the reading of the files, so that the fuzz target of
// the option parsing (fuzz/) runs the same code as the command.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "cli/cli_args.hpp"
#include "core/problem.hpp"

namespace tconv::cli {

// The value options of `tconv run` (it has no flags).
const std::set<std::string>& run_value_options();

// The problem of x (N, C_in, H_in, W_in) or (N, C_in, L), w (C_in, C_out/groups, kH, kW) or
// (C_in, C_out/groups, K) and the optional bias (C_out), with --stride, --padding (P or B:E per
// axis), --output-padding, --dilation and --groups. 3-D x and w are PyTorch's ConvTranspose1d,
// run as the 2-D problem with H = 1 and a 1-tall kernel. Every mismatch is a tconv::Error naming
// both sides; the returned problem is valid (Problem::validate).
Problem problem_from(const Args& args, const std::vector<int64_t>& x_shape,
                     const std::vector<int64_t>& w_shape, const std::vector<int64_t>* b_shape);

}  // namespace tconv::cli
