// Host-side conversions between the project's exchange format (fp64, NCHW, PyTorch layouts) and
// what the device implementations take (the config's storage dtype and layout). Pure C++ (the
// fp16/bf16 rounding is CUDA's own host code from cuda_fp16.h/cuda_bf16.h), so tests check it on
// the CPU; DeviceOperands does the conversion here and then one cudaMemcpy per tensor.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/types.hpp"

namespace tconv::convert {

// (A,B,C,D) -> (A,C,D,B): x (N,C,H,W) -> (N,H,W,C) and w (C_in,C_out/g,k_h,k_w) ->
// (C_in,k_h,k_w,C_out/g) are both this permutation.
template <typename T>
std::vector<T> nchw_to_nhwc(const T* src, int64_t a, int64_t b, int64_t c, int64_t d) {
  std::vector<T> out(size_t(a * b * c * d));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k)
        for (int64_t l = 0; l < d; ++l)
          out[size_t(((i * c + k) * d + l) * b + j)] = src[((i * b + j) * c + k) * d + l];
  return out;
}

// The inverse: src is (A,C,D,B), the result (A,B,C,D); dimensions named as in the NCHW tensor.
template <typename T>
std::vector<T> nhwc_to_nchw(const T* src, int64_t a, int64_t b, int64_t c, int64_t d) {
  std::vector<T> out(size_t(a * b * c * d));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k)
        for (int64_t l = 0; l < d; ++l)
          out[size_t(((i * b + j) * c + k) * d + l)] = src[((i * c + k) * d + l) * b + j];
  return out;
}

// The value a double becomes once stored in `t` (round to nearest even; tf32 is stored as fp32).
inline double round_to(DType t, double v) {
  switch (t) {
    case DType::fp32:
    case DType::tf32: return double(float(v));
    case DType::fp16: return double(__half2float(__double2half(v)));
    case DType::bf16: return double(__bfloat162float(__double2bfloat16(v)));
    case DType::fp64: return v;
  }
  return v;
}

inline void round_all(DType t, std::vector<double>& v) {
  if (t == DType::fp64) return;
  for (double& e : v) e = round_to(t, e);
}

// fp64 values -> raw bytes in the storage dtype, storage_bytes(t) per element.
inline std::vector<unsigned char> to_storage(DType t, const double* v, size_t n) {
  std::vector<unsigned char> out(n * storage_bytes(t));
  switch (t) {
    case DType::fp32:
    case DType::tf32:
      for (size_t i = 0; i < n; ++i) {
        const float f = float(v[i]);
        std::memcpy(&out[i * 4], &f, 4);
      }
      break;
    case DType::fp16:
      for (size_t i = 0; i < n; ++i) {
        const __half_raw r = __double2half(v[i]);
        std::memcpy(&out[i * 2], &r.x, 2);
      }
      break;
    case DType::bf16:
      for (size_t i = 0; i < n; ++i) {
        const __nv_bfloat16_raw r = __double2bfloat16(v[i]);
        std::memcpy(&out[i * 2], &r.x, 2);
      }
      break;
    case DType::fp64:
      if (n) std::memcpy(out.data(), v, n * 8);
      break;
  }
  return out;
}

// Raw bytes in the storage dtype -> fp64 values (exact: every storage dtype widens exactly).
inline std::vector<double> from_storage(DType t, const unsigned char* bytes, size_t n) {
  std::vector<double> out(n);
  switch (t) {
    case DType::fp32:
    case DType::tf32:
      for (size_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, bytes + i * 4, 4);
        out[i] = f;
      }
      break;
    case DType::fp16:
      for (size_t i = 0; i < n; ++i) {
        __half_raw r;
        std::memcpy(&r.x, bytes + i * 2, 2);
        out[i] = __half2float(__half(r));
      }
      break;
    case DType::bf16:
      for (size_t i = 0; i < n; ++i) {
        __nv_bfloat16_raw r;
        std::memcpy(&r.x, bytes + i * 2, 2);
        out[i] = __bfloat162float(__nv_bfloat16(r));
      }
      break;
    case DType::fp64:
      if (n) std::memcpy(out.data(), bytes, n * 8);
      break;
  }
  return out;
}

}  // namespace tconv::convert
