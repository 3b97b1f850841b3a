// Closed forms of docs/theory.md §2-§5 against independent computations and Monte-Carlo.
#include <gtest/gtest.h>

#include <cmath>

#include "covariance.hpp"
#include "monte_carlo.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"
#include "shifts.hpp"
#include "theory.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd random_matrix(int r, int c, Stream& s) {
  MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = s.normal();
  return m;
}

MatrixXd random_rotation(int d, Stream& s) {
  return Eigen::HouseholderQR<MatrixXd>(random_matrix(d, d, s)).householderQ() * MatrixXd::Identity(d, d);
}

TEST(Theory, IsotropicInDistributionRiskIsDdPlusOneOverNPlusDPlusOne) {
  for (int d : {1, 5, 20}) {
    for (int n : {1, 10, 100}) {
      const MatrixXd lambda = MatrixXd::Identity(d, d);
      TestMoments t{lambda, lambda, MatrixXd::Identity(d, d), 0.0, n};
      const MatrixXd a = gamma_matrix(lambda, n).inverse();
      EXPECT_NEAR(risk(a, t), d * (d + 1.0) / (n + d + 1.0), 1e-12 * d * d) << "d=" << d << " n=" << n;
    }
  }
}

TEST(Theory, OptimumIsGammaInverseAndLimitsMatchTheorem) {
  // A non-diagonal covariance, so that the eigenbasis matters.
  Stream s{11};
  const int d = 5;
  const MatrixXd v = random_rotation(d, s);
  VectorXd lambda(d);
  lambda << 3.0, 1.5, 0.3, 0.15, 0.05;
  Covariance cov;
  cov.d = d;
  cov.eigenvalues = lambda;
  cov.eigenvectors = v;
  const int n = 7;
  const PopulationLoss loss = make_population_loss(cov, n);
  const MatrixXd gamma_inv = gamma_matrix(cov.matrix(), n).inverse();
  EXPECT_LT((loss.optimum_matrix() - gamma_inv).norm(), 1e-12 * gamma_inv.norm());

  const FlowLimits lim = flow_limits(loss);
  const double tr = (gamma_inv * gamma_inv).trace();
  EXPECT_NEAR(lim.u, std::pow(tr, 0.25), 1e-13);
  EXPECT_LT((lim.U - std::pow(tr, -0.25) * gamma_inv).norm(), 1e-12);
  const MatrixXd L = cov.matrix();
  EXPECT_NEAR(lim.loss, 0.5 * (L.trace() - (gamma_inv * L * L).trace()), 1e-12);
}

TEST(Theory, ExcessLossEqualsPopulationLossMinusMinimum) {
  Stream s{12};
  const int d = 4;
  const Covariance cov = make_covariance("power(1.3)", d);
  const int n = 6;
  const PopulationLoss loss = make_population_loss(cov, n);
  const MatrixXd L = cov.matrix();
  const MatrixXd G = gamma_matrix(L, n);
  for (int trial = 0; trial < 5; ++trial) {
    const MatrixXd a = random_matrix(d, d, s);  // not symmetric
    const double direct = 0.5 * ((L * a * G * L * a.transpose()).trace() - 2.0 * (L * a * L).trace() + L.trace());
    EXPECT_NEAR(loss.minimum() + loss.excess(a), direct, 1e-12 * std::abs(direct));
  }
}

TEST(Theory, RandomLawCoefficientsMatchSampledExpectations) {
  // C_jk = E[lambda_j lambda_k gamma_k] and D_j = E[lambda_j^2] from exact moments, against
  // 400000 sampled covariances: each entry within 5 standard errors.
  // With label noise s in training, gamma_k gains s^2 / N (docs/theory.md §14).
  const int d = 3;
  const int n = 4;
  const double noise = 0.6;
  for (const char* spec : {"random_exp", "random_uniform(0.5, 2)", "random_gamma(2.5)"}) {
    const Covariance cov = make_covariance(spec, d);
    const PopulationLoss loss = make_population_loss(cov, n, noise);
    Stream s{13};
    const int draws = 400000;
    MatrixXd sum = MatrixXd::Zero(d, d), sum2 = MatrixXd::Zero(d, d);
    for (int i = 0; i < draws; ++i) {
      VectorXd l(d);
      for (int j = 0; j < d; ++j) l[j] = cov.law->sample(s);
      const VectorXd g = (1.0 + 1.0 / n) * l.array() + (l.sum() + noise * noise) / n;
      const MatrixXd c = l * l.cwiseProduct(g).transpose();
      sum += c;
      sum2 += c.cwiseAbs2();
    }
    const MatrixXd mean = sum / draws;
    const MatrixXd se = ((sum2 / draws - mean.cwiseAbs2()) / draws).cwiseSqrt();
    for (int j = 0; j < d; ++j)
      for (int k = 0; k < d; ++k)
        EXPECT_NEAR(loss.C(j, k), mean(j, k), 5.0 * se(j, k)) << spec << " C(" << j << "," << k << ")";
    EXPECT_DOUBLE_EQ(loss.D[0], cov.law->moment(2));
    EXPECT_DOUBLE_EQ(loss.trace, d * cov.law->moment(1) + noise * noise);
  }
}

