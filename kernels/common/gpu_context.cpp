#include "kernels/common/gpu_context.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include "kernels/common/cuda_check.hpp"

#include "core/types.hpp"

namespace tconv {

std::string cuda_version_text(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

namespace {

// The driver as the dynamic loader sees it, without going through the runtime: on a machine with
// no driver at all the runtime answers "insufficient driver" too, so only this tells "no driver"
// from "driver too old".
DriverInfo probe_driver() {
  DriverInfo d;
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return d;
  d.loaded = true;
  using GetVersion = int (*)(int*);
  if (auto get = reinterpret_cast<GetVersion>(dlsym(lib, "cuDriverGetVersion"))) {
    int v = 0;
    if (get(&v) == 0) d.version = v;
  }
  // The handle stays open: the runtime holds its own reference to the same library anyway.
  return d;
}

}  // namespace

GpuProbe classify_gpu_probe(const DriverInfo& driver, int runtime_version, cudaError_t count_error,
                            int count) {
  const std::string versions = "driver " +
                               (driver.version ? "supports CUDA " + cuda_version_text(driver.version)
                                               : std::string("version unknown")) +
                               ", runtime CUDA " + cuda_version_text(runtime_version);
  if (!driver.loaded)
    return {GpuState::absent, "no CUDA device: no NVIDIA driver installed (libcuda.so.1 not found)"};
  if (count_error == cudaErrorNoDevice || (count_error == cudaSuccess && count == 0))
    return {GpuState::absent, "no CUDA device: the NVIDIA driver found none (" + versions + ")"};
  if (count_error == cudaErrorInsufficientDriver || count_error == cudaErrorCompatNotSupportedOnDevice)
    return {GpuState::broken, "the NVIDIA driver is older than this build's CUDA runtime (" + versions +
                                  "): update the driver or build with an older CUDA toolkit"};
  if (count_error != cudaSuccess)
    return {GpuState::broken, std::string("CUDA initialization failed: ") +
                                  cudaGetErrorName(count_error) + ": " +
                                  cudaGetErrorString(count_error) + " (" + versions + ")"};
  return {GpuState::available, ""};
}

GpuProbe probe_gpu() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  cudaGetLastError();  // not sticky: later calls start clean
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  return classify_gpu_probe(probe_driver(), runtime, err, count);
}

// The file a symbol was loaded from (cudart is linked statically: then it is the program itself).
std::string file_of(const void* symbol) {
  Dl_info info{};
  if (symbol && dladdr(symbol, &info) && info.dli_fname) {
    char resolved[4096];
    if (realpath(info.dli_fname, resolved)) return resolved;
    return info.dli_fname;
  }
  return "?";
}

namespace {

template <typename GetProperty>
std::string property_version(GetProperty get) {
  int major = 0, minor = 0, patch = 0;
  if (!get(MAJOR_VERSION, &major) || !get(MINOR_VERSION, &minor) || !get(PATCH_LEVEL, &patch))
    return "?";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace

std::vector<LoadedLibrary> loaded_libraries() {
  std::vector<LoadedLibrary> libs;
  int v = 0;
  cudaRuntimeGetVersion(&v);
  libs.push_back({"cudart", cuda_version_text(v), file_of(reinterpret_cast<const void*>(&cudaRuntimeGetVersion))});
  libs.push_back({"cublas", property_version([](libraryPropertyType t, int* out) {
                    return cublasGetProperty(t, out) == CUBLAS_STATUS_SUCCESS;
                  }),
                  file_of(reinterpret_cast<const void*>(&cublasGetProperty))});
  libs.push_back({"cusparse", property_version([](libraryPropertyType t, int* out) {
                    return cusparseGetProperty(t, out) == CUSPARSE_STATUS_SUCCESS;
                  }),
                  file_of(reinterpret_cast<const void*>(&cusparseGetProperty))});
  libs.push_back(cudnn_library());
  const DriverInfo d = probe_driver();
  std::string driver_file = "not installed";
  if (d.loaded) {
    void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    driver_file = file_of(lib ? dlsym(lib, "cuDriverGetVersion") : nullptr);
  }
  libs.push_back({"driver (libcuda)", d.version ? "CUDA " + cuda_version_text(d.version) : "?",
                  driver_file});
  return libs;
}

std::string describe_libraries() {
  std::string out;
  for (const LoadedLibrary& l : loaded_libraries())
    out += l.name + " " + l.version + " from " + l.file + "\n";
  return out;
}

bool gpu_available(std::string* why) {
  static const GpuProbe probe = probe_gpu();
  if (probe.state == GpuState::broken) throw FatalError(probe.why);
  if (why) *why = probe.why;
  return probe.state == GpuState::available;
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
  if (cudnn_) destroy_cudnn();
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

void Context::synchronize() {
  if (host_only()) return;
  TCONV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace tconv
