// Gradient flow of the reduced LSA against exact solutions and the convergence theorem.
#include <gtest/gtest.h>

#include <cmath>

#include "covariance.hpp"
#include "gradient_flow.hpp"
#include "input_error.hpp"
#include "population_loss.hpp"
#include "theory.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;

FlowResult train(const std::string& spectrum, int d, int n, double sigma, Integrator integrator,
                 double tol = 1e-10, double t_max = 1e9) {
  const PopulationLoss loss = make_population_loss(make_covariance(spectrum, d), n);
  Stream stream{5, static_cast<std::uint64_t>(d)};
  FlowOptions options;
  options.integrator = integrator;
  options.tol = tol;
  options.t_max = t_max;
  return gradient_flow(loss, sigma, initial_gram(d, stream), options);
}

class EveryIntegrator : public ::testing::TestWithParam<Integrator> {};

// d = 1, Lambda = 1: u^2(t) = 1 / (Gamma + (sigma^-2 - Gamma) e^{-2t}), Gamma = 1 + 2/N, and
// the loss is 1/2 (Gamma a^2 - 2a + 1) with a = u^2. Every trajectory sample must lie on it.
TEST_P(EveryIntegrator, OneDimensionalTrajectoryMatchesExactSolution) {
  const int n = 4;
  const double sigma = 0.05;
  const double gamma = 1.0 + 2.0 / n;
  const FlowResult r = train("isotropic", 1, n, sigma, GetParam());
  ASSERT_EQ(r.status, TrainingStatus::converged);
  // Euler's global error is first order in its step; the adaptive pairs hold theirs near
  // their local tolerance (1e-7), amplified by the unstable escape from sigma.
  const double tolerance = GetParam() == Integrator::euler ? 5e-2 : 1e-6;
  int checked = 0;
  for (const auto& s : r.trajectory) {
    if (std::isnan(s.time)) continue;
    const double a = 1.0 / (gamma + (1.0 / (sigma * sigma) - gamma) * std::exp(-2.0 * s.time));
    const double exact = 0.5 * (gamma * a * a - 2.0 * a + 1.0);
    EXPECT_NEAR(s.loss, exact, tolerance * exact) << "t=" << s.time;
    ++checked;
  }
  EXPECT_GE(checked, 20);
  EXPECT_NEAR(r.u * r.u, 1.0 / gamma, 1e-9);
}

TEST_P(EveryIntegrator, FixedCovarianceReachesGammaInverseAndTheoremLimits) {
  const PopulationLoss loss = make_population_loss(make_covariance("power(1)", 5), 10);
  const FlowResult r = train("power(1)", 5, 10, 0.01, GetParam());
  ASSERT_EQ(r.status, TrainingStatus::converged);
  EXPECT_LE(r.rel_err, 1e-10);
  const FlowLimits lim = flow_limits(loss);
  EXPECT_LT((r.A - lim.A).norm(), 2e-10 * lim.A.norm());
  // Euler does not conserve the balance, so it reaches another factorisation of A*.
  const double factor_tol = GetParam() == Integrator::euler ? 1e-2 : 1e-7;
  EXPECT_NEAR(r.u, lim.u, factor_tol * lim.u);
  EXPECT_LT((r.U - lim.U).norm(), factor_tol * lim.U.norm());
  EXPECT_NEAR(r.loss_final, lim.loss, 1e-12);
  EXPECT_DOUBLE_EQ(r.loss_min, lim.loss);
}

TEST_P(EveryIntegrator, RandomCovarianceReachesMomentOptimum) {
  const PopulationLoss loss = make_population_loss(make_covariance("random_exp", 4), 20);
  const FlowResult r = train("random_exp", 4, 20, 0.02, GetParam());
  ASSERT_EQ(r.status, TrainingStatus::converged);
  const double m2 = 2.0, m3 = 6.0, m1 = 1.0, n = 20.0, d = 4.0;
  const double expected = m2 / ((1.0 + 1.0 / n) * m3 + (m3 + (d - 1) * m1 * m2) / n);
  EXPECT_LT((r.A - expected * MatrixXd::Identity(4, 4)).norm(), 1e-9 * expected);
  EXPECT_NEAR(loss.optimum()[2], expected, 1e-15);
}

TEST_P(EveryIntegrator, BalanceIsConserved) {
  const FlowResult r = train("geometric(5)", 4, 8, 0.1, GetParam());
  ASSERT_EQ(r.status, TrainingStatus::converged);
  // u^2 - ||U||^2 is zero at the start; the adaptive pairs keep it to their tolerance, Euler
  // to its first-order error (u* ^2 is about 1 here).
  const double bound = GetParam() == Integrator::euler ? 1e-2 : 1e-6;
  EXPECT_LT(r.balance_drift, bound);
  EXPECT_GT(r.u * r.u, 0.1);
}

