#include "theory.hpp"

#include <cmath>

#include "interruptible_product.hpp"

namespace icl {

Eigen::MatrixXd gamma_matrix(const Eigen::MatrixXd& lambda, int n_train) {
  const double n = n_train;
  Eigen::MatrixXd gamma = (1.0 + 1.0 / n) * lambda;
  gamma.diagonal().array() += lambda.trace() / n;
  return gamma;
}

RiskForm risk_form(const TestMoments& t, CancelCheck cancelled) {
  const double m = t.m;
  RiskForm f;
  f.lambda_q = t.lambda_q;
  f.p = product(t.lambda_p, t.s_w, cancelled);
  f.k = (1.0 + 1.0 / m) * product(f.p, t.lambda_p, cancelled);
  f.k += ((f.p.trace() + t.noise_sd * t.noise_sd) / m) * t.lambda_p;
  f.zero = risk_zero(t);
  return f;
}

double risk(const Eigen::MatrixXd& A, const RiskForm& f, CancelCheck cancelled) {
  const Eigen::MatrixXd q_a = product(f.lambda_q, A, cancelled);
  // tr(X A^T) = sum_ij X_ij A_ij
  return (product(q_a, f.k, cancelled).array() * A.array()).sum() - 2.0 * trace_of_product(q_a, f.p) + f.zero;
}

double risk(const Eigen::MatrixXd& A, const TestMoments& t) { return risk(A, risk_form(t)); }

double risk_zero(const TestMoments& t) { return trace_of_product(t.lambda_q, t.s_w); }

FlowLimits flow_limits(const PopulationLoss& loss, CancelCheck cancelled) {
  FlowLimits l;
  l.A = loss.optimum_matrix(cancelled);
  l.u = std::sqrt(l.A.norm());
  l.U = l.A.transpose() / l.u;
  l.loss = loss.minimum();
  return l;
}

}  // namespace icl
