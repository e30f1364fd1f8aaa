// 1-D transposed convolution (PyTorch's ConvTranspose1d) for users, run as the 2-D problem with
// H = 1: `tconv run` on 3-D arrays, the `l=` shape key, and the `modern` suite's layers.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/npy.hpp"
#include "core/problem.hpp"
#include "core/types.hpp"
#include "reference/reference.hpp"
#include "test_programs.hpp"
#include "test_util.hpp"

#if defined(TCONV_HAVE_HARNESS)
#include "bench/shapes.hpp"
#endif

namespace tconv {
namespace {

using testing::ProgramRun;
using testing::slurp;

std::string dir() { return testing::test_temp_prefix("1d"); }

ProgramRun program(const std::string& name, const std::string& args) {
  return testing::run_program(name, args, "1d");
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// ConvTranspose1d written from its definition, independent of Problem and the references:
// y[n][co][o] = bias[co] + sum over ci in co's group, j in [0, K), i with o = i*s - p + j*d of
// x[n][ci][i] * w[ci][co % (C_out/g)][j].
std::vector<double> conv_transpose1d(const std::vector<double>& x, const std::vector<double>& w,
                                     const std::vector<double>& b, int64_t n, int64_t c_in,
                                     int64_t l, int64_t c_out, int64_t k, int64_t s, int64_t pad,
                                     int64_t out_pad, int64_t dil, int64_t groups) {
  const int64_t l_out = (l - 1) * s - 2 * pad + dil * (k - 1) + out_pad + 1;
  const int64_t cig = c_in / groups, cog = c_out / groups;
  std::vector<double> y(size_t(n * c_out * l_out), 0.0);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t co = 0; co < c_out; ++co)
      for (int64_t o = 0; o < l_out; ++o) {
        double acc = b.empty() ? 0.0 : b[size_t(co)];
        const int64_t g = co / cog;
        for (int64_t ci = g * cig; ci < (g + 1) * cig; ++ci)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t t = o + pad - j * dil;
            if (t < 0 || t % s != 0 || t / s >= l) continue;
            acc += x[size_t((in * c_in + ci) * l + t / s)] * w[size_t((ci * cog + co % cog) * k + j)];
          }
        y[size_t((in * c_out + co) * l_out + o)] = acc;
      }
  return y;
}

class OneDRun : public ::testing::Test {
 protected:
  // Stride 3, padding 1, output_padding 1, dilation 2, groups 2, bias: every option in play.
  static constexpr int64_t n = 2, c_in = 4, l = 7, c_out = 6, k = 4, s = 3, pad = 1, out_pad = 1,
                           dil = 2, groups = 2;
  void SetUp() override {
    std::mt19937_64 rng(11);
    x = testing::random_data(rng, n * c_in * l);
    w = testing::random_data(rng, c_in * (c_out / groups) * k);
    b = testing::random_data(rng, c_out);
    write_npy(xp, {n, c_in, l}, x, true);
    write_npy(wp, {c_in, c_out / groups, k}, w, true);
    write_npy(bp, {c_out}, b, true);
    std::remove(yp.c_str());
  }
  std::string options() const {
    return " --input " + xp + " --weight " + wp + " --bias " + bp +
           " --stride 3 --padding 1 --output-padding 1 --dilation 2 --groups 2 --output " + yp;
  }
  // The same layer as the 2-D problem with H = 1.
  Problem problem() const {
    Problem p;
    p.n = n, p.c_in = c_in, p.h_in = 1, p.w_in = l, p.c_out = c_out;
    p.k_h = 1, p.k_w = k, p.stride_h = 1, p.stride_w = s, p.pad_h = 0, p.pad_w = pad;
    p.out_pad_h = 0, p.out_pad_w = out_pad, p.dil_h = 1, p.dil_w = dil, p.groups = groups;
    p.has_bias = true;
    return p;
  }
  std::vector<double> x, w, b;
  std::string xp = dir() + "x.npy", wp = dir() + "w.npy", bp = dir() + "b.npy", yp = dir() + "y.npy";
};

TEST_F(OneDRun, EveryReferenceMatchesThe2DProblemAndA1DLoop) {
  const Problem p = problem();
  ASSERT_EQ(p.validate(), "");
  std::vector<double> via_2d(size_t(p.y_elems()));
  ref::direct(p, x.data(), w.data(), b.data(), via_2d.data());
  const std::vector<double> via_1d = conv_transpose1d(x, w, b, n, c_in, l, c_out, k, s, pad, out_pad, dil, groups);
  const int64_t l_out = (l - 1) * s - 2 * pad + dil * (k - 1) + out_pad + 1;
  ASSERT_EQ(p.w_out(), l_out);
  ASSERT_EQ(p.h_out(), 1);
  ASSERT_EQ(via_1d.size(), via_2d.size());
  for (size_t i = 0; i < via_1d.size(); ++i) ASSERT_NEAR(via_1d[i], via_2d[i], 1e-12) << i;

  for (const char* impl : {"ref_direct", "ref_matrix", "ref_zero_insert"}) {
    std::remove(yp.c_str());
    const ProgramRun r = program("tconv", std::string("run --impl ") + impl + options());
    ASSERT_EQ(r.code, 0) << impl << ": " << r.err;
    const NpyArray y = read_npy(yp);
    EXPECT_TRUE(y.is_float64);
    EXPECT_EQ(y.shape, (std::vector<int64_t>{n, c_out, l_out})) << impl << ": y must be 3-D";
    ASSERT_EQ(y.data.size(), via_1d.size());
    for (size_t i = 0; i < via_1d.size(); ++i) ASSERT_NEAR(y.data[i], via_1d[i], 1e-12) << impl << " " << i;
  }
}

TEST_F(OneDRun, DefaultsAreStride1NoPadding) {
  const ProgramRun r = program("tconv", "run --impl ref_direct --input " + xp + " --weight " + wp + " --groups 2 --output " + yp);
  ASSERT_EQ(r.code, 0) << r.err;
  const NpyArray y = read_npy(yp);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{n, c_out, l + k - 1}));
  const auto expected = conv_transpose1d(x, w, {}, n, c_in, l, c_out, k, 1, 0, 0, 1, groups);
  ASSERT_EQ(y.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(y.data[i], expected[i], 1e-12) << i;
}

