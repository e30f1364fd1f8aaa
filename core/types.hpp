// Data types and layouts an implementation can be asked to run in.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace tconv {

// tf32: fp32 storage, tensor-core math with a 10-bit mantissa. fp64 is for the references only.
enum class DType { fp32, tf32, fp16, bf16, fp64 };
enum class Layout { nchw, nhwc };

// Where an implementation runs; host implementations take host pointers to double.
enum class Backend { cpu, gpu };

// Every failure the project reports: one line, naming what failed and why.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure that makes every later row meaningless: a broken installation (cuDNN built for another
// CUDA, a missing sublibrary, a driver older than the runtime). The bench stops the run with its
// message instead of writing it as one row's not_supported or skipped.
class FatalError : public Error {
 public:
  using Error::Error;
};

inline const char* to_string(DType t) {
  switch (t) {
    case DType::fp32: return "fp32";
    case DType::tf32: return "tf32";
    case DType::fp16: return "fp16";
    case DType::bf16: return "bf16";
    case DType::fp64: return "fp64";
  }
  return "?";
}
inline const char* to_string(Layout l) { return l == Layout::nchw ? "nchw" : "nhwc"; }

// Bytes of one stored element (tf32 is stored as fp32).
inline size_t storage_bytes(DType t) {
  switch (t) {
    case DType::fp16:
    case DType::bf16: return 2;
    case DType::fp64: return 8;
    default: return 4;
  }
}

inline DType parse_dtype(const std::string& s) {
  for (DType t : {DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp64})
    if (s == to_string(t)) return t;
  throw Error("unknown dtype '" + s + "' (expected fp32, tf32, fp16, bf16 or fp64)");
}
inline Layout parse_layout(const std::string& s) {
  if (s == "nchw") return Layout::nchw;
  if (s == "nhwc") return Layout::nhwc;
  throw Error("unknown layout '" + s + "' (expected nchw or nhwc)");
}

// What the caller asks of an implementation beyond the problem itself.
struct Config {
  DType dtype = DType::fp32;
  Layout layout = Layout::nchw;
};

// CUTLASS-style disposition of can_implement: ok, or a reason that goes into the CSV row.
struct Support {
  bool ok = true;
  std::string reason;
  static Support yes() { return {true, ""}; }
  static Support no(std::string why) { return {false, std::move(why)}; }
};

}  // namespace tconv
