#include "theory.hpp"

#include <cmath>

namespace icl {

Eigen::MatrixXd gamma_matrix(const Eigen::MatrixXd& lambda, int n_train) {
  const double n = n_train;
  Eigen::MatrixXd gamma = (1.0 + 1.0 / n) * lambda;
  gamma.diagonal().array() += lambda.trace() / n;
  return gamma;
}

double risk(const Eigen::MatrixXd& A, const TestMoments& t) {
  const double m = t.m;
  const Eigen::MatrixXd lp_sw = t.lambda_p * t.s_w;
  Eigen::MatrixXd k = (1.0 + 1.0 / m) * lp_sw * t.lambda_p;
  k += (lp_sw.trace() / m) * t.lambda_p;
  const Eigen::MatrixXd q_a = t.lambda_q * A;
  return (q_a * k * A.transpose()).trace() - 2.0 * (q_a * lp_sw).trace() + risk_zero(t) +
         (t.noise_sd * t.noise_sd / m) * (q_a * t.lambda_p * A.transpose()).trace();
}

double risk_zero(const TestMoments& t) { return (t.lambda_q * t.s_w).trace(); }

FlowLimits flow_limits(const PopulationLoss& loss) {
  FlowLimits l;
  l.A = loss.optimum_matrix();
  l.u = std::sqrt(l.A.norm());
  l.U = l.A.transpose() / l.u;
  l.loss = loss.minimum();
  return l;
}

}  // namespace icl
