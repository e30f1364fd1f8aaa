// cuBLAS data and compute types per dtype, one mapping for every cuBLAS-based implementation:
// fp32 stays off TF32 (CUBLAS_COMPUTE_32F), tf32 asks for it, 16-bit inputs accumulate in fp32.
#pragma once

#include <cublas_v2.h>

#include <string>

#include "core/types.hpp"

namespace tconv {

struct CublasTypes {
  cudaDataType data;            // A and B (and C where it has the operands' dtype)
  cublasComputeType_t compute;
  const char* name;             // for algo() strings
};

inline CublasTypes cublas_types(DType t, const char* who) {
  switch (t) {
    case DType::fp32: return {CUDA_R_32F, CUBLAS_COMPUTE_32F, "fp32"};
    case DType::tf32: return {CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, "tf32"};
    case DType::fp16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F, "fp16, fp32 accumulation"};
    case DType::bf16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F, "bf16, fp32 accumulation"};
    default: throw Error(std::string(who) + ": dtype " + to_string(t) + " not implemented");
  }
}

}  // namespace tconv
