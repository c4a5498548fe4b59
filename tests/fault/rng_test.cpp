#include "faultgraph/fault/rng.h"

#include <gtest/gtest.h>

namespace fg {
namespace {

// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
TEST(CounterRng, MatchesPhiloxKnownAnswers) {
  auto zero = CounterRng(0, 0).block(0);
  EXPECT_EQ(zero, (std::array<uint32_t, 4>{0x6627e8d5U, 0xe169c58dU, 0xbc57ac4cU, 0x9b00dbd8U}));
  auto ones = CounterRng(~uint64_t{0}, ~uint64_t{0}).block(~uint64_t{0});
  EXPECT_EQ(ones, (std::array<uint32_t, 4>{0x408f276dU, 0x41c83b0eU, 0xa20bc7c6U, 0x6d5451fdU}));
}

TEST(CounterRng, UniformAndBelowStayInRange) {
  CounterRng rng(42, stream_id(7, 1, 2));
  double sum = 0;
  for (uint64_t i = 0; i < 20000; ++i) {
    double u = rng.uniform(i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ASSERT_LT(rng.below(i, 32), 32U);
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
}

TEST(CounterRng, StreamsDiffer) {
  EXPECT_NE(CounterRng(1, stream_id(1)).block(0), CounterRng(1, stream_id(2)).block(0));
  EXPECT_NE(stream_id(1, 2), stream_id(2, 1));
}

}  // namespace
}  // namespace fg
