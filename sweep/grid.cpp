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

double Grid::cost_estimate(std::uint64_t train_id) const {
  const TrainingRun r = run(train_id);
  const double d = r.d;
  // Training: about a thousand Rosenbrock steps of O(d^2) work, 2 us each at d = 10.
  double seconds = 2e-3 * std::max(1.0, d * d / 100.0);
  for (std::uint64_t c = 0; c < conditions_; ++c) {
    const double m = condition(r, c).m;
    const double n = std::min(m, d);
    // Per prompt: Gram, two Cholesky factorisations, the products, and (m + 2) d normals;
    // constants fitted to the core's benchmark (7 us at d = 20, M = 40).
    const double prompt = 0.25e-9 * (m * n * n + n * n * n + 8.0 * m * d + 4.0 * d * d) + 3e-9 * (m + 2.0) * d;
    seconds += config_.mc_prompts * prompt + 1e-6 * d * d * d;
  }
  return seconds;
}

}  // namespace icl
