// `tconv explain`: the matrix view of a transposed convolution on a problem small enough to read.
// The shape options describe the FORWARD convolution whose matrix is C (default: 4x4 input, 3x3
// kernel, stride 1, no padding -> 2x2 output, C is 16x4); the transposed convolution maps that
// 2x2 back up to 4x4.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <random>
#include <sstream>

#include "cli/cli_args.hpp"
#include "cli/commands.hpp"
#include "core/npy.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "reference/reference.hpp"

namespace tconv::cli {
namespace {

// Matrices up to this many rows and columns are printed whole; larger ones (a --size near its
// limit makes C and C*C^T 4096 wide) as their top-left corner, so that the output stays readable
// and bounded (--dump-c writes C in full).
constexpr int64_t kPrintWhole = 64, kPrintCorner = 16;

void print_matrix(std::ostream& out, const std::string& title, const double* m, int64_t rows,
                  int64_t cols, int width = 5) {
  out << title << " (" << rows << "x" << cols << ")\n";
  const bool corner = rows > kPrintWhole || cols > kPrintWhole;
  const int64_t show_r = corner ? std::min(rows, kPrintCorner) : rows;
  const int64_t show_c = corner ? std::min(cols, kPrintCorner) : cols;
  if (corner)
    out << "  (the top-left " << show_r << "x" << show_c << " corner; --dump-c writes C in full)\n";
  for (int64_t r = 0; r < show_r; ++r) {
    out << "  ";
    for (int64_t c = 0; c < show_c; ++c) {
      const double v = m[r * cols + c];
      const double rv = std::round(v);
      if (std::fabs(v - rv) < 1e-9)
        out << std::setw(width) << int64_t(rv);
      else
        out << std::setw(width + 3) << std::fixed << std::setprecision(2) << v;
    }
    out << "\n";
  }
}

std::string dump_csv(const std::vector<double>& c, int64_t rows, int64_t cols) {
  std::ostringstream s;
  s << std::setprecision(17);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) s << (k ? "," : "") << c[size_t(r * cols + k)];
    s << "\n";
  }
  return s.str();
}

}  // namespace

