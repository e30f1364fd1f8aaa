// `tconv_bench --print-contract` (bench/contract.cpp): every column the writer writes, in its
// order, with its meaning from docs/results-csv.md, and the accuracy policy the bench applies.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#if defined(TCONV_HAVE_HARNESS)

#include "bench/contract.hpp"
#include "bench/csv.hpp"
#include "bench/tolerance.hpp"

namespace tconv {
namespace {

TEST(Contract, EveryWrittenColumnIsDocumentedAndListedInOrder) {
  const auto meanings = documented_column_meanings();
  const std::string js = contract_json();
  size_t at = 0;
  for (const std::string& c : csv_columns()) {
    ASSERT_TRUE(meanings.count(c)) << c << " has no row in docs/results-csv.md's column tables";
    EXPECT_FALSE(meanings.at(c).empty()) << c;
    const size_t pos = js.find("{\"name\": \"" + c + "\"", at);
    ASSERT_NE(pos, std::string::npos) << c << " missing or out of order in the contract";
    at = pos + 1;
  }
  // A table row naming several columns gives each the row's meaning.
  EXPECT_EQ(meanings.at("time_ms_min"), meanings.at("time_ms_median"));
  EXPECT_NE(meanings.at("dtype").find("fp32"), std::string::npos);
  EXPECT_NE(js.find("{\"name\": \"suite\", \"contract\": true"), std::string::npos);
  EXPECT_NE(js.find("{\"name\": \"setup_ms\", \"contract\": false"), std::string::npos);
}

TEST(Contract, AccuracyPolicyIsTheOneTheBenchApplies) {
  const std::string js = contract_json();
  EXPECT_NE(js.find("\"fp32\": {\"base\": 1e-05, \"per_sqrt_k\": 1e-06, \"cap\": 0.0001}"),
            std::string::npos)
      << js;
  EXPECT_NE(js.find("\"bf16\": {\"base\": 0.01, \"per_sqrt_k\": 0, \"cap\": 0.01}"),
            std::string::npos);
  EXPECT_NE(js.find("\"pointwise_factor\": 10,"), std::string::npos);
  EXPECT_NE(js.find("\"reduced_precision_factor\": 10,"), std::string::npos);
  // The printed numbers are tolerance()'s: the bound at K = 400 and the cap at a large K.
  const DTypeBound b = dtype_bound(DType::fp32);
  EXPECT_DOUBLE_EQ(tolerance(DType::fp32, 400).rel_l2, b.base + b.per_sqrt_k * 20);
  EXPECT_DOUBLE_EQ(tolerance(DType::fp32, 1 << 30).rel_l2, b.cap);
  EXPECT_DOUBLE_EQ(tolerance(DType::fp16, 7).max_abs_rel, kPointwiseFactor * 5e-3);
}

TEST(Contract, JsonStringsAreEscaped) {
  // The meanings hold backticks, quotes and non-ASCII (−, ·); the JSON must stay one valid
  // document: no raw control character, every quote inside a string escaped.
  const std::string js = contract_json();
  for (char c : js) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20);
  EXPECT_EQ(js.front(), '{');
  EXPECT_EQ(js.substr(js.size() - 2), "}\n");
}

}  // namespace
}  // namespace tconv

#endif  // TCONV_HAVE_HARNESS
