// L steps of preconditioned gradient descent (src/gd_steps.hpp, docs/theory.md §13): G against
// the iterations themselves, the risk given the design against sampled tasks, noise and queries,
// and the fitted step sizes against one step at A* and against their own neighbours.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "covariance.hpp"
#include "gd_steps.hpp"
#include "monte_carlo.hpp"
#include "shifts.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd gaussian(Stream& s, int rows, int cols) {
  MatrixXd a(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) a(i, j) = s.normal();
  return a;
}

// A design of m points from N(0, diag(lambda)).
MatrixXd design(Stream& s, int m, const VectorXd& lambda) {
  return gaussian(s, m, static_cast<int>(lambda.size())) * lambda.cwiseSqrt().asDiagonal();
}

std::vector<Design> designs(Stream& s, int count, int m, const VectorXd& lambda) {
  std::vector<Design> out;
  for (int k = 0; k < count; ++k) {
    const MatrixXd X = design(s, m, lambda);
    out.push_back(Design{X.transpose() * X / m, MatrixXd(lambda.asDiagonal())});
  }
  return out;
}

TEST(GdSteps, MatrixIsTheIterationsOfPreconditionedGradientDescent) {
  Stream s{1, 1};
  const int d = 4, m = 7;
  const VectorXd lambda = VectorXd::LinSpaced(d, 0.5, 2.0);
  MatrixXd base = gaussian(s, d, d);
  base = 0.3 * (base * base.transpose()) / d + 0.2 * MatrixXd::Identity(d, d);
  const GdSteps steps{base, {0.9, 0.4, -0.2, 0.7}};
  const MatrixXd X = design(s, m, lambda);
  const VectorXd y = gaussian(s, m, 1);
  const MatrixXd S = X.transpose() * X / m;
  const VectorXd sxy = X.transpose() * y / m;
  VectorXd w = VectorXd::Zero(d);
  for (const double a : steps.alpha) w -= a * base * (S * w - sxy);
  MatrixXd g(d, d), scratch(d, d);
  gd_steps_matrix(steps, S, g, scratch);
  EXPECT_LT((g * sxy - w).norm(), 1e-12 * w.norm());
}

TEST(GdSteps, RiskGivenTheDesignIsTheMeanOfSampledTasksNoiseAndQueries) {
  Stream s{2, 2};
  const int d = 3, m = 6;
  const double noise = 0.5;
  const VectorXd lambda = VectorXd::LinSpaced(d, 0.5, 2.0);
  const GdSteps steps{MatrixXd::Identity(d, d) * 0.6, {1.0, 0.5, 0.3}};
  std::vector<MatrixXd> xs;
  std::vector<Design> ds;
  for (int k = 0; k < 3; ++k) {
    xs.push_back(design(s, m, lambda));
    ds.push_back(Design{xs.back().transpose() * xs.back() / m, MatrixXd(lambda.asDiagonal())});
  }
  const double exact = gd_steps_risk(steps, ds, m, noise);
  MatrixXd g(d, d), scratch(d, d);
  double sum = 0.0, sum2 = 0.0;
  const int n = 300000;
  for (int i = 0; i < n; ++i) {
    const std::size_t k = static_cast<std::size_t>(i) % ds.size();
    gd_steps_matrix(steps, ds[k].sigma, g, scratch);
    const VectorXd w = gaussian(s, d, 1);
    const VectorXd y = xs[k] * w + noise * gaussian(s, m, 1);
    const VectorXd q = lambda.cwiseSqrt().asDiagonal() * gaussian(s, d, 1);
    const double e = q.dot(g * (xs[k].transpose() * y / m)) - q.dot(w);
    sum += e * e;
    sum2 += e * e * e * e;
  }
  const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / (n - 1));
  EXPECT_NEAR(exact, mean, 4.0 * se) << "exact " << exact << ", sampled " << mean << " +- " << se;
}