// Ranks that do not go together, and 2-D pairs given to a 1-D layer: one line, no output.
TEST_F(OneDRun, BadRanksAndPairsGiveOneLineAndNoOutput) {
  const std::string x4 = dir() + "x4.npy", w4 = dir() + "w4.npy", x2 = dir() + "x2.npy", x5 = dir() + "x5.npy";
  write_npy(x4, {n, c_in, 1, l}, x, true);
  write_npy(w4, {c_in, c_out / groups, 1, k}, w, true);
  write_npy(x2, {n * c_in, l}, x, true);
  write_npy(x5, {n, c_in, 1, 1, l}, x, true);
  const std::string tail = " --groups 2 --output " + yp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"3-D input, 4-D weight", "--input " + xp + " --weight " + w4 + tail},
      {"4-D input, 3-D weight", "--input " + x4 + " --weight " + wp + tail},
      {"2-D input", "--input " + x2 + " --weight " + wp + tail},
      {"5-D input", "--input " + x5 + " --weight " + wp + tail},
      {"stride pair", "--input " + xp + " --weight " + wp + " --stride 2,3" + tail},
      {"padding pair", "--input " + xp + " --weight " + wp + " --padding 0,1" + tail},
      {"output padding too large", "--input " + xp + " --weight " + wp + " --output-padding 2" + tail},
  };
  for (const auto& [what, args] : cases) {
    std::remove(yp.c_str());
    const ProgramRun r = program("tconv", "run --impl ref_direct " + args);
    EXPECT_NE(r.code, 0) << what;
    EXPECT_EQ(count_lines(r.err), 1) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("tconv: error: ", 0), 0u) << what << ": " << r.err;
    EXPECT_FALSE(exists(yp)) << what << " wrote an output file";
  }
  const ProgramRun mismatch = program("tconv", "run --impl ref_direct --input " + xp + " --weight " + w4 + tail);
  EXPECT_NE(mismatch.err.find("3-D"), std::string::npos) << mismatch.err;
  EXPECT_NE(mismatch.err.find("4-D"), std::string::npos) << mismatch.err;
  // The 4-D form of the same layer still runs and gives the same numbers in a 4-D y.
  const ProgramRun four = program("tconv", "run --impl ref_direct --input " + x4 + " --weight " + w4 +
                                        " --stride 1,3 --padding 0,1 --output-padding 0,1 --dilation 1,2" + tail);
  ASSERT_EQ(four.code, 0) << four.err;
  const NpyArray y4 = read_npy(yp);
  const int64_t l_out = (l - 1) * s - 2 * pad + dil * (k - 1) + out_pad + 1;
  EXPECT_EQ(y4.shape, (std::vector<int64_t>{n, c_out, 1, l_out}));
  const auto expected = conv_transpose1d(x, w, {}, n, c_in, l, c_out, k, s, pad, out_pad, dil, groups);
  ASSERT_EQ(y4.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(y4.data[i], expected[i], 1e-12) << i;
}

