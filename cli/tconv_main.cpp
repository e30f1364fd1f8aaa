// tconv: the command-line front of the suite.
//   tconv list                      the implementations, one per line, name first
//   tconv explain [shape options]   the matrix view of a small transposed convolution
//   tconv run --impl NAME ...       one implementation on .npy tensors (2-D, or 1-D as H = 1)
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bench/harness.hpp"
#include "bench/operands.hpp"
#include "bench/shapes.hpp"
#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "cli/run_problem.hpp"
#include "core/memory.hpp"
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
    "      --markdown         as the README's table, with the dtypes and layouts each claims\n"
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

namespace {

// What a configuration list says in the README's table: the dtypes and layouts an implementation
// claims (can_implement) on at least one of a few ordinary problems: a stride-2 upsampling with
// padding, one without (kernel = stride), and a 1-D one.
std::string claimed(const Implementation& impl, bool dtypes) {
  static const char* kProbes[] = {"n=2,c_in=64,h_in=16,w_in=16,c_out=64,k=4,stride=2,pad=1,bias=1",
                                  "n=2,c_in=64,h_in=16,w_in=16,c_out=64,k=2,stride=2",
                                  "n=2,c_in=64,l=64,c_out=64,k=4,stride=2,pad=1"};
  std::string out;
  auto add = [&](const std::string& v) { out += (out.empty() ? "" : ", ") + v; };
  if (dtypes) {
    for (DType t : {DType::fp64, DType::fp32, DType::tf32, DType::fp16, DType::bf16})
      for (const char* spec : kProbes)
        if (impl.can_implement(parse_shape_spec(spec, "probe").problem, Config{t, Layout::nchw})
                .ok ||
            impl.can_implement(parse_shape_spec(spec, "probe").problem, Config{t, Layout::nhwc})
                .ok) {
          add(to_string(t));
          break;
        }
  } else {
    for (Layout l : {Layout::nchw, Layout::nhwc})
      for (DType t : {DType::fp64, DType::fp32, DType::tf32, DType::fp16, DType::bf16}) {
        bool ok = false;
        for (const char* spec : kProbes)
          ok = ok || impl.can_implement(parse_shape_spec(spec, "probe").problem, Config{t, l}).ok;
        if (ok) {
          add(to_string(l));
          break;
        }
      }
  }
  return out.empty() ? "none" : out;
}

std::string markdown_cell(std::string s) {
  for (size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

}  // namespace

int cmd_list(const std::vector<std::string>& args, std::ostream& out) {
  const bool markdown = args.size() == 1 && args[0] == "--markdown";
  if (!args.empty() && !markdown) throw Error("list takes no options but --markdown");
  const auto impls = create_all_implementations();
  if (markdown) {
    // The README's implementation table (a test keeps the two equal): the registry's order,
    // names and summaries, and what each claims.
    out << "| name | backend | what | dtypes | layouts |\n|---|---|---|---|---|\n";
    for (const auto& impl : impls)
      out << "| `" << impl->name() << "` | " << (impl->backend() == Backend::cpu ? "cpu" : "gpu")
          << " | " << markdown_cell(impl->summary()) << " | " << claimed(*impl, true) << " | "
          << claimed(*impl, false) << " |\n";
    return 0;
  }
  for (const auto& impl : impls)
    out << impl->name() << "\t" << (impl->backend() == Backend::cpu ? "cpu" : "gpu") << "\t"
        << impl->summary() << "\n";
  return 0;
}

int cmd_run(const std::vector<std::string>& argv, std::ostream& out) {
  const Args args(argv, run_value_options(), {});
  const std::string output = args.require("output");
  auto impl = create_implementation(args.require("impl"));
  const NpyArray x = read_npy(args.require("input"));
  const NpyArray w = read_npy(args.require("weight"));
  NpyArray b;
  if (args.has("bias")) b = read_npy(args.require("bias"));
  const Problem p = problem_from(args, x.shape, w.shape, args.has("bias") ? &b.shape : nullptr);

  Config cfg;
  cfg.dtype = parse_dtype(args.get("dtype", impl->backend() == Backend::cpu ? "fp64" : "fp32"));
  cfg.layout = parse_layout(args.get("layout", "nchw"));
  if (impl->backend() == Backend::gpu && cfg.dtype == DType::fp64)
    throw Error("--dtype fp64 is for the CPU references only");
  if (const Support s = impl->can_implement(p, cfg); !s.ok)
    throw Error(impl->name() + " cannot run this problem: " + s.reason);

  // y as double, the .npy bytes written from it and, from a GPU, its download: sized by the
  // problem (a stride or a kernel can make y far larger than the files), so checked first.
  require_host_memory(double(p.y_elems()) * (16.0 + (x.is_float64 ? 8.0 : 4.0)),
                      "the output y (" + std::to_string(p.y_elems()) + " elements)");
  std::vector<double> y(size_t(p.y_elems()));
  const double* bias = p.has_bias ? b.data.data() : nullptr;
  if (impl->backend() == Backend::cpu) {
    Tensors t{x.data.data(), w.data.data(), bias, y.data()};
    Context host(Context::HostOnly{});
    impl->run(host, p, cfg, t);
  } else {
    Context ctx;
    if (const size_t need = DeviceOperands::bytes_needed(p, cfg); need > ctx.memory_budget())
      throw Error("the operands need " + format_bytes(double(need)) + " of device memory, over " +
                  format_bytes(double(ctx.memory_budget())) + " (80% of the free memory)");
    DeviceOperands ops(p, cfg);
    ops.upload(x.data.data(), w.data.data(), bias);
    ops.poison_y();
    Prepared prep;
    const auto held = prepare_on_device(ctx, *impl, p, cfg, ops.tensors(), &prep);
    if (!prep.status.is_ok())
      throw Error(impl->name() + ": " + to_string(prep.status.code) + ": " + prep.status.reason);
    impl->run(ctx, p, cfg, ops.tensors());
    ctx.synchronize();
    y = ops.download_y();
  }
  const std::vector<int64_t> y_shape =
      x.shape.size() == 3 ? std::vector<int64_t>{p.n, p.c_out, p.w_out()}
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
