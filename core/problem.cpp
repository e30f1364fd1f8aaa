#include "core/problem.hpp"

#include <algorithm>
#include <sstream>

namespace tconv {
namespace {

// Keeps every intermediate of the size formulas far from int64 overflow.
constexpr int64_t kMaxField = int64_t(1) << 24;

bool mul_overflows(int64_t a, int64_t b, int64_t limit) { return b != 0 && a > limit / b; }

// Element count as a product, or -1 if it passes the kernels' index limit.
int64_t checked_count(std::initializer_list<int64_t> dims) {
  int64_t total = 1;
  for (int64_t d : dims) {
    if (mul_overflows(total, d, kMaxTensorElems)) return -1;
    total *= d;
  }
  return total;
}

}  // namespace

std::string Problem::validate() const {
  std::ostringstream err;
  struct Field {
    const char* name;
    int64_t value;
    int64_t min;
  };
  const Field fields[] = {
      {"n", n, 1},           {"c_in", c_in, 1},       {"h_in", h_in, 1},
      {"w_in", w_in, 1},     {"c_out", c_out, 1},     {"k_h", k_h, 1},
      {"k_w", k_w, 1},       {"stride_h", stride_h, 1}, {"stride_w", stride_w, 1},
      {"pad_h", pad_h, 0},   {"pad_w", pad_w, 0},     {"out_pad_h", out_pad_h, 0},
      {"out_pad_w", out_pad_w, 0}, {"dil_h", dil_h, 1}, {"dil_w", dil_w, 1},
      {"groups", groups, 1},
  };
  for (const Field& f : fields) {
    // Begin/end padding: out_pad is begin - end, any sign (end checked below).
    if (begin_end_pads && std::string(f.name).rfind("out_pad_", 0) == 0) continue;
    if (f.value < f.min) {
      err << f.name << " = " << f.value << " must be >= " << f.min;
      return err.str();
    }
    if (f.value > kMaxField) {
      err << f.name << " = " << f.value << " exceeds the supported maximum " << kMaxField;
      return err.str();
    }
  }
  if (c_in % groups != 0) {
    err << "c_in = " << c_in << " must be divisible by groups = " << groups;
    return err.str();
  }
  if (c_out % groups != 0) {
    err << "c_out = " << c_out << " must be divisible by groups = " << groups;
    return err.str();
  }
  if (begin_end_pads) {
    // Begin/end padding. begin >= 0 (checked above as pad): an output before the full output would
    // receive no input, and no format asks for one. end may be negative (outputs past the full
    // output, as ONNX's output_shape and output_padding give), down to -kMaxField.
    const struct {
      const char* name;
      int64_t end;
    } ends[] = {{"pad_end_h", pad_end_h()}, {"pad_end_w", pad_end_w()}};
    for (const auto& e : ends)
      if (e.end < -kMaxField || e.end > kMaxField) {
        err << e.name << " = " << e.end << " is outside the supported range [-" << kMaxField << ", "
            << kMaxField << "]";
        return err.str();
      }
    if (h_out() < 1) {
      err << "h_out = (h_in-1)*stride_h + dil_h*(k_h-1) + 1 - pad_begin_h - pad_end_h = " << h_out()
          << " must be >= 1 (begin + end padding too large)";
      return err.str();
    }
    if (w_out() < 1) {
      err << "w_out = (w_in-1)*stride_w + dil_w*(k_w-1) + 1 - pad_begin_w - pad_end_w = " << w_out()
          << " must be >= 1 (begin + end padding too large)";
      return err.str();
    }
  }
  // PyTorch's rule: output padding must be smaller than either stride or dilation.
  if (!begin_end_pads && out_pad_h >= std::max(stride_h, dil_h)) {
    err << "out_pad_h = " << out_pad_h << " must be smaller than max(stride_h, dil_h) = "
        << std::max(stride_h, dil_h);
    return err.str();
  }
  if (!begin_end_pads && out_pad_w >= std::max(stride_w, dil_w)) {
    err << "out_pad_w = " << out_pad_w << " must be smaller than max(stride_w, dil_w) = "
        << std::max(stride_w, dil_w);
    return err.str();
  }
  if (h_out() < 1) {
    err << "h_out = (h_in-1)*stride_h - 2*pad_h + dil_h*(k_h-1) + out_pad_h + 1 = " << h_out()
        << " must be >= 1 (pad_h too large)";
    return err.str();
  }
  if (w_out() < 1) {
    err << "w_out = (w_in-1)*stride_w - 2*pad_w + dil_w*(k_w-1) + out_pad_w + 1 = " << w_out()
        << " must be >= 1 (pad_w too large)";
    return err.str();
  }
  if (h_out() > kMaxField || w_out() > kMaxField) {
    err << "output size " << h_out() << "x" << w_out() << " exceeds the supported maximum "
        << kMaxField;
    return err.str();
  }
  struct Count {
    const char* name;
    int64_t elems;
  };
  const Count counts[] = {
      {"x (n*c_in*h_in*w_in)", checked_count({n, c_in, h_in, w_in})},
      {"weight (c_in*c_out/groups*k_h*k_w)", checked_count({c_in, c_out / groups, k_h, k_w})},
      {"y (n*c_out*h_out*w_out)", checked_count({n, c_out, h_out(), w_out()})},
  };
  for (const Count& c : counts) {
    if (c.elems < 0) {
      err << "tensor " << c.name << " has more than " << kMaxTensorElems
          << " elements, the int32 index limit of the kernels";
      return err.str();
    }
  }
  return "";
}

std::string Problem::to_string() const {
  std::ostringstream s;
  s << "n=" << n << " c_in=" << c_in << " in=" << h_in << "x" << w_in << " c_out=" << c_out
    << " k=" << k_h << "x" << k_w << " stride=" << stride_h << "," << stride_w
    << (pytorch_pads() ? " pad=" + std::to_string(pad_h) + "," + std::to_string(pad_w) +
                             " out_pad=" + std::to_string(out_pad_h) + "," + std::to_string(out_pad_w)
                       : " pad=" + std::to_string(pad_begin_h()) + ":" + std::to_string(pad_end_h()) +
                             "," + std::to_string(pad_begin_w()) + ":" +
                             std::to_string(pad_end_w()) + " (begin:end)")
    << " dil=" << dil_h << "," << dil_w << " groups=" << groups
    << " bias=" << (has_bias ? "yes" : "no") << " -> out=" << h_out() << "x" << w_out();
  return s.str();
}

}  // namespace tconv
