// tconv: the command-line front of the suite.
//   tconv list                      the implementations, one per line, name first
//   tconv explain [shape options]   the matrix view of a small transposed convolution
//   tconv run --impl NAME ...       one implementation on .npy tensors
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
    "      --input x.npy      (N, C_in, H_in, W_in)\n"
    "      --weight w.npy     (C_in, C_out/groups, kH, kW), as PyTorch stores it\n"
    "      --bias b.npy       (C_out), optional\n"
    "      --stride S[,S] --padding P[,P] --output-padding A[,A] --dilation D[,D] --groups G\n"
    "                         PyTorch's defaults: 1, 0, 0, 1, 1\n"
    "      --dtype T          GPU math: fp32 (default), tf32, fp16, bf16\n"
    "      --layout L         GPU memory layout: nchw (default) or nhwc\n"
    "      --output y.npy     (N, C_out, H_out, W_out), written in the input's dtype\n";

}  // namespace

int cmd_list(const std::vector<std::string>& args, std::ostream& out) {
  if (!args.empty()) throw Error("list takes no options");
  for (const auto& impl : create_all_implementations())
    out << impl->name() << "\t" << (impl->backend() == Backend::cpu ? "cpu" : "gpu") << "\t"
        << impl->summary() << "\n";
  return 0;
}

namespace {
// Problem from the tensor shapes and the options; every mismatch is an error naming both sides.
Problem problem_from(const Args& args, const NpyArray& x, const NpyArray& w, const NpyArray* b) {
  if (x.shape.size() != 4)
    throw Error("--input must be 4-D (N, C_in, H_in, W_in), got " + std::to_string(x.shape.size()) + "-D");
  if (w.shape.size() != 4)
    throw Error("--weight must be 4-D (C_in, C_out/groups, kH, kW), got " + std::to_string(w.shape.size()) + "-D");
  Problem p;
  p.n = x.shape[0], p.c_in = x.shape[1], p.h_in = x.shape[2], p.w_in = x.shape[3];
  p.groups = args.get_int("groups", 1);
  if (w.shape[0] != p.c_in)
    throw Error("--weight has " + std::to_string(w.shape[0]) + " input channels (dim 0) but --input has " +
                std::to_string(p.c_in));
  p.c_out = w.shape[1] * p.groups;
  p.k_h = w.shape[2], p.k_w = w.shape[3];
  std::tie(p.stride_h, p.stride_w) = args.get_pair("stride", {1, 1});
  std::tie(p.pad_h, p.pad_w) = args.get_pair("padding", {0, 0});
  std::tie(p.out_pad_h, p.out_pad_w) = args.get_pair("output-padding", {0, 0});
  std::tie(p.dil_h, p.dil_w) = args.get_pair("dilation", {1, 1});
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
  write_npy(output, {p.n, p.c_out, p.h_out(), p.w_out()}, y, x.is_float64);
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
  try {
    if (command == "list") return cmd_list(args, std::cout);
    if (command == "explain") return cmd_explain(args, std::cout);
    if (command == "run") return cmd_run(args, std::cout);
    std::cerr << "tconv: error: unknown command '" << command << "' (try tconv --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tconv: error: " << e.what() << "\n";
    return 1;
  }
}
