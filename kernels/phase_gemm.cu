#include "kernels/stub_impl.hpp"
namespace tconv {
std::unique_ptr<Implementation> make_phase_gemm() { return std::make_unique<StubImpl>("phase_gemm"); }
}
