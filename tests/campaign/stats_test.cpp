#include "faultgraph/campaign/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fg {
namespace {

TEST(Stats, NormalQuantile) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(normal_quantile(0.995), 2.5758293035489, 1e-9);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(normal_quantile(0.001), -3.090232306167814, 1e-9);
  EXPECT_NEAR(t_for_confidence(0.95), 1.959963984540054, 1e-9);
}

TEST(Stats, LeveugleSampleSizes) {
  // N -> infinity: t^2 p (1 - p) / e^2.
  EXPECT_EQ(leveugle_sample_size(INFINITY, 0.01, 1.96), 9604);
  EXPECT_EQ(leveugle_sample_size(0, 0.01, 1.96), 9604);
  EXPECT_EQ(leveugle_sample_size(INFINITY, 0.01, 2.58), 16641);
  EXPECT_EQ(leveugle_sample_size(1e15, 0.01, 2.58), 16641);
  // Finite N, by hand: 10000 / (1 + 1e-4 * 9999 / 0.9604) = 4899.25: 4900.
  EXPECT_EQ(leveugle_sample_size(10000, 0.01, 1.96), 4900);
  // 1000 / (1 + 0.0025 * 999 / (1.96^2 * 0.25)) = 277.74...: 278.
  EXPECT_EQ(leveugle_sample_size(1000, 0.05, 1.96), 278);
  // Never more than the population.
  EXPECT_EQ(leveugle_sample_size(10, 0.001, 1.96), 10);
  // p = 0.1: t^2 * 0.09 / e^2 = 3457.44: 3458.
  EXPECT_EQ(leveugle_sample_size(INFINITY, 0.01, 1.96, 0.1), 3458);
  // The margin formula inverts the size.
  EXPECT_NEAR(leveugle_margin(INFINITY, 9604, 1.96), 0.01, 1e-6);
  EXPECT_NEAR(leveugle_margin(10000, 4899.2501, 1.96), 0.01, 1e-6);
}

TEST(Stats, WilsonIntervalByHand) {
  // k = 10, n = 100, z = 1.96: centre (0.1 + 0.019208) / 1.038416 = 0.114798; half
  // 1.96 / 1.038416 * sqrt(0.0009 + 0.00009604) = 0.059570.
  Interval ci = wilson_interval(10, 100, 1.96);
  EXPECT_NEAR(ci.low, 0.0552285, 1e-6);
  EXPECT_NEAR(ci.high, 0.1743673, 1e-6);
  // k = 0: the upper end is z^2 / (n + z^2) = 3.8416 / 53.8416 = 0.071350.
  Interval zero = wilson_interval(0, 50, 1.96);
  EXPECT_NEAR(zero.low, 0.0, 1e-12);
  EXPECT_NEAR(zero.high, 0.071350, 1e-5);
  Interval all = wilson_interval(50, 50, 1.96);
  EXPECT_NEAR(all.high, 1.0, 1e-12);
  EXPECT_NEAR(all.low, 1 - 0.071350, 1e-5);
}

TEST(Stats, StratifiedEstimateByHand) {
  // Two strata: N = 9000, n = 100, 10 hits; N = 1000, n = 100, 50 hits.
  // rate = 0.9 * 0.1 + 0.1 * 0.5 = 0.14.
  // var = 0.81 * 0.09 / 100 * 8900 / 8999 + 0.01 * 0.25 / 100 * 900 / 999
  //     = 0.000743503; half = 1.96 * sqrt(var) = 0.0534438.
  Estimate e = stratified_estimate({{9000, 100, 10}, {1000, 100, 50}}, 1.96);
  EXPECT_NEAR(e.rate, 0.14, 1e-12);
  EXPECT_NEAR(e.interval.low, 0.14 - 0.0534438, 1e-6);
  EXPECT_NEAR(e.interval.high, 0.14 + 0.0534438, 1e-6);
  // A stratum with no trials yet is left out (and its weight with it).
  Estimate partial = stratified_estimate({{9000, 100, 10}, {1000, 0, 0}}, 1.96);
  EXPECT_NEAR(partial.rate, 0.1, 1e-12);
}

}  // namespace
}  // namespace fg
