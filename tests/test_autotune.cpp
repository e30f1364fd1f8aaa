// kernels/common/autotune.hpp: the one median rule by which the harness times candidate plans.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/common/autotune.hpp"

namespace tconv {
namespace {

TEST(Autotune, MedianOfTheRuns) {
  EXPECT_EQ(kAutotuneRuns, 5);
  EXPECT_DOUBLE_EQ(median_of({5.0, 1.0, 4.0, 2.0, 3.0}), 3.0);
  // One slow outlier (a clock ramp, a cold cache) does not move it.
  EXPECT_DOUBLE_EQ(median_of({1.0, 1.1, 50.0, 0.9, 1.05}), 1.05);
  EXPECT_DOUBLE_EQ(median_of({2.0, 1.0}), 2.0);  // even count: the upper middle value
  EXPECT_DOUBLE_EQ(median_of({7.0}), 7.0);
  EXPECT_TRUE(std::isnan(median_of({})));
}

}  // namespace
}  // namespace tconv
