// tconv: the command-line front of the suite.
//   tconv list                      the implementations, one per line, name first
//   tconv explain [shape options]   the matrix view of a small transposed convolution
//   tconv run --impl NAME ...       one implementation on .npy tensors (2-D, or 1-D as H = 1)
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bench/operands.hpp"
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "core/npy.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv::cli {
namespace {

const char* kUsage =
    "usage: tconv <command> [options]\n"
    "\n"
    "commands:\n"
    "  list                 the implementations: name, backend, what it is\n"
    "  explain              the matrix view of a small transposed convolution\n"
    "      --size H[,W]       forward-conv input = transposed-conv output size (default 4)\n"
    "      --kernel K[,K]     (default 3)  --stride S[,S] (1)  --padding P[,P] (0)\n"
    "      --dilation D[,D]   (default 1)  --random / --seed N  random small integers\n"
    "      --dump-c FILE      write C as .npy (float64) or .csv\n"
    "  run                  one implementation on NumPy .npy tensors (float32 or float64)\n"
    "      --impl NAME        a name from `tconv list`\n"
    "      --input x.npy      (N, C_in, H_in, W_in), or (N, C_in, L) for 1-D\n"
    "      --weight w.npy     (C_in, C_out/groups, kH, kW), or (C_in, C_out/groups, K) for 1-D,\n"
    "                         as PyTorch stores it (ConvTranspose2d / ConvTranspose1d)\n"
    "      --bias b.npy       (C_out), optional\n"
    "      --stride S[,S] --padding P[,P] --output-padding A[,A] --dilation D[,D] --groups G\n"
    "                         PyTorch's defaults: 1, 0, 0, 1, 1; 1-D takes one value each\n"
    "      --padding B:E[,B:E]  begin and end padding instead (ONNX's pads, TensorFlow's 'same'):\n"
    "                         output o is full-output element o + B; E < 0 adds outputs at the\n"
    "                         end; no --output-padding with it (fold it into E: E - A)\n"
    "      --dtype T          GPU math: fp32 (default), tf32, fp16, bf16\n"
    "      --layout L         GPU memory layout: nchw (default) or nhwc\n"
    "      --output y.npy     (N, C_out, H_out, W_out), or (N, C_out, L_out) for 1-D, written in\n"
    "                         the input's dtype\n"
    "\n"
    "tconv COMMAND --help prints the options of one command.\n";

}  // namespace

int cmd_list(const std::vector<std::string>& args, std::ostream& out) {
  if (!args.empty()) throw Error("list takes no options");
  for (const auto& impl : create_all_implementations())
    out << impl->name() << "\t" << (impl->backend() == Backend::cpu ? "cpu" : "gpu") << "\t"
        << impl->summary() << "\n";
  return 0;
}

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

// Problem from the tensor shapes and the options; every mismatch is an error naming both sides.
// 3-D x and w are PyTorch's ConvTranspose1d, run as the 2-D problem with H = 1 and a 1-tall kernel.
Problem problem_from(const Args& args, const NpyArray& x, const NpyArray& w, const NpyArray* b) {
  const size_t rank = x.shape.size();
  if (rank != 3 && rank != 4)
    throw Error("--input must be 3-D (N, C_in, L) or 4-D (N, C_in, H_in, W_in), got " + rank_text(rank));
  if (w.shape.size() != rank)
    throw Error("--input is " + rank_text(rank) + " but --weight is " + rank_text(w.shape.size()) +
                (rank == 3 ? ": a 1-D input needs a 3-D weight (C_in, C_out/groups, K)"
                           : ": a 2-D input needs a 4-D weight (C_in, C_out/groups, kH, kW)"));
  const bool one_d = rank == 3;
  Problem p;
  p.n = x.shape[0], p.c_in = x.shape[1];
  p.h_in = one_d ? 1 : x.shape[2];
  p.w_in = x.shape[rank - 1];
  p.groups = args.get_int("groups", 1);
  if (w.shape[0] != p.c_in)
    throw Error("--weight has " + std::to_string(w.shape[0]) + " input channels (dim 0) but --input has " +
                std::to_string(p.c_in));
  p.c_out = w.shape[1] * p.groups;
  p.k_h = one_d ? 1 : w.shape[2];
  p.k_w = w.shape[rank - 1];
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
  if (b) {
    if (b->shape.size() != 1 || b->shape[0] != p.c_out)
      throw Error("--bias must be 1-D of length C_out = " + std::to_string(p.c_out));
    p.has_bias = true;
  }
  if (const std::string why = p.validate(); !why.empty()) throw Error("invalid problem: " + why);
  return p;
}
}  // namespace

int cmd_run(const std::vector<std::string>& argv, std::ostream& out) {
  const Args args(argv,
                  {"impl", "input", "weight", "bias", "stride", "padding", "output-padding",
                   "dilation", "groups", "output", "dtype", "layout"},
                  {});
  const std::string output = args.require("output");
  auto impl = create_implementation(args.require("impl"));
  const NpyArray x = read_npy(args.require("input"));
  const NpyArray w = read_npy(args.require("weight"));
  NpyArray b;
  if (args.has("bias")) b = read_npy(args.require("bias"));
  const Problem p = problem_from(args, x, w, args.has("bias") ? &b : nullptr);

  Config cfg;
  cfg.dtype = parse_dtype(args.get("dtype", impl->backend() == Backend::cpu ? "fp64" : "fp32"));
  cfg.layout = parse_layout(args.get("layout", "nchw"));
  if (impl->backend() == Backend::gpu && cfg.dtype == DType::fp64)
    throw Error("--dtype fp64 is for the CPU references only");
  if (const Support s = impl->can_implement(p, cfg); !s.ok)
    throw Error(impl->name() + " cannot run this problem: " + s.reason);

  std::vector<double> y(size_t(p.y_elems()));
  const double* bias = p.has_bias ? b.data.data() : nullptr;
  if (impl->backend() == Backend::cpu) {
    Tensors t{x.data.data(), w.data.data(), bias, y.data()};
    Context host(Context::HostOnly{});
    impl->run(host, p, cfg, t);
  } else {
    Context ctx;
    DeviceOperands ops(p, cfg);
    ops.upload(x.data.data(), w.data.data(), bias);
    ops.poison_y();
    impl->prepare(ctx, p, cfg, ops.tensors());
    impl->run(ctx, p, cfg, ops.tensors());
    ctx.synchronize();
    y = ops.download_y();
  }
  const std::vector<int64_t> y_shape = x.shape.size() == 3
                                           ? std::vector<int64_t>{p.n, p.c_out, p.w_out()}
                                           : std::vector<int64_t>{p.n, p.c_out, p.h_out(), p.w_out()};
  write_npy(output, y_shape, y, x.is_float64);
  out << impl->name() << ": " << p.to_string() << " -> " << output << "\n";
  return 0;
}

}  // namespace tconv::cli

int main(int argc, char** argv) {
  using namespace tconv::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                    std::find(args.begin(), args.end(), "-h") != args.end();
  if (help && command == "list") {
    std::cout << kUsage;
    return 0;
  }
  set_command_name("tconv " + command);
  try {
    if (command == "list") return cmd_list(args, std::cout);
    if (command == "explain") return cmd_explain(args, std::cout);
    if (command == "run") return cmd_run(args, std::cout);
    std::cerr << "tconv: error: unknown command '" << command << "' (try tconv --help)\n";
    return 2;
  } catch (const HelpRequested& h) {
    std::cout << h.text;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tconv: error: " << e.what() << "\n";
    return 1;
  }
}
