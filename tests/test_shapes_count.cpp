// CPU tests of the `count` shape key (how many layers of a model share a shape, written by
// scripts/shapes_from_onnx.py and shapes_from_torch.py): parsed from specs and shapes files,
// validated, and carried into the results CSV's `count` column after the contract columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#if defined(TCONV_HAVE_HARNESS)

#include "bench/csv.hpp"
#include "bench/shapes.hpp"

namespace tconv {
namespace {

TEST(HarnessShapeCount, SpecAndDefault) {
  EXPECT_EQ(parse_shape_spec("c_in=3,h_in=5,w_in=6,c_out=2,k=3", "1").count, 1);
  const Shape s = parse_shape_spec("c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=7,name=up1", "1");
  EXPECT_EQ(s.count, 7);
  EXPECT_EQ(s.name, "up1");
  EXPECT_EQ(s.problem.c_in, 3);  // count changes nothing about the problem
  for (const auto& suite : builtin_suites())
    for (const auto& sh : suite.shapes) EXPECT_EQ(sh.count, 1) << suite.name << "/" << sh.name;
}

TEST(HarnessShapeCount, RejectsBadCounts) {
  for (const char* spec : {"c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=0",
                           "c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=-2",
                           "c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=1.5",
                           "c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=two",
                           "c_in=3,h_in=5,w_in=6,c_out=2,k=3,count=2,count=3"}) {
    try {
      parse_shape_spec(spec, "1");
      ADD_FAILURE() << "no error for " << spec;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("count"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(HarnessShapeCount, ShapesFile) {
  // The format scripts/shapes_from_onnx.py writes: every key as a column, count last.
  const std::string text =
      "name,n,c_in,h_in,w_in,c_out,k,stride,pad,out_pad,dil,groups,bias,count\n"
      "deconv1,1,64,8,8,32,4,2,1,0,1,1,1,3\n"
      "deconv2,2,32,1,20,32,1:5,1:2,0:2,0:1,1:1,4,0,\n";  // empty count: the default
  const auto shapes = parse_shapes_csv(text, "m.csv");
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].count, 3);
  EXPECT_EQ(shapes[1].count, 1);
  EXPECT_EQ(shapes[1].problem.k_h, 1);
  EXPECT_EQ(shapes[1].problem.k_w, 5);
  EXPECT_EQ(shapes[1].problem.out_pad_w, 1);
  EXPECT_EQ(shapes[1].problem.groups, 4);
  try {
    parse_shapes_csv("c_in,h_in,w_in,c_out,k,count\n1,2,2,1,1,0\n", "m.csv");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.csv:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("count"), std::string::npos) << e.what();
  }

  // read_shapes_file, the path tconv_bench --shapes-file takes.
  const std::string path = ::testing::TempDir() + "tconv_count_shapes.csv";
  {
    std::ofstream f(path);
    f << text;
  }
  const auto from_file = read_shapes_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(from_file.size(), 2u);
  EXPECT_EQ(from_file[0].count, 3);
  EXPECT_EQ(from_file[0].name, "deconv1");
}

TEST(HarnessShapeCount, CsvColumnAfterTheOthers) {
  const auto& extra = csv_extra_columns();
  ASSERT_FALSE(extra.empty());
  // After every column that existed before it (later columns may follow).
  const auto at = std::find(extra.begin(), extra.end(), "count");
  ASSERT_NE(at, extra.end());
  EXPECT_GT(at - extra.begin(), std::find(extra.begin(), extra.end(), "ceiling_hgemm_tflops") - extra.begin());
  const auto cols = csv_columns();
  EXPECT_EQ(std::count(cols.begin(), cols.end(), "count"), 1);
  // The contract columns come first and do not include count.
  const auto& contract = csv_contract_columns();
  EXPECT_EQ(std::count(contract.begin(), contract.end(), "count"), 0);
  ASSERT_GE(cols.size(), contract.size());
  EXPECT_TRUE(std::equal(contract.begin(), contract.end(), cols.begin()));

  ResultRow r;
  r.suite = "user";
  r.shape = "deconv1";
  r.problem = parse_shape_spec("c_in=4,h_in=5,w_in=6,c_out=2,k=3", "1").problem;
  r.impl = "x";
  r.status = "not_supported";
  const size_t count_col = size_t(std::find(cols.begin(), cols.end(), "count") - cols.begin());
  RunInfo info;
  auto fields = csv_fields(r, info);
  ASSERT_EQ(fields.size(), cols.size());
  EXPECT_EQ(fields[count_col], "1");  // default
  r.count = 12;
  fields = csv_fields(r, info);
  EXPECT_EQ(fields[count_col], "12");
}

}  // namespace
}  // namespace tconv

#endif  // TCONV_HAVE_HARNESS