INSTANTIATE_TEST_SUITE_P(GradientFlow, EveryIntegrator,
                         ::testing::Values(Integrator::euler, Integrator::rk45, Integrator::rosenbrock),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(GradientFlow, StiffSpectrumConvergesInFewSteps) {
  // geometric(100) at d = 10 has a stiffness ratio near 1e6; an L-stable integrator must not
  // pay for it.
  const FlowResult r = train("geometric(100)", 10, 80, 0.01, Integrator::rosenbrock, 1e-8);
  ASSERT_EQ(r.status, TrainingStatus::converged);
  EXPECT_LT(r.steps, 20000);
  const FlowResult harder = train("geometric(10000)", 6, 20, 0.01, Integrator::rosenbrock, 1e-8);
  ASSERT_EQ(harder.status, TrainingStatus::converged);
  EXPECT_LT(harder.steps, 50000);
}

TEST(GradientFlow, IntegratorsAgreeAtAFixedTime) {
  // Stopped at t = 3, mid-way through the escape from the small initialisation.
  const FlowResult a = train("spiked(2, 4)", 5, 12, 0.2, Integrator::rosenbrock, 0.0, 3.0);
  const FlowResult b = train("spiked(2, 4)", 5, 12, 0.2, Integrator::rk45, 0.0, 3.0);
  const FlowResult c = train("spiked(2, 4)", 5, 12, 0.2, Integrator::euler, 0.0, 3.0);
  for (const auto* r : {&a, &b, &c}) {
    EXPECT_EQ(r->status, TrainingStatus::max_time);
    EXPECT_DOUBLE_EQ(r->time, 3.0);
  }
  EXPECT_LT((a.A - b.A).norm(), 1e-6 * b.A.norm());
  EXPECT_LT((c.A - b.A).norm(), 1e-2 * b.A.norm());
  EXPECT_GT(a.rel_err, 1e-3);  // really mid-way
}

TEST(GradientFlow, TrajectoryIsLogSpacedFromZeroToTheEndAndLossDecreases) {
  const FlowResult r = train("power(2)", 6, 10, 0.01, Integrator::rosenbrock, 1e-8);
  ASSERT_EQ(r.trajectory.size(), 64u);
  EXPECT_EQ(r.trajectory.front().time, 0.0);
  EXPECT_EQ(r.trajectory.back().time, r.time);
  EXPECT_EQ(r.trajectory.back().rel_err, r.rel_err);
  for (std::size_t i = 1; i < r.trajectory.size(); ++i) {
    EXPECT_GT(r.trajectory[i].time, r.trajectory[i - 1].time);
    EXPECT_LE(r.trajectory[i].loss, r.trajectory[i - 1].loss + 1e-15);
    EXPECT_NEAR(r.trajectory[i].loss - r.loss_min, r.trajectory[i].excess, 1e-12);
  }
  // Log-spaced: the middle sample's time is near the geometric mean of the ends' neighbours.
  const double lo = std::log(r.trajectory[1].time), hi = std::log(r.trajectory.back().time);
  EXPECT_NEAR(std::log(r.trajectory[32].time), lo + (hi - lo) * 31.0 / 62.0, 0.1 * (hi - lo));
}

TEST(GradientFlow, StepBudgetAndDivergenceAreStatusesNotCrashes) {
  const PopulationLoss loss = make_population_loss(make_covariance("isotropic", 3), 5);
  Stream stream{6};
  const MatrixXd gram = initial_gram(3, stream);
  FlowOptions options;
  options.max_steps = 10;
  const FlowResult capped = gradient_flow(loss, 0.01, gram, options);
  EXPECT_EQ(capped.status, TrainingStatus::max_steps);
  EXPECT_EQ(capped.steps, 10);

  PopulationLoss unstable = loss;  // negative curvature: the flow runs away
  unstable.C = -unstable.C;
  unstable.D = -unstable.D;
  for (Integrator integrator : {Integrator::euler, Integrator::rk45, Integrator::rosenbrock}) {
    options = FlowOptions{};
    options.integrator = integrator;
    const FlowResult r = gradient_flow(unstable, 0.5, gram, options);
    EXPECT_EQ(r.status, TrainingStatus::diverged) << to_string(integrator);
  }
}

TEST(GradientFlow, IntegratorNamesParse) {
  EXPECT_EQ(parse_integrator("rk45"), Integrator::rk45);
  EXPECT_EQ(parse_integrator("euler"), Integrator::euler);
  EXPECT_EQ(parse_integrator("rosenbrock"), Integrator::rosenbrock);
  EXPECT_THROW(parse_integrator("rk4"), InputError);
}

TEST(GradientFlow, InitialGramHasUnitFrobeniusNormAndIsPositiveSemidefinite) {
  Stream stream{7};
  const MatrixXd g = initial_gram(6, stream);
  EXPECT_NEAR(g.norm(), 1.0, 1e-14);
  EXPECT_LT((g - g.transpose()).norm(), 1e-15);
  EXPECT_GT(Eigen::SelfAdjointEigenSolver<MatrixXd>(g).eigenvalues().minCoeff(), -1e-15);
}

}  // namespace
