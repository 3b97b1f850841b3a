#include "paired_layer_risk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace icl {

void PairedLayerRisk::Moments::add(double x, double y) {
  ++n;
  const double dx = x - mean_x, dy = y - mean_y;
  const double k = 1.0 / static_cast<double>(n);
  mean_x += dx * k;
  mean_y += dy * k;
  m2_x += dx * (x - mean_x);
  m2_y += dy * (y - mean_y);
  c_xy += dx * (y - mean_y);
}

PairedLayerRisk::PairedLayerRisk(int stride, bool closed_form)
    : wanted_stride_(std::max(1, stride)), closed_form_(closed_form) {}

bool PairedLayerRisk::evaluates(std::int64_t index) const {
  if (index < kPilot) return true;
  if (!decided_) throw std::logic_error("PairedLayerRisk: a prompt past the pilot before the pilot is in");
  return (index - kPilot) % stride_ == 0;
}

void PairedLayerRisk::add(std::int64_t index, double limit, double layer) {
  if (index != limit_.n) throw std::logic_error("PairedLayerRisk: prompts out of order");
  limit_.add(limit);
  if (evaluates(index)) {
    const double d = layer - limit;
    pairs_.add(limit, d);
    (index < kPilot ? pilot_gap_ : after_gap_).add(d);
  }
  if (limit_.n == kPilot) choose_stride();
}

// Per prompt, the variance of the layer's own error is s*^2 + s_D^2 + 2c; paired on every s-th
// prompt, about s*^2 + s s_D^2 + 2c (s s_D^2 alone with R(A*) exact). The stride is the largest
// s up to the one asked for that keeps this within kVarianceAllowance of the former.
void PairedLayerRisk::choose_stride() {
  decided_ = true;
  const double v_limit = pairs_.var_x(), v_gap = pairs_.var_y(), c = pairs_.cov();
  const double allowed = kVarianceAllowance * (v_limit + v_gap + 2.0 * c) - (closed_form_ ? 0.0 : v_limit + 2.0 * c);
  const double most = v_gap > 0.0 ? allowed / v_gap : (allowed >= 0.0 ? wanted_stride_ : 1.0);
  stride_ = std::isfinite(most) ? static_cast<int>(std::clamp(std::floor(most), 1.0, double(wanted_stride_))) : 1;
}

// Var[(P/n) mean_pilot(D) + ((n - P)/n) mean_after(D)] = s_D^2 (P/n^2 + (n - P)^2/(n^2 n_after)).
double PairedLayerRisk::gap_variance() const {
  const auto n = static_cast<double>(limit_.n);
  const auto p = static_cast<double>(std::min<std::int64_t>(limit_.n, kPilot));
  double w = p / (n * n);
  if (after_gap_.n > 0) w += (n - p) * (n - p) / (n * n * static_cast<double>(after_gap_.n));
  return pairs_.var_y() * w;
}

RiskEstimate PairedLayerRisk::gap() const {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (limit_.n == 0) return {nan, nan};
  const auto n = static_cast<double>(limit_.n);
  const auto p = static_cast<double>(std::min<std::int64_t>(limit_.n, kPilot));
  const double mean = (p / n) * pilot_gap_.mean + (after_gap_.n > 0 ? ((n - p) / n) * after_gap_.mean : 0.0);
  return {mean, pairs_.n < 2 ? nan : std::sqrt(gap_variance())};
}

// Cov(mean(e*), gap) = c/n: each evaluated prompt's D pairs with its own e*.
RiskEstimate PairedLayerRisk::risk() const {
  const RiskEstimate g = gap();
  if (limit_.n == 0 || pairs_.n < 2) return {limit_.mean + g.mean, std::numeric_limits<double>::quiet_NaN()};
  const auto n = static_cast<double>(limit_.n);
  const double variance = limit_.variance() / n + gap_variance() + 2.0 * pairs_.cov() / n;
  return {limit_.mean + g.mean, std::sqrt(std::max(variance, 0.0))};
}

}  // namespace icl
