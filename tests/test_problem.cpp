#include <gtest/gtest.h>

#include "core/problem.hpp"

namespace tconv {
namespace {

Problem make(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t s,
             int64_t pad, int64_t op = 0) {
  Problem p;
  p.n = n, p.c_in = c_in, p.h_in = h, p.w_in = w, p.c_out = c_out;
  p.k_h = p.k_w = k, p.stride_h = p.stride_w = s, p.pad_h = p.pad_w = pad;
  p.out_pad_h = p.out_pad_w = op;
  return p;
}

// Output sizes as torch.nn.ConvTranspose2d reports them for these configurations.
TEST(Problem, OutputSizeTable) {
  struct Row {
    Problem p;
    int64_t h_out, w_out;
  };
  Problem asym = make(1, 1, 5, 7, 1, 1, 1, 0);
  asym.k_h = 3, asym.k_w = 2, asym.stride_h = 2, asym.stride_w = 3, asym.pad_h = 1, asym.pad_w = 0;
  asym.dil_h = 2, asym.dil_w = 1, asym.out_pad_h = 1, asym.out_pad_w = 2;
  const Row rows[] = {
      {make(1, 1, 2, 2, 1, 3, 1, 0), 4, 4},         // the 4x4 / 3x3 example
      {make(64, 100, 1, 1, 512, 4, 1, 0), 4, 4},    // dcgan l1
      {make(64, 512, 4, 4, 256, 4, 2, 1), 8, 8},    // dcgan l2
      {make(1, 1024, 28, 28, 512, 2, 2, 0), 56, 56},  // unet
      {make(1, 256, 64, 64, 128, 3, 2, 1, 1), 128, 128},  // cyclegan
      {make(4, 512, 64, 64, 256, 3, 2, 0), 129, 129},     // stylegan2
      {make(1, 21, 70, 70, 21, 16, 8, 0), 568, 568},      // fcn8s
      {make(1, 21, 16, 16, 21, 64, 32, 0), 544, 544},     // fcn32s
      // (5-1)*2 - 2*1 + 2*(3-1) + 1 + 1 = 12; (7-1)*3 - 0 + 1*(2-1) + 2 + 1 = 22
      {asym, 12, 22},
  };
  Problem fsrcnn = make(1, 56, 270, 480, 1, 9, 4, 4, 3);
  EXPECT_EQ(fsrcnn.h_out(), 1080);
  EXPECT_EQ(fsrcnn.w_out(), 1920);
  for (const Row& r : rows) {
    EXPECT_EQ(r.p.validate(), "") << r.p.to_string();
    EXPECT_EQ(r.p.h_out(), r.h_out) << r.p.to_string();
    EXPECT_EQ(r.p.w_out(), r.w_out) << r.p.to_string();
  }
}

TEST(Problem, FlopsAndBytes) {
  Problem p = make(2, 4, 3, 5, 6, 3, 2, 1);
  p.groups = 2;
  p.has_bias = true;
  // 2 * N * C_in * H_in * W_in * (C_out/groups) * kH * kW
  EXPECT_DOUBLE_EQ(p.flops(), 2.0 * 2 * 4 * 3 * 5 * 3 * 3 * 3);
  EXPECT_EQ(p.w_elems(), 4 * 3 * 3 * 3);
  EXPECT_EQ(p.y_elems(), 2 * 6 * p.h_out() * p.w_out());
  EXPECT_DOUBLE_EQ(p.min_bytes(4), 4.0 * (p.x_elems() + p.w_elems() + 6 + p.y_elems()));
}

TEST(Problem, ValidateRejectsCatalog) {
  struct Bad {
    const char* what;
    void (*mutate)(Problem&);
    const char* field;  // the message must name it
  };
  const Bad catalog[] = {
      {"n zero", [](Problem& p) { p.n = 0; }, "n ="},
      {"n negative", [](Problem& p) { p.n = -3; }, "n ="},
      {"c_in zero", [](Problem& p) { p.c_in = 0; }, "c_in"},
      {"c_out zero", [](Problem& p) { p.c_out = 0; }, "c_out"},
      {"h_in zero", [](Problem& p) { p.h_in = 0; }, "h_in"},
      {"w_in negative", [](Problem& p) { p.w_in = -1; }, "w_in"},
      {"k_h zero", [](Problem& p) { p.k_h = 0; }, "k_h"},
      {"k_w zero", [](Problem& p) { p.k_w = 0; }, "k_w"},
      {"stride_h zero", [](Problem& p) { p.stride_h = 0; }, "stride_h"},
      {"stride_w negative", [](Problem& p) { p.stride_w = -2; }, "stride_w"},
      {"pad_h negative", [](Problem& p) { p.pad_h = -1; }, "pad_h"},
      {"pad_w negative", [](Problem& p) { p.pad_w = -1; }, "pad_w"},
      {"dil_h zero", [](Problem& p) { p.dil_h = 0; }, "dil_h"},
      {"dil_w zero", [](Problem& p) { p.dil_w = 0; }, "dil_w"},
      {"groups zero", [](Problem& p) { p.groups = 0; }, "groups"},
      {"out_pad negative", [](Problem& p) { p.out_pad_h = -1; }, "out_pad_h"},
      {"c_in not divisible", [](Problem& p) { p.groups = 3; p.c_in = 4; p.c_out = 6; }, "c_in"},
      {"c_out not divisible", [](Problem& p) { p.groups = 2; p.c_in = 4; p.c_out = 5; }, "c_out"},
      {"out_pad_h >= stride and dil", [](Problem& p) { p.stride_h = 2; p.out_pad_h = 2; }, "out_pad_h"},
      {"out_pad_w >= stride and dil", [](Problem& p) { p.out_pad_w = 1; }, "out_pad_w"},
      {"out_pad_w >= max(stride, dil)", [](Problem& p) { p.stride_w = 2; p.dil_w = 3; p.out_pad_w = 3; }, "out_pad_w"},
      {"h_out <= 0", [](Problem& p) { p.h_in = 2; p.k_h = 1; p.pad_h = 5; }, "h_out"},
      {"w_out <= 0", [](Problem& p) { p.w_in = 1; p.k_w = 1; p.pad_w = 1; }, "w_out"},
      {"x overflows int32", [](Problem& p) { p.n = 4096; p.c_in = 1024; p.h_in = 32; p.w_in = 32; }, "x ("},
      {"y overflows int32", [](Problem& p) { p.n = 64; p.c_out = 256; p.h_in = 512; p.w_in = 512; p.stride_h = p.stride_w = 4; }, "y ("},
      {"weight overflows int32", [](Problem& p) { p.c_in = 65536; p.c_out = 65536; p.k_h = 2; }, "weight"},
      {"field absurdly large", [](Problem& p) { p.h_in = int64_t(1) << 40; }, "h_in"},
  };
  ASSERT_GE(sizeof(catalog) / sizeof(catalog[0]), 20u);
  for (const Bad& b : catalog) {
    Problem p = make(1, 4, 5, 5, 6, 3, 1, 0);
    p.groups = 1;
    ASSERT_EQ(p.validate(), "");
    b.mutate(p);
    const std::string why = p.validate();
    EXPECT_NE(why, "") << b.what << " was accepted";
    EXPECT_NE(why.find(b.field), std::string::npos) << b.what << ": message '" << why
                                                    << "' does not name " << b.field;
  }
}

TEST(Problem, ValidateAcceptsEdgeCases) {
  Problem p = make(1, 3, 1, 1, 3, 1, 1, 0);
  p.groups = 3;  // depthwise
  EXPECT_EQ(p.validate(), "");
  p.dil_h = 3, p.stride_h = 1, p.out_pad_h = 2;  // out_pad < dilation is allowed
  EXPECT_EQ(p.validate(), "");
  Problem q = make(1, 1, 3, 3, 1, 3, 1, 2);  // padding crops to a 1x1 output
  EXPECT_EQ(q.h_out(), 1);
  EXPECT_EQ(q.validate(), "");
}

}  // namespace
}  // namespace tconv
