#include "monte_carlo.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "least_squares.hpp"

namespace icl {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Welford's running mean and variance: one pass, stable, deterministic in prompt order.
struct Accumulator {
  std::int64_t n = 0;
  double mean = 0.0, m2 = 0.0;
  void add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }
  RiskEstimate estimate() const {
    if (n < 2) return {mean, std::numeric_limits<double>::quiet_NaN()};
    const double variance = m2 / static_cast<double>(n - 1);
    return {mean, std::sqrt(variance / static_cast<double>(n))};
  }
};

// One prompt's buffers, sized once per condition.
struct PromptWorkspace {
  PromptWorkspace(int m, int d)
      : sqrt_lambda(d), w(d), X(m, d), mixed(m, d), q(d), z(d), y(m), h(d), a_h(d), w_ols(d),
        w_ridge(d), xq(m), projection(d), signs(d), dist(m), order(m) {}
  VectorXd sqrt_lambda, w;
  MatrixXd X, mixed;
  VectorXd q, z, y, h, a_h, w_ols, w_ridge, xq, projection, signs, dist;
  std::vector<int> order;
};

using Query = TestDistribution::Query;
using Quadrants = TestDistribution::Quadrants;

// Draws one test prompt from `s` into p (the task w, the design X, the labels y, the query q) and
// factors its design into ls. Draws in a fixed order: covariance, task, prompt covariates, query,
// signs, noise, index.
void draw_prompt(const TestDistribution& dist, Stream& s, PromptWorkspace& p, LeastSquares& ls) {
  const int d = dist.d;
  const int m = dist.m;
  if (dist.law)
    for (int j = 0; j < d; ++j) p.sqrt_lambda[j] = std::sqrt(dist.law_scale * dist.law->sample(s));
  for (int j = 0; j < d; ++j) p.w[j] = dist.w_mean[j] + dist.w_scale * s.normal();
  for (Eigen::Index j = 0; j < p.X.size(); ++j) p.X.data()[j] = s.normal();
  for (int j = 0; j < d; ++j) p.z[j] = s.normal();

  p.X.array().rowwise() *= p.sqrt_lambda.transpose().array();
  p.z.array() *= p.sqrt_lambda.array();
  if (dist.mix_identity) {
    p.q = p.z;
  } else {
    p.mixed.noalias() = p.X * dist.mix.transpose();
    p.X.swap(p.mixed);
    p.q.noalias() = dist.mix * p.z;
  }
  if (dist.prompt_scale != 1.0) p.X *= dist.prompt_scale;
  if (dist.query_scale != 1.0) p.q *= dist.query_scale;

  if (dist.quadrants != Quadrants::none) {
    for (int j = 0; j < d; ++j) p.signs[j] = (s.next() >> 63) ? -1.0 : 1.0;
    p.X.array() = p.X.array().abs().rowwise() * p.signs.transpose().array();
    if (dist.quadrants == Quadrants::opposite) p.q = -(p.q.cwiseAbs().cwiseProduct(p.signs));
  }
  p.y.noalias() = p.X * p.w;
  if (dist.noise_sd > 0.0)
    for (int j = 0; j < m; ++j) p.y[j] += dist.noise_sd * s.normal();

  ls.factor(p.X);
  ls.pseudo_inverse(p.X, p.y, p.w_ols);
  ls.ridge(p.X, p.y, p.w_ridge);
  if (dist.query == Query::orthogonal) {
    const double norm = p.q.norm();
    p.xq.noalias() = p.X * p.q;
    ls.pseudo_inverse(p.X, p.xq, p.projection);
    p.q -= p.projection;
    p.q *= norm / p.q.norm();
  } else if (dist.query == Query::overlapping) {
    p.q = p.X.row(static_cast<Eigen::Index>(s.below(static_cast<std::uint64_t>(m)))).transpose();
  }
}

// Every predictor's prediction for the prompt in p; `model` only when `linear` (the trained model
// is lsa.trained), else a BlockPredictor fills it in later.
struct Predictions {
  double target, model, limit, ols, ridge, gd, avg, knn;
};

