#include <gtest/gtest.h>
TEST(Placeholder, One) { EXPECT_EQ(1, 1); }
