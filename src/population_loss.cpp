#include "population_loss.hpp"

#include "interruptible_product.hpp"

namespace icl {

double PopulationLoss::minimum() const {
  return 0.5 * (trace - D.cwiseAbs2().cwiseQuotient(C.diagonal()).sum());
}

double PopulationLoss::excess(const Eigen::MatrixXd& At) const {
  Eigen::MatrixXd diff = At;
  diff.diagonal() -= optimum();
  return 0.5 * (C.array() * diff.array().square()).sum();
}

Eigen::MatrixXd PopulationLoss::optimum_matrix(CancelCheck cancelled) const {
  return product(basis, optimum(), basis.transpose(), cancelled);
}

PopulationLoss make_population_loss(const Covariance& cov, int n_train, double noise_sd) {
  const int d = cov.d;
  const double n = n_train;
  const double noise = noise_sd * noise_sd;  // a label's noise variance: h gains (1/N) sum_i x_i eps_i
  PopulationLoss p;
  if (!cov.random()) {
    const Eigen::ArrayXd& lambda = cov.eigenvalues.array();
    const Eigen::ArrayXd gamma = (1.0 + 1.0 / n) * lambda + (lambda.sum() + noise) / n;
    p.C = (lambda.matrix() * (lambda * gamma).matrix().transpose());
    p.D = lambda.square().matrix();
    p.trace = lambda.sum() + noise;
    p.basis = cov.eigenvectors;
    return p;
  }
  // Exact expectations for i.i.d. entries with moments m1, m2, m3.
  const double m1 = cov.law->moment(1);
  const double m2 = cov.law->moment(2);
  const double m3 = cov.law->moment(3);
  const double diagonal = (1.0 + 1.0 / n) * m3 + (m3 + (d - 1) * m1 * m2 + noise * m2) / n;
  const double off = (1.0 + 1.0 / n) * m1 * m2 + (2.0 * m1 * m2 + (d - 2) * m1 * m1 * m1 + noise * m1 * m1) / n;
  p.C = Eigen::MatrixXd::Constant(d, d, off);
  p.C.diagonal().setConstant(diagonal);
  p.D = Eigen::VectorXd::Constant(d, m2);
  p.trace = d * m1 + noise;
  p.basis = Eigen::MatrixXd::Identity(d, d);
  return p;
}

}  // namespace icl
