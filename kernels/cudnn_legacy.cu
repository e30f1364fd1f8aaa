#include "kernels/stub_impl.hpp"
namespace tconv {
std::unique_ptr<Implementation> make_cudnn_algo0() { return std::make_unique<StubImpl>("cudnn_algo0"); }
std::unique_ptr<Implementation> make_cudnn_algo1() { return std::make_unique<StubImpl>("cudnn_algo1"); }
std::unique_ptr<Implementation> make_cudnn_fft() { return std::make_unique<StubImpl>("cudnn_fft"); }
std::unique_ptr<Implementation> make_cudnn_fft_tiling() { return std::make_unique<StubImpl>("cudnn_fft_tiling"); }
std::unique_ptr<Implementation> make_cudnn_winograd() { return std::make_unique<StubImpl>("cudnn_winograd"); }
std::unique_ptr<Implementation> make_cudnn_winograd_nonfused() { return std::make_unique<StubImpl>("cudnn_winograd_nonfused"); }
}
