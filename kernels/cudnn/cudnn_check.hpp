// TCONV_CUDNN_CHECK: kernels/common/cuda_check.hpp's CHECK macro for cuDNN, kept with the cuDNN
// rows so that nothing else includes cudnn.h.
#pragma once

#include <cudnn.h>

#include <string>

#include "kernels/common/cuda_check.hpp"

namespace tconv {

// cuDNN statuses that mean the installation, not the configuration, is at fault. They are never a
// row's not_supported: the run stops (FatalError) so a broken setup cannot pass for "cuDNN does
// not support this shape" in every row.
inline bool cudnn_status_is_fatal(cudnnStatus_t s) {
  switch (s) {
    case CUDNN_STATUS_NOT_INITIALIZED:
    case CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH:
    case CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH:
    case CUDNN_STATUS_LICENSE_ERROR:
    case CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED:
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER:
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART:
    case CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH:
    case CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING:
    case CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE:
    case CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER:
    case CUDNN_STATUS_EXECUTION_FAILED_CUDART:
      return true;
    default:
      return false;
  }
}

// Call on every cuDNN status before it is turned into a row's not_supported or skipped: throws
// FatalError for a broken installation, returns otherwise.
inline void throw_if_cudnn_fatal(cudnnStatus_t s, const std::string& where) {
  if (cudnn_status_is_fatal(s))
    throw FatalError("cuDNN installation problem in " + where + ": " + cudnnGetErrorString(s) +
                     " (cuDNN " + std::to_string(cudnnGetVersion()) + " built for CUDA " +
                     std::to_string(cudnnGetCudartVersion()) +
                     "); fix the installation: every cuDNN row would be wrong");
}

}  // namespace tconv

#define TCONV_CUDNN_CHECK(call)                                                                \
  do {                                                                                         \
    cudnnStatus_t tconv_st_ = (call);                                                          \
    if (tconv_st_ != CUDNN_STATUS_SUCCESS) {                                                   \
      ::tconv::throw_if_cudnn_fatal(                                                           \
          tconv_st_, std::string(#call) + " at " + __FILE__ + ":" + std::to_string(__LINE__)); \
      ::tconv::detail::throw_check("cuDNN", #call, __FILE__, __LINE__,                         \
                                   cudnnGetErrorString(tconv_st_));                            \
    }                                                                                          \
  } while (0)
