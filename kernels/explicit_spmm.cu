#include "kernels/stub_impl.hpp"
namespace tconv {
std::unique_ptr<Implementation> make_explicit_spmm() { return std::make_unique<StubImpl>("explicit_spmm"); }
}
