#include <sstream>

#include "kernels/common/implementation.hpp"

namespace tconv {

#define TCONV_IMPL(factory) std::unique_ptr<Implementation> factory();
#include "kernels/registry.def"
#undef TCONV_IMPL

namespace {
const std::vector<ImplementationFactory>& factories() {
  static const std::vector<ImplementationFactory> list = {
#define TCONV_IMPL(factory) &factory,
#include "kernels/registry.def"
#undef TCONV_IMPL
  };
  return list;
}
}  // namespace

std::vector<std::unique_ptr<Implementation>> create_all_implementations() {
  std::vector<std::unique_ptr<Implementation>> all;
  for (ImplementationFactory f : factories()) all.push_back(f());
  return all;
}

std::vector<std::string> implementation_names() {
  std::vector<std::string> names;
  for (const auto& impl : create_all_implementations()) names.push_back(impl->name());
  return names;
}

std::unique_ptr<Implementation> create_implementation(const std::string& name) {
  for (ImplementationFactory f : factories()) {
    auto impl = f();
    if (impl->name() == name) return impl;
  }
  std::ostringstream msg;
  msg << "unknown implementation '" << name << "' (known:";
  for (const auto& n : implementation_names()) msg << " " << n;
  msg << ")";
  throw Error(msg.str());
}

}  // namespace tconv
