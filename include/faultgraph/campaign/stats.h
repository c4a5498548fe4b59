// Statistics of fault-injection campaigns: sample sizes (Leveugle et al., DATE 2009),
// Wilson score intervals and stratified estimates.
#pragma once

#include <cstdint>
#include <vector>

namespace fg {

// The standard normal quantile: normal_quantile(0.975) = 1.95996...
double normal_quantile(double p);
// t for a two-sided confidence level: 0.95 -> 1.95996, 0.99 -> 2.5758.
double t_for_confidence(double confidence);

// Leveugle et al.: n = N / (1 + e^2 (N-1) / (t^2 p (1-p))), rounded up; N <= 0 or
// infinite: the limit t^2 p (1-p) / e^2.
int64_t leveugle_sample_size(double population, double margin, double t, double p = 0.5);
// The margin that n trials out of a population of N give (the formula solved for e).
double leveugle_margin(double population, double n, double t, double p = 0.5);

struct Interval {
  double low = 0, high = 0;
};
// Wilson score interval of k successes in n trials at normal quantile z.
Interval wilson_interval(int64_t k, int64_t n, double z = 1.959963984540054);

// A population-weighted estimate over strata (each: population N_h, trials n_h, hits k_h):
// rate = sum W_h k_h / n_h with W_h = N_h / N, and a normal-approximation interval from
// var = sum W_h^2 p_h (1 - p_h) / n_h (N_h - n_h) / (N_h - 1) (finite population).
struct StratumCount {
  double population = 0;
  int64_t trials = 0, hits = 0;
};
struct Estimate {
  double rate = 0;
  Interval interval;
};
Estimate stratified_estimate(const std::vector<StratumCount>& strata, double z = 1.959963984540054);

}  // namespace fg
