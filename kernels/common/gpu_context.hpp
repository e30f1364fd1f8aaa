// Context: the GPU, its stream and the library handles, owned in one object (no globals) and
// passed to every implementation. Handles are created on first use and bound to the stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <cstddef>
#include <string>
#include <vector>

// cuDNN's handle type, as cudnn.h declares it: the context holds the handle without including
// cudnn.h, which only the cuDNN rows do (kernels/cudnn/cudnn_context.cpp creates it).
struct cudnnContext;
typedef struct cudnnContext* cudnnHandle_t;

namespace tconv {

// Whether a GPU can be used. Only "no driver installed" and "no device" mean absent (the bench
// exits 2, GPU tests skip); a driver older than the runtime or any other initialization error is
// broken: a hard error naming the cause and the versions, never "no GPU".
enum class GpuState { available, absent, broken };
struct GpuProbe {
  GpuState state;
  std::string why;  // one line; empty when available
};
struct DriverInfo {
  bool loaded = false;  // libcuda.so.1 loads
  int version = 0;      // cuDriverGetVersion, 0 when unknown
};
// The decision, apart from the probing, so that every case is tested on the CPU.
GpuProbe classify_gpu_probe(const DriverInfo& driver, int runtime_version, cudaError_t count_error,
                            int count);
GpuProbe probe_gpu();

// The GPU libraries this process actually loaded: name, version, file (no GPU needed). Printed
// by `tconv_bench --env` and at the start of a run, so a bundle run on another machine shows
// which cuBLAS, cuSPARSE and cuDNN it picked up.
struct LoadedLibrary {
  std::string name, version, file;
};
std::vector<LoadedLibrary> loaded_libraries();
std::string describe_libraries();  // one line per library
// The file a symbol was loaded from; a CUDA version number (12040) as text ("12.4").
std::string file_of(const void* symbol);
std::string cuda_version_text(int version);
// cuDNN's entry and its version alone ("9.10.2"), from kernels/cudnn/cudnn_context.cpp.
LoadedLibrary cudnn_library();
std::string cudnn_version_text();

// True when a CUDA device can be used; false when there is none (`why` says why in one line);
// throws tconv::FatalError when the driver or runtime is broken. Probed once per process.
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
  void destroy_cudnn() noexcept;  // kernels/cudnn/cudnn_context.cpp
};

}  // namespace tconv
