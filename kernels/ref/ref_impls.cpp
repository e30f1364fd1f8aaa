// The fp64 CPU references, registered like any implementation so `tconv run --impl ref_direct`
// works on a user's tensors. Backend::cpu: Tensors hold host double pointers, NCHW.
#include "kernels/common/implementation.hpp"
#include "reference/reference.hpp"

namespace tconv {
namespace {

using RefFn = void (*)(const Problem&, const double*, const double*, const double*, double*);

class RefImpl : public Implementation {
 public:
  RefImpl(std::string name, std::string summary, RefFn fn, int64_t max_matrix_elems)
      : name_(std::move(name)), summary_(std::move(summary)), fn_(fn), max_c_(max_matrix_elems) {}
  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  Backend backend() const override { return Backend::cpu; }
  Support can_implement(const Problem& p, const Config& cfg) const override {
    if (cfg.dtype != DType::fp64 || cfg.layout != Layout::nchw)
      return Support::no("CPU reference: fp64 nchw only");
    if (max_c_ > 0) {
      const double c = double(p.c_out * p.h_out() * p.w_out()) * double(p.c_in * p.h_in * p.w_in);
      if (c > double(max_c_))
        return Support::no("explicit C would have " + std::to_string(int64_t(c)) +
                           " entries, over the CPU limit of " + std::to_string(max_c_));
    }
    return Support::yes();
  }
  void run(Context&, const Problem& p, const Config&, const Tensors& t) override {
    fn_(p, static_cast<const double*>(t.x), static_cast<const double*>(t.w),
        static_cast<const double*>(t.bias), static_cast<double*>(t.y));
  }

 private:
  std::string name_, summary_;
  RefFn fn_;
  int64_t max_c_;
};

}  // namespace

std::unique_ptr<Implementation> make_ref_direct() {
  return std::make_unique<RefImpl>("ref_direct", "CPU fp64 reference: scatter definition",
                                   &ref::direct, 0);
}
std::unique_ptr<Implementation> make_ref_matrix() {
  // 2^28 doubles = 2 GiB of C: beyond that the literal matrix is not a reference anyone waits for.
  return std::make_unique<RefImpl>("ref_matrix", "CPU fp64 reference: dense C^T product",
                                   &ref::matrix, int64_t(1) << 28);
}
std::unique_ptr<Implementation> make_ref_zero_insert() {
  return std::make_unique<RefImpl>("ref_zero_insert",
                                   "CPU fp64 reference: zero insertion + flipped-kernel conv",
                                   &ref::zero_insert, 0);
}

}  // namespace tconv