Predictions predict(PromptWorkspace& p, const LsaPredictors& lsa, bool linear, int k) {
  const auto m = p.X.rows();
  Predictions r{};
  r.target = p.w.dot(p.q);
  p.h.noalias() = p.X.transpose() * p.y;
  p.h /= static_cast<double>(m);
  r.avg = p.q.dot(p.h);
  if (linear) {
    p.a_h.noalias() = lsa.trained * p.h;
    r.model = p.q.dot(p.a_h);
  }
  p.a_h.noalias() = lsa.limit * p.h;
  r.limit = p.q.dot(p.a_h);
  r.ols = p.q.dot(p.w_ols);
  r.ridge = p.q.dot(p.w_ridge);
  r.gd = lsa.gd_eta * r.avg;

  p.dist.noalias() = (p.X.rowwise() - p.q.transpose()).rowwise().squaredNorm();
  std::iota(p.order.begin(), p.order.end(), 0);
  std::nth_element(p.order.begin(), p.order.begin() + (k - 1), p.order.end(),
                   [&](int a, int c) { return p.dist[a] < p.dist[c] || (p.dist[a] == p.dist[c] && a < c); });
  double knn = 0.0;
  for (int j = 0; j < k; ++j) knn += p.y[p.order[j]];
  r.knn = knn / k;
  return r;
}

}  // namespace

McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa,
                    const McSettings& settings, const StreamKey& key, const BlockPredictor* model,
                    CancelCheck cancelled) {
  McRisks out;
  if (!dist.defined() || settings.prompts <= 0) return out;
  const int d = dist.d;
  const int m = dist.m;
  const int k = std::min(settings.knn_k, m);

  PromptWorkspace p(m, d);
  LeastSquares ls(m, d, settings.ridge_lambda);
  Accumulator acc_model, acc_limit, acc_ols, acc_ridge, acc_gd, acc_avg, acc_knn, acc_zero;
  if (!dist.law) p.sqrt_lambda = dist.lambda.cwiseSqrt();

  // Prompts go in blocks: each prompt's predictions are kept until the model has predicted the
  // whole block, then every estimate accumulates in prompt order.
  const int block = model ? kPromptBlock : 1;
  std::vector<Predictions> predictions(static_cast<std::size_t>(block));
  std::vector<double> block_x, block_y, block_q, block_model;
  if (model) {
    block_x.resize(static_cast<std::size_t>(block) * m * d);
    block_y.resize(static_cast<std::size_t>(block) * m);
    block_q.resize(static_cast<std::size_t>(block) * d);
    block_model.resize(static_cast<std::size_t>(block));
  }

  for (int first = 0; first < settings.prompts; first += block) {
    const int count = std::min(block, settings.prompts - first);
    for (int b = 0; b < count; ++b) {
      throw_if_cancelled(cancelled);
      Stream s{key.seed, key.train, key.condition, static_cast<std::uint64_t>(first + b)};
      draw_prompt(dist, s, p, ls);
      predictions[static_cast<std::size_t>(b)] = predict(p, lsa, model == nullptr, k);
      if (model) {
        const auto offset = static_cast<std::size_t>(b);
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            block_x.data() + offset * m * d, m, d) = p.X;
        Eigen::Map<VectorXd>(block_y.data() + offset * m, m) = p.y;
        Eigen::Map<VectorXd>(block_q.data() + offset * d, d) = p.q;
      }
    }
    if (model) {
      (*model)(PromptBlock{count, m, d, block_x.data(), block_y.data(), block_q.data()}, block_model.data());
      for (int b = 0; b < count; ++b) predictions[static_cast<std::size_t>(b)].model = block_model[static_cast<std::size_t>(b)];
    }
    for (int b = 0; b < count; ++b) {
      const Predictions& r = predictions[static_cast<std::size_t>(b)];
      const auto sq = [t = r.target](double prediction) { return (prediction - t) * (prediction - t); };
      acc_model.add(sq(r.model));
      acc_limit.add(sq(r.limit));
      acc_ols.add(sq(r.ols));
      acc_ridge.add(sq(r.ridge));
      acc_gd.add(sq(r.gd));
      acc_avg.add(sq(r.avg));
      acc_knn.add(sq(r.knn));
      acc_zero.add(r.target * r.target);
    }
  }
  out.model = acc_model.estimate();
  out.lsa_limit = acc_limit.estimate();
  out.ols = acc_ols.estimate();
  out.ridge = acc_ridge.estimate();
  out.gd = acc_gd.estimate();
  out.avg = acc_avg.estimate();
  out.knn = acc_knn.estimate();
  out.zero = acc_zero.estimate();
  return out;
}

}  // namespace icl
