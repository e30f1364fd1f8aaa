// The cuDNN parts of tconv::Context (kernels/common/gpu_context.hpp): its handle and the library's
// description, here so that only the cuDNN rows include cudnn.h.
#include <cudnn.h>

#include "kernels/common/gpu_context.hpp"
#include "kernels/cudnn/cudnn_check.hpp"

namespace tconv {

cudnnHandle_t Context::cudnn() {
  if (host_only()) throw Error("cudnn: no GPU in a host-only context");
  if (!cudnn_) {
    TCONV_CUDNN_CHECK(cudnnCreate(&cudnn_));
    TCONV_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  }
  return cudnn_;
}

void Context::destroy_cudnn() noexcept {
  cudnnDestroy(cudnn_);  // a destructor's: errors are ignored
  cudnn_ = nullptr;
}

std::string cudnn_version_text() {
  const size_t c = cudnnGetVersion();
  // cuDNN 9 encodes major*10000 + minor*100 + patch, cuDNN 8 major*1000 + minor*100 + patch.
  if (c >= 90000)
    return std::to_string(c / 10000) + "." + std::to_string((c % 10000) / 100) + "." +
           std::to_string(c % 100);
  return std::to_string(c / 1000) + "." + std::to_string((c % 1000) / 100) + "." +
         std::to_string(c % 100);
}

LoadedLibrary cudnn_library() {
  return {"cudnn",
          cudnn_version_text() + " (built for CUDA " +
              cuda_version_text(int(cudnnGetCudartVersion())) + ")",
          file_of(reinterpret_cast<const void*>(&cudnnGetVersion))};
}

}  // namespace tconv
