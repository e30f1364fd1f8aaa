#include "kernels/stub_impl.hpp"
namespace tconv {
std::unique_ptr<Implementation> make_explicit_gemm() { return std::make_unique<StubImpl>("explicit_gemm"); }
}
