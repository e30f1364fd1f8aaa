// The operands of one problem on the device: x, w, bias and y in the config's dtype and layout
// (kernels/common/implementation.hpp conventions), filled from and read back to host fp64 NCHW arrays
// in PyTorch's layouts. Used by the harness and by `tconv run` on a user's .npy tensors.
#pragma once

#include <vector>

#include <cuda_runtime.h>

#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/implementation.hpp"

namespace tconv {

class DeviceOperands {
 public:
  // Allocates x, w, bias (when p.has_bias) and y in cfg's storage dtype (fp64 allowed too).
  // Throws tconv::Error on allocation failure.
  DeviceOperands(const Problem& p, const Config& cfg);

  // Host fp64 NCHW (x (N,C_in,H_in,W_in), w (C_in,C_out/g,k_h,k_w), bias (C_out)) -> device,
  // rounded to nearest in the storage dtype and permuted for nhwc. bias may be null (then the
  // device bias, if any, is zeroed). Returns after the data is on the device.
  void upload(const double* x, const double* w, const double* bias);
  // Fills y with all-ones bytes: a quiet NaN in every dtype (0xFFFFFFFF, 0xFFFF). On `stream`
  // when given (then synchronized), else on the device as a whole. Returns when done.
  void poison_y(cudaStream_t stream = nullptr);
  // Device y -> host fp64 NCHW (N,C_out,H_out,W_out). Synchronizes the device first.
  std::vector<double> download_y() const;
  // Raw bytes of y as stored (for bit-for-bit comparisons). Synchronizes the device first.
  std::vector<unsigned char> download_y_raw() const;
  // Raw y bytes (as download_y_raw returns them) -> fp64 NCHW.
  std::vector<double> decode_y(const std::vector<unsigned char>& raw) const;

  Tensors tensors() const;
  const Problem& problem() const { return p_; }
  const Config& config() const { return cfg_; }
  // Device bytes held for x, w, bias and y together.
  size_t bytes() const { return x_.bytes() + w_.bytes() + bias_.bytes() + y_.bytes(); }
  // Bytes DeviceOperands(p, cfg) would allocate, without allocating.
  static size_t bytes_needed(const Problem& p, const Config& cfg);

 private:
  Problem p_;
  Config cfg_;
  DeviceBuffer x_, w_, bias_, y_;
};

}  // namespace tconv