// On a fixed spectrum, noise s in the training labels acts as s^2 more trace in Gamma:
// A* = ((1 + 1/N) Lambda + (tr Lambda + s^2) / N I)^{-1}; isotropic, N / (N + 1 + d + s^2) I.
TEST(Theory, TrainingLabelNoiseAddsItsVarianceToGamma) {
  const int d = 4, n = 9;
  const double noise = 1.5;
  const Covariance cov = make_covariance("power(1)", d);
  const MatrixXd want = (gamma_matrix(cov.matrix(), n) + noise * noise / n * MatrixXd::Identity(d, d)).inverse();
  const PopulationLoss loss = make_population_loss(cov, n, noise);
  EXPECT_LT((loss.optimum_matrix() - want).norm(), 1e-12 * want.norm());
  EXPECT_NEAR(loss.trace, cov.matrix().trace() + noise * noise, 1e-12);
  const PopulationLoss iso = make_population_loss(make_covariance("isotropic", d), n, noise);
  EXPECT_LT((iso.optimum_matrix() - n / (n + 1.0 + d + noise * noise) * MatrixXd::Identity(d, d)).norm(), 1e-14);
}

TEST(Theory, ExponentialLawOptimumTendsToOneThird) {
  const PopulationLoss loss = make_population_loss(make_covariance("random_exp", 5), 10000000);
  EXPECT_NEAR(loss.optimum()[0], 1.0 / 3.0, 1e-6);
  EXPECT_TRUE(loss.optimum_matrix().isDiagonal(0.0));
}

TEST(Theory, OneStepEtaIsTraceRatio) {
  const Covariance cov = make_covariance("geometric(10)", 6);
  const PopulationLoss loss = make_population_loss(cov, 9);
  const MatrixXd L = cov.matrix();
  EXPECT_NEAR(loss.one_step_eta(), (L * L).trace() / (gamma_matrix(L, 9) * L * L).trace(), 1e-14);
}

// R(A) for a general A (not symmetric), prompt and query covariances that differ and are not
// diagonal, a task with a mean and label noise, against 40000 Monte-Carlo prompts (4.5 se).
TEST(Theory, RiskFormulaMatchesMonteCarloForGeneralMoments) {
  Stream s{14};
  const int d = 4;
  const int m = 6;
  TestDistribution dist;
  dist.d = d;
  dist.m = m;
  dist.lambda = (VectorXd(d) << 2.0, 1.0, 0.5, 0.25).finished();
  dist.mix = random_rotation(d, s);
  dist.mix_identity = false;
  dist.prompt_scale = 1.3;
  dist.query_scale = 0.7;
  dist.w_mean = VectorXd::LinSpaced(d, -0.5, 1.0);
  dist.w_scale = 0.8;
  dist.noise_sd = 0.6;
  LsaPredictors lsa{random_matrix(d, d, s) * 0.3, random_matrix(d, d, s) * 0.3, 0.4, {}, {}};
  McSettings settings;
  settings.prompts = 40000;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  const McRisks mc = monte_carlo(dist, lsa, settings, StreamKey{1, 2, 3});
  const TestMoments t = *dist.moments();
  EXPECT_NEAR(mc[Predictor::model].mean, risk(lsa.trained, t), 4.5 * mc[Predictor::model].se);
  EXPECT_NEAR(mc[Predictor::lsa_limit].mean, risk(lsa.limit, t), 4.5 * mc[Predictor::lsa_limit].se);
  EXPECT_NEAR(mc[Predictor::gd].mean, risk(0.4 * MatrixXd::Identity(d, d), t), 4.5 * mc[Predictor::gd].se);
  EXPECT_NEAR(mc[Predictor::avg].mean, risk(MatrixXd::Identity(d, d), t), 4.5 * mc[Predictor::avg].se);
  EXPECT_NEAR(mc[Predictor::zero].mean, risk_zero(t), 4.5 * mc[Predictor::zero].se + 1e-12 * risk_zero(t));  // exact given X
}

}  // namespace
