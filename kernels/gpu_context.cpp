#include "kernels/gpu_context.hpp"

#include "kernels/cuda_check.hpp"

#include "core/types.hpp"

namespace tconv {

bool gpu_available(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string("no CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device: cudaGetDeviceCount found none";
    return false;
  }
  return true;
}

Context::Context(int device) : device_(device) {
  std::string why;
  if (!gpu_available(&why)) throw Error(why);
  TCONV_CUDA_CHECK(cudaSetDevice(device_));
  TCONV_CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
  TCONV_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  size_t free_bytes = 0, total_bytes = 0;
  TCONV_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  budget_ = free_bytes / 10 * 8;
}

Context::~Context() {
  // Destructors must not throw: errors here are ignored.
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cusparse_) cusparseDestroy(cusparse_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

cublasHandle_t Context::cublas() {
  if (host_only()) throw Error("cublas: no GPU in a host-only context");
  if (!cublas_) {
    TCONV_CUBLAS_CHECK(cublasCreate(&cublas_));
    TCONV_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  }
  return cublas_;
}

cusparseHandle_t Context::cusparse() {
  if (host_only()) throw Error("cusparse: no GPU in a host-only context");
  if (!cusparse_) {
    TCONV_CUSPARSE_CHECK(cusparseCreate(&cusparse_));
    TCONV_CUSPARSE_CHECK(cusparseSetStream(cusparse_, stream_));
  }
  return cusparse_;
}

cudnnHandle_t Context::cudnn() {
  if (host_only()) throw Error("cudnn: no GPU in a host-only context");
  if (!cudnn_) {
    TCONV_CUDNN_CHECK(cudnnCreate(&cudnn_));
    TCONV_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  }
  return cudnn_;
}

void Context::synchronize() {
  if (host_only()) return;
  TCONV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace tconv
