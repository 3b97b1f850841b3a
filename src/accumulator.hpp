#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

namespace icl {

struct RiskEstimate {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double se = std::numeric_limits<double>::quiet_NaN();  // standard error of the mean
};

// Welford's running mean and variance: one pass, stable, deterministic in the order of adding.
struct Accumulator {
  std::int64_t n = 0;
  double mean = 0.0, m2 = 0.0;
  void add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }
  double variance() const { return m2 / static_cast<double>(n - 1); }  // the sample variance, n >= 2
  RiskEstimate estimate() const {
    if (n < 2) return {mean, std::numeric_limits<double>::quiet_NaN()};
    return {mean, std::sqrt(variance() / static_cast<double>(n))};
  }
};

}  // namespace icl
