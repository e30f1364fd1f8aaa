// One CUTLASS 3 sm90 fprop (collective builders: TMA im2col + wgmma mainloop, warp-specialized;
// TMA epilogue with the per-channel bias fused) behind the Runner face. Included only by the
// phase_sm90_<dtype>.cu files, which are compiled for sm_90a alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// clang-format off
// In the order of CUTLASS's example 76 (some of these headers rely on earlier ones).
#include "cutlass/cutlass.h"
#include "cutlass/kernel_hardware_info.hpp"
#include "cute/tensor.hpp"
#include "cutlass/conv/convolution.h"
#include "cutlass/conv/convnd_problem_shape.hpp"
#include "cutlass/tensor_ref.h"
#include "cutlass/epilogue/thread/linear_combination.h"
#include "cutlass/conv/dispatch_policy.hpp"
#include "cutlass/conv/collective/collective_builder.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/operations.hpp"
#include "cutlass/conv/device/conv_universal_adapter.hpp"
#include "cutlass/conv/kernel/conv_universal.hpp"
// clang-format on
#include "kernels/common/cuda_check.hpp"
#include "kernels/phase_sm90/phase_sm90_runner.hpp"

namespace tconv::phase_sm90 {

// Element: storage type of x, the filter, the bias and y (float: tf32 wgmma on fp32 storage).
// fp32 accumulation; D = acc + bias (alpha 1, no source C: y is written, never read).
template <typename Element, typename TileShape, typename ClusterShape>
class RunnerT final : public Runner {
  static constexpr int kAlign = 128 / cutlass::sizeof_bits<Element>::value;
  using Fusion =
      cutlass::epilogue::fusion::LinCombPerColBias<Element, float, Element, void, float, kAlign>;
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, void,
      cutlass::layout::TensorNHWC, kAlign, Element, cutlass::layout::TensorNHWC, kAlign,
      cutlass::epilogue::TmaWarpSpecialized, Fusion>::CollectiveOp;
  using Mainloop = typename cutlass::conv::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::conv::Operator::kFprop, Element,
      cutlass::layout::TensorNHWC, kAlign, Element, cutlass::layout::TensorNHWC, kAlign, float,
      TileShape, ClusterShape,
      cutlass::conv::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename Epilogue::SharedStorage))>,
      cutlass::conv::KernelImplicitTmaWarpSpecializedSm90>::CollectiveOp;
  using Kernel = cutlass::conv::kernel::ConvUniversal<ConvShape, Mainloop, Epilogue>;
  using Op = cutlass::conv::device::ConvUniversalAdapter<Kernel>;
  static_assert(std::is_same_v<typename Kernel::StrideD, StrideD>,
                "phase_sm90_map.hpp's StrideD must be the epilogue's");

 public:
  explicit RunnerT(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }

  std::string can_implement(const Launch& l, const Operands& o) const override {
    for (const void* ptr : {o.x, o.filter, static_cast<const void*>(o.y)})
      if (reinterpret_cast<uintptr_t>(ptr) % 16)
        return "an operand's address is not 16-byte aligned (TMA)";
    if (o.bias && reinterpret_cast<uintptr_t>(o.bias) % (kAlign * sizeof(Element)))
      return "the bias is not 16-byte aligned";
    const cutlass::Status st = Op::can_implement(args(l, o));
    return st == cutlass::Status::kSuccess ? "" : cutlassGetStatusString(st);
  }
  size_t workspace_bytes(const Launch& l) const override {
    return Op::get_workspace_size(args(l, Operands{}));
  }
  std::string initialize(int slot, const Launch& l, const Operands& o, void* workspace,
                         int sm_count) override {
    if (slot >= int(ops_.size())) ops_.resize(size_t(slot) + 1);
    typename Op::Arguments a = args(l, o);
    a.hw_info.sm_count = sm_count;
    const cutlass::Status st = ops_[size_t(slot)].initialize(a, workspace);
    return st == cutlass::Status::kSuccess ? "" : cutlassGetStatusString(st);
  }
  void run(int slot, cudaStream_t stream) override {
    if (slot < 0 || slot >= int(ops_.size())) throw Error("phase_sm90 " + name_ + ": bad slot");
    const cutlass::Status st = ops_[size_t(slot)].run(stream);
    if (st != cutlass::Status::kSuccess)
      throw Error("CUTLASS sm90 fprop " + name_ + ": " + cutlassGetStatusString(st));
    TCONV_CHECK_LAUNCH();
  }

 private:
  static typename Op::Arguments args(const Launch& l, const Operands& o) {
    typename Op::Arguments a{
        l.shape,
        {static_cast<const Element*>(o.x), static_cast<const Element*>(o.filter)},
        {{}, nullptr, typename Kernel::StrideC{}, static_cast<Element*>(o.y), l.stride_d}};
    a.epilogue.thread.alpha = 1.0f;
    a.epilogue.thread.beta = 0.0f;
    a.epilogue.thread.bias_ptr = static_cast<const Element*>(o.bias);
    return a;
  }

  std::string name_;
  std::vector<Op> ops_;
};

}  // namespace tconv::phase_sm90