#if defined(TCONV_HAVE_HARNESS)

TEST(OneDShapes, LSpecIsTheProblemWithH1) {
  const Shape sh = parse_shape_spec("n=2,c_in=512,l=86,c_out=256,k=16,stride=8,pad=4,bias=1,name=up1", "x");
  const Problem& p = sh.problem;
  EXPECT_EQ(sh.name, "up1");
  EXPECT_EQ(p.n, 2);
  EXPECT_EQ(p.c_in, 512);
  EXPECT_EQ(p.c_out, 256);
  EXPECT_EQ(p.h_in, 1);
  EXPECT_EQ(p.w_in, 86);
  EXPECT_EQ(p.k_h, 1);
  EXPECT_EQ(p.k_w, 16);
  EXPECT_EQ(p.stride_h, 1);
  EXPECT_EQ(p.stride_w, 8);
  EXPECT_EQ(p.pad_h, 0);
  EXPECT_EQ(p.pad_w, 4);
  EXPECT_EQ(p.out_pad_h, 0);
  EXPECT_EQ(p.out_pad_w, 0);
  EXPECT_EQ(p.dil_h, 1);
  EXPECT_EQ(p.dil_w, 1);
  EXPECT_TRUE(p.has_bias);
  EXPECT_EQ(p.h_out(), 1);
  EXPECT_EQ(p.w_out(), 688);
  // out_pad and dil go to W only too.
  const Problem q = parse_shape_spec("c_in=4,l=9,c_out=4,k=3,stride=2,out_pad=2,dil=3", "x").problem;
  EXPECT_EQ(q.out_pad_h, 0);
  EXPECT_EQ(q.out_pad_w, 2);
  EXPECT_EQ(q.dil_h, 1);
  EXPECT_EQ(q.dil_w, 3);
  // The written-out spec (what --list-suites prints) reads back as the same problem.
  EXPECT_EQ(parse_shape_spec(format_shape_spec(p), "y").problem.to_string(), p.to_string());
}

TEST(OneDShapes, BadLSpecsAreOneLineErrors) {
  for (const char* spec : {"c_in=4,l=9,h_in=3,c_out=4,k=3",        // both forms
                           "c_in=4,l=9,w_in=9,c_out=4,k=3",
                           "c_in=4,l=9,c_out=4,k=3:5",               // an H:W pair on 1-D
                           "c_in=4,l=9,c_out=4,k=3,stride=1:2",
                           "c_in=4,c_out=4,k=3",                     // neither
                           "c_in=4,l=0,c_out=4,k=3",                 // invalid problem
                           "c_in=4,l=nine,c_out=4,k=3",
                           "c_in=4,l=9,l=9,c_out=4,k=3"}) {
    try {
      parse_shape_spec(spec, "1");
      ADD_FAILURE() << "no error for " << spec;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_NE(what.find(spec), std::string::npos) << what;
    }
  }
}

TEST(OneDShapes, ShapesFileMixes1DAnd2DRows) {
  const std::string text =
      "name,c_in,h_in,w_in,l,c_out,k,stride,pad,bias\n"
      "conv2d,8,5,6,,4,3,2,1,0\n"
      "conv1d,8,,,100,4,16,8,4,1\n";
  const auto shapes = parse_shapes_csv(text, "m.csv");
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].problem.h_in, 5);
  EXPECT_EQ(shapes[0].problem.k_h, 3);
  EXPECT_EQ(shapes[1].problem.h_in, 1);
  EXPECT_EQ(shapes[1].problem.w_in, 100);
  EXPECT_EQ(shapes[1].problem.k_h, 1);
  EXPECT_EQ(shapes[1].problem.k_w, 16);
  EXPECT_EQ(shapes[1].problem.stride_h, 1);
  EXPECT_EQ(shapes[1].problem.pad_h, 0);
  EXPECT_EQ(shapes[1].problem.pad_w, 4);
  EXPECT_THROW(parse_shapes_csv("c_in,h_in,l,c_out,k\n8,3,100,4,3\n", "bad.csv"), Error);
  EXPECT_THROW(parse_shapes_csv("c_in,h_in,w_in,l,c_out,k\n8,,,,4,3\n", "bad.csv"), Error);
}

const Problem* modern_shape(const std::string& name) {
  for (const Suite& s : builtin_suites())
    if (s.name == "modern")
      for (const Shape& sh : s.shapes)
        if (sh.name == name) return &sh.problem;
  return nullptr;
}

