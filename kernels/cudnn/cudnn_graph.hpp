// The cuDNN-frontend graph of cudnn_graph.cu, as plain host code so tests/test_cudnn_impls.cpp
// reads its attributes back and has cuDNN validate it on the CPU (building the operation graph
// needs no handle and no GPU; engines, plans and execution do).
//
// One conv_dgrad node: DY = our x, W = our weight as stored, DX = our y, with the geometry of
// kernels/cudnn/cudnn_common.hpp (dims in (N, C, H, W) / (K, C, R, S) order, the layout in the
// strides). Groups are implied by W's C dimension (C_out/groups), as in the graph API.
#pragma once

#include <cudnn.h>

#include <cstring>  // before the frontend: its shim uses std::strlen without including it

#include <cudnn_frontend.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "core/types.hpp"
#include "kernels/common/cuda_check.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/cudnn/cudnn_common.hpp"

namespace tconv::dnn {

namespace fe = cudnn_frontend;

// Tensor unique ids in the graph (the variant pack is keyed by them).
constexpr int64_t kUidX = 1, kUidW = 2, kUidY = 3;

inline fe::DataType_t fe_data_type(DType t) {
  switch (t) {
    case DType::fp16:
      return fe::DataType_t::HALF;
    case DType::bf16:
      return fe::DataType_t::BFLOAT16;
    case DType::fp64:
      return fe::DataType_t::DOUBLE;
    default:  // fp32 and tf32 store fp32; tf32 is a math choice (see excluded_notes)
      return fe::DataType_t::FLOAT;
  }
}

// Engines whose numerical notes break the dtype's precision contract. The graph API has no math
// type: fp32 must exclude TENSOR_CORE engines (they would run TF32), and no dtype may down-convert
// its inputs or reduce in less than fp32. tf32 allows tensor cores but does not require them.
inline std::vector<fe::NumericalNote_t> excluded_notes(DType t) {
  std::vector<fe::NumericalNote_t> v = {fe::NumericalNote_t::DOWN_CONVERT_INPUTS,
                                        fe::NumericalNote_t::REDUCED_PRECISION_REDUCTION};
  if (t == DType::fp32) v.push_back(fe::NumericalNote_t::TENSOR_CORE);
  return v;
}

struct DgradGraph {
  std::shared_ptr<fe::graph::Graph> graph;
  std::shared_ptr<fe::graph::Tensor_attributes> dy, w, dx;
  fe::graph::Conv_dgrad_attributes conv;  // a copy of what the node was given
};

inline std::vector<int64_t> as_vector(const std::array<int64_t, 4>& a) {
  return {a[0], a[1], a[2], a[3]};
}

// Pre/post padding of the dgrad node. PyTorch's form: pre = post = pad (dx's size carries the
// output_padding), as before. Begin/end padding outside it: pre = begin, post = max(end, 0); the
// forward convolution of a dx-sized image then gives exactly x's size, floor((out + pre + post -
// dil*(k-1) - 1) / stride) + 1 = in, for every end > -stride (post = 0 covers an end in
// (-stride, 0)). Empty when the frontend can say it, else why not.
inline std::string graph_padding_refusal(const Problem& p) {
  if (p.pytorch_pads()) return "";
  if (p.pad_end_h() <= -p.stride_h || p.pad_end_w() <= -p.stride_w)
    return "cuDNN frontend dgrad: begin:end padding " + begin_end_text(p) +
           " has an end at or below -stride (more outputs past the full output than post "
           "padding 0 leaves the forward convolution consistent with)";
  return "";
}
inline std::vector<int64_t> graph_pre_padding(const Problem& p) {
  return {p.pad_begin_h(), p.pad_begin_w()};
}
inline std::vector<int64_t> graph_post_padding(const Problem& p) {
  if (p.pytorch_pads()) return {p.pad_h, p.pad_w};
  return {std::max<int64_t>(p.pad_end_h(), 0), std::max<int64_t>(p.pad_end_w(), 0)};
}

// The graph for problem p; `align` is the byte alignment every operand pointer has (engines are
// chosen for it). Attributes only: nothing is lowered to cuDNN yet.
inline DgradGraph make_dgrad_graph(const Problem& p, const Config& cfg, int64_t align = 16) {
  DgradGraph d;
  d.graph = std::make_shared<fe::graph::Graph>();
  // fp32 accumulation for every storage dtype.
  d.graph->set_io_data_type(fe_data_type(cfg.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto tensor = [&](const char* name, int64_t uid, const Geometry& g) {
    return d.graph->tensor(fe::graph::Tensor_attributes()
                               .set_name(name)
                               .set_uid(uid)
                               .set_dim(as_vector(g.dims))
                               .set_stride(as_vector(g.strides))
                               .set_data_type(fe_data_type(cfg.dtype))
                               .set_alignment(align));
  };
  d.dy = tensor("dy_x", kUidX, dgrad_dy(p, cfg.layout));
  d.w = tensor("w", kUidW, dgrad_w(p, cfg.layout));
  d.conv = fe::graph::Conv_dgrad_attributes()
               .set_name("tconv_dgrad")
               .set_pre_padding(graph_pre_padding(p))
               .set_post_padding(graph_post_padding(p))
               .set_stride({p.stride_h, p.stride_w})
               .set_dilation({p.dil_h, p.dil_w})
               .set_convolution_mode(fe::ConvolutionMode_t::CROSS_CORRELATION)
               .set_compute_data_type(fe::DataType_t::FLOAT);
  d.dx = d.graph->conv_dgrad(d.dy, d.w, d.conv);
  // The frontend cannot infer DX's size (dgrad is not invertible): it is our y.
  const Geometry gy = dgrad_dx(p, cfg.layout);
  d.dx->set_name("dx_y")
      .set_uid(kUidY)
      .set_dim(as_vector(gy.dims))
      .set_stride(as_vector(gy.strides))
      .set_data_type(fe_data_type(cfg.dtype))
      .set_alignment(align)
      .set_output(true);
  return d;
}

// ---- Frontend errors -----------------------------------------------------------------------
// The frontend returns error_t (a code and a message) instead of cuDNN statuses; the statuses it
// met are spelled inside the message ("..., and code: CUDNN_STATUS_BAD_PARAM"). Every path from
// a frontend error to a row's reason reads them there, so a broken installation stops the run
// (FatalError) before it can pass for a refusal.
inline std::vector<cudnnStatus_t> statuses_in_message(const std::string& msg) {
  std::vector<cudnnStatus_t> found;
  if (msg.find("CUDNN_STATUS_") == std::string::npos) return found;
  // cuDNN 9's statuses are grouped in bands 1000..5999; values past the enum's range would be
  // undefined behaviour to form (UBSan reports it), so the scan stops there.
  for (int s = 1; s < 6000; ++s) {
    const cudnnStatus_t st = cudnnStatus_t(s);
    const std::string name = cudnnGetErrorString(st);
    if (name.rfind("CUDNN_STATUS_", 0) != 0) continue;  // not a status value
    for (size_t at = msg.find(name); at != std::string::npos; at = msg.find(name, at + 1)) {
      const size_t end = at + name.size();
      if (end == msg.size() || !(std::isalnum((unsigned char)msg[end]) || msg[end] == '_')) {
        found.push_back(st);
        break;
      }
    }
  }
  return found;
}

// One line, bounded, for a CSV cell.
inline std::string one_line(std::string s, size_t max = 400) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// Whether a frontend error means "cuDNN does not do this configuration" (a not_supported row)
// rather than a bug of ours or a CUDA failure (fatal statuses are checked before this).
// A failed backend call is a refusal when every status it names is one (is_refusal: the
// NOT_SUPPORTED family and the shape/type BAD_PARAMs), so a null pointer or an execution failure
// stays an error.
inline bool is_fe_refusal(fe::error_code_t code, const std::string& msg) {
  switch (code) {
    case fe::error_code_t::GRAPH_NOT_SUPPORTED:
    case fe::error_code_t::GRAPH_EXECUTION_PLAN_CREATION_FAILED:
    case fe::error_code_t::HEURISTIC_QUERY_FAILED:
    case fe::error_code_t::SHAPE_DEDUCTION_FAILED:
    case fe::error_code_t::NVRTC_COMPILATION_FAILED:
      return true;
    case fe::error_code_t::CUDNN_BACKEND_API_FAILED: {
      const std::vector<cudnnStatus_t> st = statuses_in_message(msg);
      if (st.empty()) return false;
      for (cudnnStatus_t s : st)
        if (!is_refusal(s)) return false;
      return true;
    }
    default:
      return false;
  }
}

// OK, or throws: FatalError for a broken installation, NotSupported for a refusal, Error else.
inline void fe_check(fe::error_t e, const std::string& what) {
  if (e.is_good()) return;
  const std::string msg = e.err_msg;
  for (cudnnStatus_t s : statuses_in_message(msg)) throw_if_cudnn_fatal(s, "cuDNN frontend: " + what);
  const std::string line = "cuDNN frontend: " + what + ": " + one_line(msg);
  if (is_fe_refusal(e.get_code(), msg)) throw NotSupported(line);
  throw Error(line);
}

}  // namespace tconv::dnn
