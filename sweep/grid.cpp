#include "grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "random_stream.hpp"

namespace icl {

Grid::Grid(const SweepConfig& config) : config_(config) {
  runs_ = config.d.size() * config.n_train.size() * config.spectrum.size() * config.sigma.size() *
          config.init_seed.size();
  conditions_ = config.m_test.size() * config.shift.size();
  // A run's cost depends on (d, n_train) only: one entry each, in run order.
  for (const int d : config.d)
    for (const int n : config.n_train) cost_.push_back(cost_of(d, n));
}

TrainingRun Grid::run(std::uint64_t train_id) const {
  // Mixed radix, init_seed fastest.
  TrainingRun r;
  std::uint64_t i = train_id;
  const auto digit = [&i](std::size_t radix) {
    const std::uint64_t v = i % radix;
    i /= radix;
    return v;
  };
  r.init_seed = config_.init_seed[digit(config_.init_seed.size())];
  r.sigma = config_.sigma[digit(config_.sigma.size())];
  r.spectrum = config_.spectrum[digit(config_.spectrum.size())];
  r.n_train = config_.n_train[digit(config_.n_train.size())];
  r.d = config_.d[digit(config_.d.size())];
  char text[256];
  std::snprintf(text, sizeof text, "d=%d;n=%d;sigma=%.17g;init_seed=%d;spectrum=", r.d, r.n_train,
                r.sigma, r.init_seed);
  r.key = text_key(std::string(text) + r.spectrum);
  return r;
}

Condition Grid::condition(const TrainingRun& run, std::uint64_t index) const {
  Condition c;
  const int m = config_.m_test[index / config_.shift.size()];
  c.m = m == 0 ? run.n_train : m;
  c.shift = config_.shift[index % config_.shift.size()];
  c.key = text_key("m=" + std::to_string(c.m) + ";shift=" + c.shift.text);
  return c;
}

namespace {

// Rough single-core seconds. Training: about a thousand Rosenbrock steps of O(d^2) work,
// 2 us each at d = 10.
double training_cost(double d) { return 2e-3 * std::max(1.0, d * d / 100.0); }

// One condition: per prompt a Gram, two Cholesky factorisations, the products and (m + 2) d
// normals, constants fitted to the core's benchmark (7 us at d = 20, M = 40); plus the closed
// forms' O(d^3).
double condition_cost(double m, double d, int prompts) {
  const double n = std::min(m, d);
  const double prompt = 0.25e-9 * (m * n * n + n * n * n + 8.0 * m * d + 4.0 * d * d) + 3e-9 * (m + 2.0) * d;
  return prompts * prompt + 1e-6 * d * d * d;
}

}  // namespace

double Grid::cost_of(int d, int n_train) const {
  double seconds = training_cost(d);
  for (const int m : config_.m_test)
    seconds += static_cast<double>(config_.shift.size()) * condition_cost(m == 0 ? n_train : m, d, config_.mc.prompts);
  return seconds;
}

double Grid::cost_estimate(std::uint64_t train_id) const {
  // Mixed radix as in run(): d is the slowest digit, n_train the next.
  const std::uint64_t per_n = runs_ / (config_.d.size() * config_.n_train.size());
  const std::uint64_t dn = train_id / per_n;
  return cost_[dn];
}

double Grid::total_cost_estimate() const {
  const double per_n = static_cast<double>(runs_ / (config_.d.size() * config_.n_train.size()));
  double total = 0.0;
  for (const double c : cost_) total += per_n * c;
  return total;
}

}  // namespace icl