// Every layer of the modern suite as the models' sources give it (bench/suites.cpp cites them).
TEST(OneDModernSuite, EveryLayerAsTheModelsBuildIt) {
  struct L {
    const char* name;
    int64_t n, c_in, h, w, c_out, k, stride, pad;
    bool one_d;
    int64_t out_pad = 0;
  };
  const std::vector<L> layers = {
      {"sam_up1_b64", 64, 256, 64, 64, 64, 2, 2, 0, false},
      {"sam_up2_b64", 64, 64, 128, 128, 32, 2, 2, 0, false},
      {"sam_up1_b1", 1, 256, 64, 64, 64, 2, 2, 0, false},
      {"sam_up2_b1", 1, 64, 128, 128, 32, 2, 2, 0, false},
      {"yolov8x_proto", 1, 320, 80, 80, 320, 2, 2, 0, false},
      {"yolov8n_proto", 1, 64, 80, 80, 64, 2, 2, 0, false},
      {"vitdet_b_up1", 1, 768, 64, 64, 384, 2, 2, 0, false},
      {"vitdet_b_up2", 1, 384, 128, 128, 192, 2, 2, 0, false},
      {"miopen3952_up", 1, 512, 128, 128, 256, 3, 2, 1, false, 1},
      {"hifigan_up1", 1, 512, 1, 86, 256, 16, 8, 4, true},
      {"hifigan_up2", 1, 256, 1, 688, 128, 16, 8, 4, true},
      {"hifigan_up3", 1, 128, 1, 5504, 64, 4, 2, 1, true},
      {"hifigan_up4", 1, 64, 1, 11008, 32, 4, 2, 1, true},
      {"encodec_up1", 1, 512, 1, 75, 256, 16, 8, 0, true},
      {"encodec_up2", 1, 256, 1, 600, 128, 10, 5, 0, true},
      {"encodec_up3", 1, 128, 1, 3000, 64, 8, 4, 0, true},
      {"encodec_up4", 1, 64, 1, 12000, 32, 4, 2, 0, true},
      {"bigvgan_up1", 1, 1536, 1, 93, 768, 8, 4, 2, true},
      {"bigvgan_up2", 1, 768, 1, 372, 384, 8, 4, 2, true},
      {"bigvgan_up3", 1, 384, 1, 1488, 192, 4, 2, 1, true},
      {"bigvgan_up4", 1, 192, 1, 2976, 96, 4, 2, 1, true},
      {"bigvgan_up5", 1, 96, 1, 5952, 48, 4, 2, 1, true},
      {"bigvgan_up6", 1, 48, 1, 11904, 24, 4, 2, 1, true},
  };
  size_t suite_size = 0;
  for (const Suite& s : builtin_suites())
    if (s.name == "modern") suite_size = s.shapes.size();
  EXPECT_EQ(suite_size, layers.size());
  for (const L& e : layers) {
    const Problem* p = modern_shape(e.name);
    ASSERT_NE(p, nullptr) << e.name;
    EXPECT_EQ(p->validate(), "") << e.name;
    EXPECT_EQ(p->n, e.n) << e.name;
    EXPECT_EQ(p->c_in, e.c_in) << e.name;
    EXPECT_EQ(p->h_in, e.h) << e.name;
    EXPECT_EQ(p->w_in, e.w) << e.name;
    EXPECT_EQ(p->c_out, e.c_out) << e.name;
    EXPECT_EQ(p->k_w, e.k) << e.name;
    EXPECT_EQ(p->stride_w, e.stride) << e.name;
    EXPECT_EQ(p->pad_w, e.pad) << e.name;
    EXPECT_EQ(p->k_h, e.one_d ? 1 : e.k) << e.name;
    EXPECT_EQ(p->stride_h, e.one_d ? 1 : e.stride) << e.name;
    EXPECT_EQ(p->pad_h, e.one_d ? 0 : e.pad) << e.name;
    EXPECT_EQ(p->out_pad_h, e.one_d ? 0 : e.out_pad) << e.name;
    EXPECT_EQ(p->out_pad_w, e.out_pad) << e.name;
    EXPECT_EQ(p->dil_h, 1) << e.name;
    EXPECT_EQ(p->dil_w, 1) << e.name;
    EXPECT_EQ(p->groups, 1) << e.name;
    EXPECT_TRUE(p->has_bias) << e.name;
    if (e.one_d) {
      EXPECT_EQ(p->h_out(), 1) << e.name;
    }
  }
}

