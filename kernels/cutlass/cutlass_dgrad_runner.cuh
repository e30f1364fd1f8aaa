// One CUTLASS 2.x implicit-GEMM strided dgrad (DefaultConv2dDgrad, StrideSupport::kStrided, the
// kernel family of CUTLASS example 34) behind the Runner face. Included only by the
// cutlass_dgrad_<dtype>.cu files.
#pragma once

#include <string>

#include "cutlass/conv/conv2d_problem_size.h"
#include "cutlass/conv/device/implicit_gemm_convolution.h"
#include "cutlass/conv/kernel/default_conv2d_dgrad.h"
#include "cutlass/cutlass.h"
#include "cutlass/epilogue/thread/linear_combination.h"
#include "kernels/common/cuda_check.hpp"
#include "kernels/cutlass/cutlass_dgrad_runner.hpp"

namespace tconv::cutlass_dgrad {

inline cutlass::conv::Conv2dProblemSize to_cutlass(const Shape& s) {
  return cutlass::conv::Conv2dProblemSize(
      int(s.N), int(s.H), int(s.W), int(s.C), int(s.K), int(s.R), int(s.S), int(s.P), int(s.Q),
      int(s.pad_h), int(s.pad_w), int(s.stride_h), int(s.stride_w), int(s.dil_h), int(s.dil_w),
      cutlass::conv::Mode::kCrossCorrelation, /*split_k_slices=*/1, int(s.groups));
}

// Element: storage type; Op: OpClassTensorOp or OpClassSimt; fp32 accumulation and epilogue
// (alpha = 1, beta = 0: dx is written, never read).
template <typename Element, typename OpClass, typename TB, typename Warp, typename Instr,
          int Stages, int Align, cutlass::conv::IteratorAlgorithm Algo>
class RunnerT final : public Runner {
  using Epilogue = cutlass::epilogue::thread::LinearCombination<Element, Align, float, float>;
  using Kernel = typename cutlass::conv::kernel::DefaultConv2dDgrad<
      Element, cutlass::layout::TensorNHWC, Element, cutlass::layout::TensorNHWC, Element,
      cutlass::layout::TensorNHWC, float, OpClass, cutlass::arch::Sm80, TB, Warp, Instr, Epilogue,
      cutlass::conv::threadblock::StridedDgradIdentityThreadblockSwizzle<1>, Stages,
      cutlass::arch::OpMultiplyAdd, Algo, cutlass::conv::StrideSupport::kStrided, Align,
      Align>::Kernel;
  using Op = cutlass::conv::device::ImplicitGemmConvolution<Kernel>;

 public:
  explicit RunnerT(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }

  std::string can_implement(const Shape& s) const override {
    if (!s.fits_int()) return "a size exceeds CUTLASS's 32-bit int";
    const cutlass::Status st = Op::can_implement(args(s, nullptr, nullptr, nullptr));
    return st == cutlass::Status::kSuccess ? "" : cutlassGetStatusString(st);
  }
  size_t workspace_bytes(const Shape& s) const override {
    return Op::get_workspace_size(args(s, nullptr, nullptr, nullptr));
  }
  std::string initialize(const Shape& s, const void* dy, const void* w, void* dx, void* workspace,
                         cudaStream_t stream) override {
    const cutlass::Status st = op_.initialize(args(s, dy, w, dx), workspace, stream);
    return st == cutlass::Status::kSuccess ? "" : cutlassGetStatusString(st);
  }
  void run(cudaStream_t stream) override {
    const cutlass::Status st = op_.run(stream);
    if (st != cutlass::Status::kSuccess)
      throw Error("CUTLASS dgrad " + name_ + ": " + cutlassGetStatusString(st));
    TCONV_CHECK_LAUNCH();
  }

 private:
  static typename Op::Arguments args(const Shape& s, const void* dy, const void* w, void* dx) {
    const cutlass::conv::Conv2dProblemSize ps = to_cutlass(s);
    using Layout = cutlass::layout::TensorNHWC;
    // Packed tensors: the layout's strides from the extents CUTLASS itself derives.
    auto ref = [](const void* ptr, const cutlass::Tensor4DCoord& extent) {
      return cutlass::TensorRef<Element, Layout>(static_cast<Element*>(const_cast<void*>(ptr)),
                                                 Layout::packed(extent));
    };
    const auto dy_ref = ref(dy, cutlass::conv::implicit_gemm_tensor_a_extent(
                                    cutlass::conv::Operator::kDgrad, ps));
    const auto w_ref = ref(w, cutlass::conv::implicit_gemm_tensor_b_extent(
                                  cutlass::conv::Operator::kDgrad, ps));
    const auto dx_ref = ref(dx, cutlass::conv::implicit_gemm_tensor_c_extent(
                                    cutlass::conv::Operator::kDgrad, ps));
    return typename Op::Arguments(ps, dy_ref, w_ref, dx_ref, dx_ref, {1.0f, 0.0f});
  }

  std::string name_;
  Op op_;
};

}  // namespace tconv::cutlass_dgrad