// Isotropic d = 4, N = 10, noiseless (the training law of a linear_transformer(L) run), 2,000
// designs: one step fits alpha within 0.05 of 1 (B = A*, the population optimum); each added
// step lowers the risk; the fit converges, and moving any alpha by 0.01 either way raises the risk.
TEST(GdSteps, FittedStepsAreOneStepAtAStarForOneLayerAndImproveWithDepth) {
  const int d = 4, n = 10;
  const Covariance cov = make_covariance("isotropic", d);
  const MatrixXd a_star = make_population_loss(cov, n).optimum_matrix();
  Stream s{3, 3};
  const std::vector<Design> ds = designs(s, 2000, n, VectorXd::Ones(d));
  double previous = INFINITY;
  for (int layers = 1; layers <= 4; ++layers) {
    const GdFit fit = fit_gd_steps(a_star, layers, ds, n, 0.0);
    ASSERT_TRUE(fit.converged) << layers;
    if (layers == 1) {
      EXPECT_NEAR(fit.steps.alpha[0], 1.0, 0.05);
    }
    EXPECT_LT(fit.risk, previous * 0.95) << layers;
    previous = fit.risk;
    for (int l = 0; l < layers; ++l)
      for (const double h : {-0.01, 0.01}) {
        GdSteps moved = fit.steps;
        moved.alpha[static_cast<std::size_t>(l)] += h;
        EXPECT_GT(gd_steps_risk(moved, ds, n, 0.0), fit.risk) << layers << " " << l << " " << h;
      }
    std::printf("L = %d: risk %.5g, alpha", layers, fit.risk);
    for (const double a : fit.steps.alpha) std::printf(" %.4f", a);
    std::printf(" (%d sweeps)\n", fit.sweeps);
  }
}

// In a sweep's Monte-Carlo (risk_gd_steps_mc): one step at A* is A*'s own predictor, so its
// estimate equals risk_lsa_limit's Monte-Carlo estimate on the same prompts up to rounding, given
// the design (none, covariate_scale, a per-prompt law) and by sampled predictions (orthogonal
// query); two fitted steps have the lower error in distribution, by more than their standard errors.
TEST(GdSteps, InTheMonteCarloOneStepAtAStarIsAStar) {
  const int d = 4, n = 10;
  for (const char* spectrum : {"isotropic", "power(1)", "random_exp"}) {
    const Covariance cov = make_covariance(spectrum, d);
    const MatrixXd a_star = make_population_loss(cov, n).optimum_matrix();
    for (const char* shift : {"none", "covariate_scale(2)", "orthogonal_query"}) {
      Stream fixed{1, text_key(shift)};
      const int m = std::string(shift) == "orthogonal_query" ? 3 : n;
      const TestDistribution dist = make_test_distribution(expand_shift(shift).at(0), cov, m, fixed);
      LsaPredictors lsa;
      lsa.limit = a_star;
      lsa.gd_eta = 0.5;
      lsa.gd_steps = GdSteps{a_star, {1.0}};
      McSettings settings;
      settings.prompts = 2000;
      settings.target_rel_se = 0.0;  // exactly settings.prompts
      const StreamKey key{4, text_key(spectrum), text_key(shift)};
      const McRisks one = monte_carlo(dist, lsa, settings, key);
      const RiskEstimate limit = one[Predictor::lsa_limit], steps = one[Predictor::gd_steps];
      EXPECT_NEAR(steps.mean, limit.mean, 1e-10 * limit.mean) << spectrum << " " << shift;
      EXPECT_NEAR(steps.se, limit.se, 1e-8 * limit.se) << spectrum << " " << shift;
      if (std::string(shift) != "none") continue;
      const std::vector<Design> fit_designs = draw_designs(dist, StreamKey{5, text_key(spectrum), 1}, 1000);
      lsa.gd_steps = fit_gd_steps(a_star, 2, fit_designs, n, 0.0).steps;
      const McRisks two = monte_carlo(dist, lsa, settings, key);
      EXPECT_LT(two[Predictor::gd_steps].mean + 3.0 * two[Predictor::gd_steps].se, two[Predictor::lsa_limit].mean)
          << spectrum;
    }
  }
  // Without steps the columns are NaN.
  const Covariance cov = make_covariance("isotropic", d);
  Stream fixed{1, 2};
  const TestDistribution dist = make_test_distribution(expand_shift("none").at(0), cov, n, fixed);
  McSettings settings;
  settings.prompts = 100;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  LsaPredictors plain;
  plain.limit = MatrixXd::Identity(d, d);
  plain.gd_eta = 0.5;
  const McRisks none = monte_carlo(dist, plain, settings, StreamKey{1, 2, 3});
  EXPECT_TRUE(std::isnan(none[Predictor::gd_steps].mean));
}

}  // namespace