// Each model's layers chain: a layer's output length is the next one's input length (EnCodec
// after trimming k - stride samples), and one second of audio comes out.
TEST(OneDModernSuite, AudioLayersChainToOneSecond) {
  auto w_out = [](const char* name) {
    const Problem* p = modern_shape(name);
    EXPECT_NE(p, nullptr) << name;
    return p ? p->w_out() : int64_t(-1);
  };
  auto w_in = [](const char* name) {
    const Problem* p = modern_shape(name);
    return p ? p->w_in : int64_t(-2);
  };
  auto c_out = [](const char* name) {
    const Problem* p = modern_shape(name);
    return p ? p->c_out : int64_t(-1);
  };
  auto c_in = [](const char* name) {
    const Problem* p = modern_shape(name);
    return p ? p->c_in : int64_t(-2);
  };
  const std::vector<std::vector<const char*>> models = {
      {"hifigan_up1", "hifigan_up2", "hifigan_up3", "hifigan_up4"},
      {"bigvgan_up1", "bigvgan_up2", "bigvgan_up3", "bigvgan_up4", "bigvgan_up5", "bigvgan_up6"},
      {"sam_up1_b64", "sam_up2_b64"},
      {"vitdet_b_up1", "vitdet_b_up2"}};
  for (const auto& m : models)
    for (size_t i = 0; i + 1 < m.size(); ++i) {
      EXPECT_EQ(w_out(m[i]), w_in(m[i + 1])) << m[i] << " -> " << m[i + 1];
      EXPECT_EQ(c_out(m[i]), c_in(m[i + 1])) << m[i] << " -> " << m[i + 1];
    }
  const std::vector<const char*> encodec = {"encodec_up1", "encodec_up2", "encodec_up3", "encodec_up4"};
  for (size_t i = 0; i + 1 < encodec.size(); ++i) {
    const Problem* p = modern_shape(encodec[i]);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->w_out() - (p->k_w - p->stride_w), w_in(encodec[i + 1])) << encodec[i];
  }
  const Problem* last = modern_shape("encodec_up4");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->w_out() - (last->k_w - last->stride_w), 24000);  // one second at 24 kHz
  // HiFi-GAN and BigVGAN: 256 samples per mel frame (hop_size 256).
  EXPECT_EQ(w_out("hifigan_up4"), 86 * 256);
  EXPECT_EQ(w_out("bigvgan_up6"), 93 * 256);
}

TEST(OneDModernSuite, ListSuitesShowsModern) {
  if (!exists(std::string(TCONV_BINARY_DIR) + "/tconv_bench")) GTEST_SKIP() << "tconv_bench not built";
  const ProgramRun text = program("tconv_bench", "--list-suites");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("modern"), std::string::npos) << text.out;
  const ProgramRun csv = program("tconv_bench", "--list-suites --format csv");
  ASSERT_EQ(csv.code, 0) << csv.err;
  std::istringstream lines(csv.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  std::vector<std::string> header;
  {
    std::istringstream cells(line);
    std::string c;
    while (std::getline(cells, c, ',')) header.push_back(c);
  }
  std::map<std::string, std::map<std::string, std::string>> modern;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::map<std::string, std::string> row;
    std::string c;
    for (size_t i = 0; std::getline(cells, c, ','); ++i)
      if (i < header.size()) row[header[i]] = c;
    if (row["suite"] == "modern") modern[row["shape"]] = row;
  }
  ASSERT_TRUE(modern.count("hifigan_up1")) << csv.out;
  ASSERT_TRUE(modern.count("sam_up1_b64")) << csv.out;
  EXPECT_EQ(modern["hifigan_up1"]["h_in"], "1");  // 1-D as H = 1, no new column
  EXPECT_EQ(modern["hifigan_up1"]["w_in"], "86");
  EXPECT_EQ(modern["hifigan_up1"]["k_h"], "1");
  EXPECT_EQ(modern["hifigan_up1"]["k_w"], "16");
  EXPECT_EQ(modern["sam_up1_b64"]["n"], "64");
  // Every modern shape plans without a GPU (the dry run validates it as the bench would).
  const ProgramRun dry = program("tconv_bench", "--dry-run --suite modern --impl gather");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("bigvgan_up6"), std::string::npos) << dry.out;
}

TEST(OneDModernSuite, LShapeRunsThroughTheBenchDryRun) {
  if (!exists(std::string(TCONV_BINARY_DIR) + "/tconv_bench")) GTEST_SKIP() << "tconv_bench not built";
  const ProgramRun r = program("tconv_bench", "--dry-run --impl gather --shape c_in=64,l=11008,c_out=32,k=4,stride=2,pad=1,bias=1,name=voc");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("voc"), std::string::npos) << r.out;
  const ProgramRun bad = program("tconv_bench", "--dry-run --impl gather --shape c_in=64,l=100,h_in=2,c_out=32,k=4");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

#endif  // TCONV_HAVE_HARNESS

}  // namespace
}  // namespace tconv
