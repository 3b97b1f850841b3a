#pragma once
#include <Eigen/Dense>

#include "cancellation.hpp"
#include "population_loss.hpp"

namespace icl {

// Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I, so that E[hat Lambda^2] = Gamma Lambda.
Eigen::MatrixXd gamma_matrix(const Eigen::MatrixXd& lambda, int n_train);

// The second moments of a test distribution with a closed form (docs/theory.md §5):
// prompt covariates N(0, lambda_p), query N(0, lambda_q), E[w w^T] = s_w, label noise sd.
struct TestMoments {
  Eigen::MatrixXd lambda_p, lambda_q, s_w;
  double noise_sd = 0.0;
  int m = 1;
};

// The parts of R(A) that do not depend on A, formed once per test distribution:
// R(A) = tr(lambda_q A K' A^T) - 2 tr(lambda_q A P) + R_0 with
// K' = (1 + 1/M) P lambda_p + (tr(P)/M + s^2/M) lambda_p and P = lambda_p s_w.
struct RiskForm {
  Eigen::MatrixXd lambda_q, k, p;
  double zero = 0.0;
};
RiskForm risk_form(const TestMoments& t, CancelCheck cancelled = nullptr);

// R(A) = E(x_q^T A (1/M) sum y_i x_i - <w, x_q>)^2, exact, for any A.
double risk(const Eigen::MatrixXd& A, const RiskForm& form, CancelCheck cancelled = nullptr);
double risk(const Eigen::MatrixXd& A, const TestMoments& t);
// R_0 = tr(lambda_q s_w), the error of the zero predictor.
double risk_zero(const TestMoments& t);

// The limits of the convergence theorem: u* = ||A*||_F^{1/2}, U* = A*^T / u*, A* = u* U*^T
// (for a fixed covariance u* = tr(Gamma^-2)^{1/4} and U* = tr(Gamma^-2)^{-1/4} Gamma^{-1}).
struct FlowLimits {
  double u = 0.0;
  Eigen::MatrixXd U, A;
  double loss = 0.0;
};
FlowLimits flow_limits(const PopulationLoss& loss, CancelCheck cancelled = nullptr);

}  // namespace icl
