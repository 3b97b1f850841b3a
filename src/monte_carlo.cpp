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

}  // namespace

McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa,
                    const McSettings& settings, const StreamKey& key) {
  McRisks out;
  if (!dist.defined() || settings.prompts <= 0) return out;
  const int d = dist.d;
  const int m = dist.m;
  const int k = std::min(settings.knn_k, m);
  using Query = TestDistribution::Query;
  using Quadrants = TestDistribution::Quadrants;

  PromptWorkspace p(m, d);
  LeastSquares ls(m, d, settings.ridge_lambda);
  Accumulator acc_lsa, acc_limit, acc_ols, acc_ridge, acc_gd, acc_avg, acc_knn, acc_zero;
  if (!dist.law) p.sqrt_lambda = dist.lambda.cwiseSqrt();

  for (int i = 0; i < settings.prompts; ++i) {
    Stream s{key.seed, key.train, key.condition, static_cast<std::uint64_t>(i)};
    // Draws in a fixed order: covariance, task, prompt covariates, query, signs, noise, index.
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

    const double target = p.w.dot(p.q);
    p.h.noalias() = p.X.transpose() * p.y;
    p.h /= m;
    const double avg = p.q.dot(p.h);
    p.a_h.noalias() = lsa.trained * p.h;
    const double pred_lsa = p.q.dot(p.a_h);
    p.a_h.noalias() = lsa.limit * p.h;
    const double pred_limit = p.q.dot(p.a_h);

    p.dist.noalias() = (p.X.rowwise() - p.q.transpose()).rowwise().squaredNorm();
    std::iota(p.order.begin(), p.order.end(), 0);
    std::nth_element(p.order.begin(), p.order.begin() + (k - 1), p.order.end(),
                     [&](int a, int b) { return p.dist[a] < p.dist[b] || (p.dist[a] == p.dist[b] && a < b); });
    double knn = 0.0;
    for (int j = 0; j < k; ++j) knn += p.y[p.order[j]];
    knn /= k;

    const auto sq = [target](double prediction) { return (prediction - target) * (prediction - target); };
    acc_lsa.add(sq(pred_lsa));
    acc_limit.add(sq(pred_limit));
    acc_ols.add(sq(p.q.dot(p.w_ols)));
    acc_ridge.add(sq(p.q.dot(p.w_ridge)));
    acc_gd.add(sq(lsa.gd_eta * avg));
    acc_avg.add(sq(avg));
    acc_knn.add(sq(knn));
    acc_zero.add(target * target);
  }
  out.lsa = acc_lsa.estimate();
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
