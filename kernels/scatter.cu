#include "kernels/stub_impl.hpp"
namespace tconv {
std::unique_ptr<Implementation> make_scatter() { return std::make_unique<StubImpl>("scatter"); }
}
