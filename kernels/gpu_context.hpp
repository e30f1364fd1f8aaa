// Context: the GPU, its stream and the library handles, owned in one object (no globals) and
// passed to every implementation. Handles are created on first use and bound to the stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cusparse.h>

#include <cstddef>
#include <string>

namespace tconv {

// True when a CUDA device can be used; otherwise `why` says why in one line.
bool gpu_available(std::string* why = nullptr);

class Context {
 public:
  // Throws tconv::Error ("no CUDA device: ...") when there is no usable GPU.
  explicit Context(int device = 0);
  // For the CPU references: touches no GPU; stream() is null and asking for a library handle
  // throws tconv::Error.
  struct HostOnly {};
  explicit Context(HostOnly) : device_(-1) {}
  bool host_only() const { return device_ < 0; }
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  const cudaDeviceProp& props() const { return props_; }
  cublasHandle_t cublas();
  cusparseHandle_t cusparse();
  cudnnHandle_t cudnn();

  // Device bytes an implementation may take for itself (explicit C, workspaces): by default
  // 80% of what was free when the context was made. Implementations over it are skipped.
  size_t memory_budget() const { return budget_; }
  void set_memory_budget(size_t bytes) { budget_ = bytes; }

  void synchronize();

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaDeviceProp props_{};
  cublasHandle_t cublas_ = nullptr;
  cusparseHandle_t cusparse_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  size_t budget_ = 0;
};

}  // namespace tconv
