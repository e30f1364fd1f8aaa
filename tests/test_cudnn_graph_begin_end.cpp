// cudnn_graph with begin/end padding outside PyTorch's form: the frontend's conv_dgrad node gets
// pre = begin and post = max(end, 0) (make_dgrad_graph). As tests/test_cudnn_args.cpp does for
// PyTorch-form problems, every attribute the graph holds after validate() is read back and
// executed by an fp64 host backward-data that knows nothing else, against ref::direct; and the
// forward convolution those attributes describe must map a dx-sized image to exactly x's size
// (what cuDNN checks). Whether an engine builds such a plan is the GPU's to say (not_supported
// otherwise, kernels/cudnn/cudnn_graph.cu).
#include <cudnn.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/cudnn/cudnn_common.hpp"
#include "kernels/cudnn/cudnn_graph.hpp"
#include "tests/support/kernel_check.hpp"

namespace tconv {
namespace {

using testing::HostRun;

TEST(CudnnGraphBeginEnd, AttributesExecuteAsTheTransposedConv) {
  std::mt19937_64 rng(921);
  int checked = 0, refused = 0, pre_ne_post = 0;
  for (int i = 0; checked < 60; ++i) {
    Problem p = testing::random_begin_end_problem(rng, 5);
    p.has_bias = false;  // a separate pass (dnn::add_bias)
    const std::string why = dnn::graph_padding_refusal(p);
    if (!why.empty()) {
      EXPECT_TRUE(p.pad_end_h() <= -p.stride_h || p.pad_end_w() <= -p.stride_w) << p.to_string();
      EXPECT_NE(why.find("-stride"), std::string::npos) << why;
      ++refused;
      continue;
    }
    ++checked;
    for (DType dt : {DType::fp32, DType::fp16})
      for (bool nhwc : {false, true}) {
        dnn::DgradGraph g = dnn::make_dgrad_graph(p, {dt, nhwc ? Layout::nhwc : Layout::nchw}, 16);
        const dnn::fe::error_t e = g.graph->validate();
        ASSERT_TRUE(e.is_good()) << e.err_msg;
        const auto dyd = g.dy->get_dim(), dys = g.dy->get_stride();
        const auto wd = g.w->get_dim(), ws = g.w->get_stride();
        const auto dxd = g.dx->get_dim(), dxs = g.dx->get_stride();
        const auto pre = g.conv.get_pre_padding(), post = g.conv.get_post_padding();
        const auto st = g.conv.get_stride(), dil = g.conv.get_dilation();
        ASSERT_EQ(g.conv.get_convolution_mode(), dnn::fe::ConvolutionMode_t::CROSS_CORRELATION);
        pre_ne_post += pre != post;
        const int64_t K = wd[0], Cg = wd[1], R = wd[2], S = wd[3];
        for (int a = 0; a < 2; ++a) {
          ASSERT_GE(post[size_t(a)], 0);
          const int64_t span = dxd[size_t(2 + a)] + pre[size_t(a)] + post[size_t(a)] -
                               dil[size_t(a)] * ((a == 0 ? R : S) - 1) - 1;
          ASSERT_GE(span, 0) << p.to_string();
          EXPECT_EQ(span / st[size_t(a)] + 1, dyd[size_t(2 + a)])
              << "axis " << a << " " << p.to_string();
        }
        const int64_t groups = dxd[1] / Cg, Kg = K / groups;
        HostRun r = testing::make_run(p, dt, nhwc, rng);
        const std::vector<double> dy = convert::from_storage(dt, r.xs.data(), size_t(p.x_elems()));
        const std::vector<double> w = convert::from_storage(dt, r.ws.data(), size_t(p.w_elems()));
        std::vector<double> dx(size_t(p.y_elems()), 0.0);
        auto at = [](const std::vector<int64_t>& strides, int64_t a, int64_t b, int64_t c,
                     int64_t d) {
          return size_t(a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3]);
        };
        for (int64_t n = 0; n < dyd[0]; ++n)
          for (int64_t k = 0; k < K; ++k)
            for (int64_t q = 0; q < dyd[2]; ++q)
              for (int64_t v = 0; v < dyd[3]; ++v)
                for (int64_t c = 0; c < Cg; ++c)
                  for (int64_t rr = 0; rr < R; ++rr)
                    for (int64_t ss = 0; ss < S; ++ss) {
                      const int64_t h = q * st[0] - pre[0] + rr * dil[0];
                      const int64_t x = v * st[1] - pre[1] + ss * dil[1];
                      if (h < 0 || h >= dxd[2] || x < 0 || x >= dxd[3]) continue;
                      dx[at(dxs, n, (k / Kg) * Cg + c, h, x)] +=
                          dy[at(dys, n, k, q, v)] * w[at(ws, k, c, rr, ss)];
                    }
        r.ys = convert::to_storage(dt, dx.data(), dx.size());
        ASSERT_EQ(testing::judge(r), "") << testing::describe(r);
      }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(pre_ne_post, 0);
}

}  // namespace
}  // namespace tconv
