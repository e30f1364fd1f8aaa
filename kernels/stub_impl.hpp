// TEMPORARY: placeholder for implementations being written; every file using it is replaced.
#pragma once
#include "kernels/implementation.hpp"
namespace tconv {
class StubImpl : public Implementation {
 public:
  explicit StubImpl(std::string n) : n_(std::move(n)) {}
  std::string name() const override { return n_; }
  std::string summary() const override { return "(not yet implemented)"; }
  Support can_implement(const Problem&, const Config&) const override {
    return Support::no("not yet implemented");
  }
  void run(Context&, const Problem&, const Config&, const Tensors&) override {
    throw Error(n_ + ": not yet implemented");
  }
 private:
  std::string n_;
};
}  // namespace tconv
