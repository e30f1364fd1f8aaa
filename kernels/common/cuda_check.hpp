// The one error header. Every CUDA, cuBLAS and cuSPARSE call goes through a CHECK macro that
// throws tconv::Error naming the call, file:line and the library's own error string, and every
// kernel launch is followed by TCONV_CHECK_LAUNCH(). cuDNN's macro, TCONV_CUDNN_CHECK, is the same
// built on throw_check below, in kernels/cudnn/cudnn_check.hpp, so that only the cuDNN rows
// include cudnn.h.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <string>

#include "core/types.hpp"

namespace tconv::detail {

[[noreturn]] inline void throw_check(const char* lib, const char* call, const char* file, int line,
                                     const std::string& what) {
  throw Error(std::string(lib) + " call " + call + " failed at " + file + ":" +
              std::to_string(line) + ": " + what);
}

}  // namespace tconv::detail


#define TCONV_CUDA_CHECK(call)                                                             \
  do {                                                                                     \
    cudaError_t tconv_err_ = (call);                                                       \
    if (tconv_err_ != cudaSuccess)                                                         \
      ::tconv::detail::throw_check("CUDA", #call, __FILE__, __LINE__,                      \
                                   std::string(cudaGetErrorName(tconv_err_)) + ": " +     \
                                       cudaGetErrorString(tconv_err_));                    \
  } while (0)

#define TCONV_CUBLAS_CHECK(call)                                                          \
  do {                                                                                    \
    cublasStatus_t tconv_st_ = (call);                                                    \
    if (tconv_st_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::tconv::detail::throw_check("cuBLAS", #call, __FILE__, __LINE__,                   \
                                   cublasGetStatusString(tconv_st_));                     \
  } while (0)

#define TCONV_CUSPARSE_CHECK(call)                                                        \
  do {                                                                                    \
    cusparseStatus_t tconv_st_ = (call);                                                  \
    if (tconv_st_ != CUSPARSE_STATUS_SUCCESS)                                             \
      ::tconv::detail::throw_check("cuSPARSE", #call, __FILE__, __LINE__,                 \
                                   cusparseGetErrorString(tconv_st_));                    \
  } while (0)


// After every <<<...>>> launch: catches bad launch configurations at once; asynchronous faults
// surface at the next checked synchronizing call.
#define TCONV_CHECK_LAUNCH() TCONV_CUDA_CHECK(cudaGetLastError())
