#include "faultgraph/campaign/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "faultgraph/core/error.h"

namespace fg {

double normal_quantile(double p) {
  FG_CHECK(p > 0.0 && p < 1.0, UsageError, "normal quantile of ", p, ": must be in (0, 1)");
  // Acklam's rational approximation (relative error < 1.2e-9), then one Newton step.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double t_for_confidence(double confidence) {
  FG_CHECK(confidence > 0.0 && confidence < 1.0, UsageError, "confidence ", confidence,
           " must be in (0, 1), e.g. 0.95");
  return normal_quantile(0.5 + confidence / 2);
}

int64_t leveugle_sample_size(double N, double e, double t, double p) {
  FG_CHECK(e > 0 && e < 1, UsageError, "margin ", e, " must be in (0, 1), e.g. 0.01");
  FG_CHECK(p > 0 && p < 1, UsageError, "p ", p, " must be in (0, 1); 0.5 is the worst case");
  double limit = t * t * p * (1 - p) / (e * e);
  double n = !(N > 0) || std::isinf(N) ? limit : N / (1 + e * e * (N - 1) / (t * t * p * (1 - p)));
  // Round up, but not past a value a hair above an integer by floating-point error.
  double up = std::ceil(n - 1e-9 * std::max(1.0, n));
  if (N > 0 && !std::isinf(N)) up = std::min(up, N);
  return static_cast<int64_t>(up);
}

double leveugle_margin(double N, double n, double t, double p) {
  if (!(n > 0)) return std::numeric_limits<double>::infinity();
  double fpc = (N > 1 && !std::isinf(N)) ? std::max(0.0, (N - n) / (N - 1)) : 1.0;
  return t * std::sqrt(p * (1 - p) / n * fpc);
}

Interval wilson_interval(int64_t k, int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  double nn = static_cast<double>(n), ph = static_cast<double>(k) / nn, z2 = z * z;
  double centre = (ph + z2 / (2 * nn)) / (1 + z2 / nn);
  double half = z / (1 + z2 / nn) * std::sqrt(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Estimate stratified_estimate(const std::vector<StratumCount>& strata, double z) {
  double total = 0;
  for (const auto& s : strata) {
    if (s.trials > 0) total += s.population;
  }
  Estimate out;
  if (total <= 0) {
    out.interval = {0.0, 1.0};
    return out;
  }
  double var = 0;
  for (const auto& s : strata) {
    if (s.trials <= 0) continue;
    double w = s.population / total, n = static_cast<double>(s.trials);
    double p = static_cast<double>(s.hits) / n;
    double fpc = s.population > 1 ? std::max(0.0, (s.population - n) / (s.population - 1)) : 0.0;
    out.rate += w * p;
    var += w * w * p * (1 - p) / n * fpc;
  }
  double half = z * std::sqrt(var);
  out.interval = {std::max(0.0, out.rate - half), std::min(1.0, out.rate + half)};
  return out;
}

}  // namespace fg