int cmd_explain(const std::vector<std::string>& argv, std::ostream& out) {
  const Args args(argv, {"size", "kernel", "stride", "padding", "dilation", "seed", "dump-c"},
                  {"random"});
  const auto [size_h, size_w] = args.get_pair("size", {4, 4});
  const auto [k_h, k_w] = args.get_pair("kernel", {3, 3});
  const auto [s_h, s_w] = args.get_pair("stride", {1, 1});
  const auto [p_h, p_w] = args.get_pair("padding", {0, 0});
  const auto [d_h, d_w] = args.get_pair("dilation", {1, 1});
  if (size_h < 1 || size_w < 1 || size_h > 64 || size_w > 64)
    throw Error("--size must be between 1 and 64 per dimension (explain prints every entry of C)");
  if (s_h < 1 || s_w < 1 || d_h < 1 || d_w < 1 || k_h < 1 || k_w < 1 || p_h < 0 || p_w < 0)
    throw Error("--kernel, --stride and --dilation must be >= 1 and --padding >= 0");
  // The sizes above bound what any larger value could mean here, and keep the arithmetic below
  // far from overflow.
  if (std::max({s_h, s_w, d_h, d_w, k_h, k_w, p_h, p_w}) > 64)
    throw Error("--kernel, --stride, --dilation and --padding must be at most 64 (as --size)");

  // The forward conv's output size; the transposed conv takes that back to size_h x size_w, with
  // output_padding absorbing the rows a strided forward conv drops.
  const int64_t fh = (size_h + 2 * p_h - d_h * (k_h - 1) - 1);
  const int64_t fw = (size_w + 2 * p_w - d_w * (k_w - 1) - 1);
  if (fh < 0 || fw < 0)
    throw Error("the kernel (with dilation) is larger than the padded --size: no output");
  Problem p;
  p.h_in = fh / s_h + 1;
  p.w_in = fw / s_w + 1;
  p.k_h = k_h, p.k_w = k_w, p.stride_h = s_h, p.stride_w = s_w;
  p.pad_h = p_h, p.pad_w = p_w, p.dil_h = d_h, p.dil_w = d_w;
  p.out_pad_h = size_h - ((p.h_in - 1) * s_h - 2 * p_h + d_h * (k_h - 1) + 1);
  p.out_pad_w = size_w - ((p.w_in - 1) * s_w - 2 * p_w + d_w * (k_w - 1) + 1);
  if (const std::string why = p.validate(); !why.empty()) throw Error("invalid problem: " + why);

  // Small integers by default so every product can be checked by hand.
  std::vector<double> x(size_t(p.x_elems())), w(size_t(p.w_elems()));
  if (args.has("random") || args.has("seed")) {
    std::mt19937_64 rng(uint64_t(args.get_int("seed", 1)));
    std::uniform_int_distribution<int> dist(-3, 3);
    auto nonzero = [&] {
      int v = 0;
      while (v == 0) v = dist(rng);
      return double(v);
    };
    for (double& v : x) v = nonzero();
    for (double& v : w) v = nonzero();
  } else {
    for (size_t i = 0; i < x.size(); ++i) x[i] = double(i + 1);
    for (size_t i = 0; i < w.size(); ++i) w[i] = double(i + 1);
  }
  const int64_t rows = p.h_out() * p.w_out(), cols = p.h_in * p.w_in;
  const std::vector<double> c = ref::build_c(p, w.data());

  out << "Transposed convolution as a matrix product\n"
      << "==========================================\n"
      << "Forward convolution: " << size_h << "x" << size_w << " input, " << k_h << "x" << k_w
      << " kernel, stride " << s_h << "," << s_w << ", padding " << p_h << "," << p_w
      << ", dilation " << d_h << "," << d_w << " -> " << p.h_in << "x" << p.w_in << " output.\n"
      << "Flatten images row by row into row vectors. The forward convolution is  O = I * C\n"
      << "with I 1x" << rows << " and C " << rows << "x" << cols
      << ". The transposed convolution multiplies by C^T instead:\n"
      << "y = x * C^T maps a " << p.h_in << "x" << p.w_in << " x back up to " << p.h_out() << "x"
      << p.w_out() << " (PyTorch: ConvTranspose2d(1, 1, (" << k_h << "," << k_w << "), stride=("
      << s_h << "," << s_w << "), padding=(" << p_h << "," << p_w << "), output_padding=("
      << p.out_pad_h << "," << p.out_pad_w << "), dilation=(" << d_h << "," << d_w << "))).\n\n";

  print_matrix(out, "kernel w", w.data(), k_h, k_w);
  out << "\n";
  print_matrix(out, "C: row r = input pixel (r / " + std::to_string(p.w_out()) + ", r % " +
                        std::to_string(p.w_out()) + "), column = output pixel of the forward conv",
               c.data(), rows, cols);
  int64_t nnz = 0;
  for (double v : c) nnz += v != 0.0;
  out << "  " << nnz << " nonzeros of " << rows * cols << " (" << std::fixed
      << std::setprecision(1) << 100.0 * double(nnz) / double(rows * cols) << "% dense)\n\n";

  print_matrix(out, "x (transposed-conv input)", x.data(), p.h_in, p.w_in);
  out << "\n";
  std::vector<double> y_matrix(size_t(p.y_elems())), y_zero(size_t(p.y_elems()));
  ref::matrix(p, x.data(), w.data(), nullptr, y_matrix.data());
  print_matrix(out, "y = x * C^T, reshaped", y_matrix.data(), p.h_out(), p.w_out());
  out << "\n";

  // Zero insertion, shown explicitly: the image the flipped kernel slides over.
  const int64_t top = d_h * (k_h - 1) - p_h, left = d_w * (k_w - 1) - p_w;
  const int64_t hz = p.h_out() + d_h * (k_h - 1), wz = p.w_out() + d_w * (k_w - 1);
  std::vector<double> z(size_t(hz * wz), 0.0);
  for (int64_t iy = 0; iy < p.h_in; ++iy)
    for (int64_t ix = 0; ix < p.w_in; ++ix) {
      const int64_t zy = top + iy * s_h, zx = left + ix * s_w;
      if (zy >= 0 && zy < hz && zx >= 0 && zx < wz) z[size_t(zy * wz + zx)] = x[size_t(iy * p.w_in + ix)];
    }
  out << "Zero insertion: " << s_h - 1 << "," << s_w - 1
      << " zeros between inputs, padding dilation*(k-1)-padding = " << top << "," << left
      << " (plus output_padding " << p.out_pad_h << "," << p.out_pad_w << " at the bottom/right)\n";
  print_matrix(out, "zero-inserted, padded x", z.data(), hz, wz);
  std::vector<double> wf(w.rbegin(), w.rend());
  print_matrix(out, "kernel flipped up-down and left-right", wf.data(), k_h, k_w);
  ref::zero_insert(p, x.data(), w.data(), nullptr, y_zero.data());
  print_matrix(out, "y = stride-1 convolution of that with the flipped kernel", y_zero.data(),
               p.h_out(), p.w_out());
  double diff = 0.0;
  for (size_t i = 0; i < y_zero.size(); ++i) diff = std::max(diff, std::fabs(y_zero[i] - y_matrix[i]));
  out << "max |C^T product - zero insertion| = " << diff
      << (diff < 1e-9 ? "  (they agree)\n\n" : "  (THEY DISAGREE: a bug)\n\n");

  // C * C^T: rows x rows. Not the identity: the transposed convolution is not an inverse.
  // Column by column over C's nonzeros (at most kH*kW a column): the dense triple loop took
  // rows^2 * cols steps: 4096^2 * 3844, about 6e10, at --size 64 with a 3x3 kernel.
  std::vector<double> cct(size_t(rows * rows), 0.0);
  std::vector<int64_t> nz;
  for (int64_t k = 0; k < cols; ++k) {
    nz.clear();
    for (int64_t i = 0; i < rows; ++i)
      if (c[size_t(i * cols + k)] != 0.0) nz.push_back(i);
    for (int64_t i : nz)
      for (int64_t j : nz) cct[size_t(i * rows + j)] += c[size_t(i * cols + k)] * c[size_t(j * cols + k)];
  }
  double frob = 0.0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) {
      const double d = cct[size_t(i * rows + j)] - (i == j ? 1.0 : 0.0);
      frob += d * d;
    }
  print_matrix(out, "C * C^T", cct.data(), rows, rows, 6);
  out << "||C * C^T - I||_F = " << std::setprecision(3) << std::sqrt(frob)
      << "  (not the identity: the transposed convolution restores the shape, not the values;"
      << " rank(C) <= " << std::min(rows, cols) << " < " << rows << ")\n";

  if (args.has("dump-c")) {
    const std::string path = args.require("dump-c");
    const bool csv = path.size() >= 4 && path.substr(path.size() - 4) == ".csv";
    const bool npy = path.size() >= 4 && path.substr(path.size() - 4) == ".npy";
    if (!csv && !npy) throw Error("--dump-c: file name must end in .npy or .csv");
    if (npy)
      write_npy(path, {rows, cols}, c, true);
    else
      write_file_atomic(path, dump_csv(c, rows, cols));
    out << "C written to " << path << " (" << rows << "x" << cols << ")\n";
  }
  return 0;
}

}  // namespace tconv::cli
