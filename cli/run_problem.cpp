#include "cli/run_problem.hpp"

#include <string>
#include <tuple>

#include "core/types.hpp"

namespace tconv::cli {

namespace {

// One axis of --padding: "P" (PyTorch's) or "B:E" (begin:end).
struct AxisPad {
  int64_t begin = 0, end = 0;
  bool begin_end = false;
};
AxisPad parse_axis_pad(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    const int64_t v = parse_int("padding", text);
    return {v, v, false};
  }
  if (text.find(':', colon + 1) != std::string::npos)
    throw Error("option --padding: '" + text + "' must be P or B:E (begin:end) per axis");
  return {parse_int("padding", text.substr(0, colon)), parse_int("padding", text.substr(colon + 1)),
          true};
}

std::string rank_text(size_t rank) { return std::to_string(rank) + "-D"; }

// A 1-D option is one value: "3,4" would be a 2-D pair that a 1-D layer cannot mean.
int64_t one_value(const Args& args, const std::string& name, int64_t fallback) {
  if (!args.has(name)) return fallback;
  const std::string v = args.require(name);
  if (v.find(',') != std::string::npos)
    throw Error("option --" + name + ": '" + v + "': a 1-D (3-D array) input takes one value");
  return parse_int(name, v);
}

}  // namespace

const std::set<std::string>& run_value_options() {
  static const std::set<std::string> options = {
      "impl",     "input",  "weight", "bias",   "stride", "padding", "output-padding",
      "dilation", "groups", "output", "dtype",  "layout"};
  return options;
}

Problem problem_from(const Args& args, const std::vector<int64_t>& x_shape,
                     const std::vector<int64_t>& w_shape, const std::vector<int64_t>* b_shape) {
  const size_t rank = x_shape.size();
  if (rank != 3 && rank != 4)
    throw Error("--input must be 3-D (N, C_in, L) or 4-D (N, C_in, H_in, W_in), got " + rank_text(rank));
  if (w_shape.size() != rank)
    throw Error("--input is " + rank_text(rank) + " but --weight is " + rank_text(w_shape.size()) +
                (rank == 3 ? ": a 1-D input needs a 3-D weight (C_in, C_out/groups, K)"
                           : ": a 2-D input needs a 4-D weight (C_in, C_out/groups, kH, kW)"));
  const bool one_d = rank == 3;
  Problem p;
  p.n = x_shape[0], p.c_in = x_shape[1];
  p.h_in = one_d ? 1 : x_shape[2];
  p.w_in = x_shape[rank - 1];
  p.groups = args.get_int("groups", 1);
  if (w_shape[0] != p.c_in)
    throw Error("--weight has " + std::to_string(w_shape[0]) + " input channels (dim 0) but --input has " +
                std::to_string(p.c_in));
  // Validated below, but the product must not overflow first (a header or an option is outside
  // input).
  if (__builtin_mul_overflow(w_shape[1], p.groups, &p.c_out))
    throw Error("--weight's C_out/groups = " + std::to_string(w_shape[1]) + " times --groups " +
                std::to_string(p.groups) + " is too large");
  p.k_h = one_d ? 1 : w_shape[2];
  p.k_w = w_shape[rank - 1];
  // --padding: "P" / "P,P" as PyTorch's, or "B:E" / "B:E,B:E" as begin:end per axis.
  const std::string pad_text = args.get("padding", "0");
  const size_t comma = pad_text.find(',');
  if (one_d && comma != std::string::npos)
    throw Error("option --padding: '" + pad_text + "': a 1-D (3-D array) input takes one value");
  if (comma != std::string::npos && pad_text.find(',', comma + 1) != std::string::npos)
    throw Error("option --padding: '" + pad_text + "' must be one value or an h,w pair");
  const AxisPad pad_h = parse_axis_pad(pad_text.substr(0, comma));
  const AxisPad pad_w = comma == std::string::npos ? pad_h : parse_axis_pad(pad_text.substr(comma + 1));
  const bool begin_end = pad_h.begin_end || pad_w.begin_end;
  if (begin_end && args.has("output-padding"))
    throw Error("option --output-padding cannot be given with begin:end --padding (the end padding "
                "already says where the output ends: use E - output_padding)");
  if (one_d) {
    p.stride_w = one_value(args, "stride", 1);
    p.pad_w = pad_w.begin;
    p.out_pad_w = one_value(args, "output-padding", 0);
    p.dil_w = one_value(args, "dilation", 1);
    p.stride_h = 1, p.pad_h = 0, p.out_pad_h = 0, p.dil_h = 1;
    if (begin_end) p.set_pads_w(pad_w.begin, pad_w.end);
  } else {
    std::tie(p.stride_h, p.stride_w) = args.get_pair("stride", {1, 1});
    p.pad_h = pad_h.begin, p.pad_w = pad_w.begin;
    std::tie(p.out_pad_h, p.out_pad_w) = args.get_pair("output-padding", {0, 0});
    std::tie(p.dil_h, p.dil_w) = args.get_pair("dilation", {1, 1});
    if (begin_end) p.set_pads_h(pad_h.begin, pad_h.end), p.set_pads_w(pad_w.begin, pad_w.end);
  }
  if (b_shape) {
    if ((*b_shape).size() != 1 || (*b_shape)[0] != p.c_out)
      throw Error("--bias must be 1-D of length C_out = " + std::to_string(p.c_out));
    p.has_bias = true;
  }
  if (const std::string why = p.validate(); !why.empty()) throw Error("invalid problem: " + why);
  return p;
}

}  // namespace tconv::cli
