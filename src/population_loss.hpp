#pragma once
#include <Eigen/Dense>

#include "cancellation.hpp"
#include "covariance.hpp"

namespace icl {

// The population loss of the reduced LSA, written in the eigenbasis V of the training
// covariance (V = I for random diagonal laws). With At = V^T A V,
//   L(A) = 1/2 [ sum_jk C_jk At_jk^2 - 2 sum_j D_j At_jj + trace ],
// C_jk = E[lambda_j lambda_k gamma_k], D_j = E[lambda_j^2] (docs/theory.md §2 and §4).
// Its minimiser is diagonal in this basis: At*_jj = D_j / C_jj.
// With label noise of standard deviation s in the training prompts (every label, the query's
// too: y_i = <w, x_i> + N(0, s^2)), gamma_k gains s^2 / N and the trace s^2 (docs/theory.md §14).
struct PopulationLoss {
  Eigen::MatrixXd C;
  Eigen::VectorXd D;
  double trace = 0.0;
  Eigen::MatrixXd basis;  // V

  int d() const { return static_cast<int>(D.size()); }
  Eigen::VectorXd optimum() const { return D.cwiseQuotient(C.diagonal()); }  // diag of At*
  double minimum() const;                                  // L*
  // L(A) - L* = 1/2 sum_jk C_jk (At - At*)_jk^2, free of the cancellation in L - L*.
  double excess(const Eigen::MatrixXd& At) const;
  // A* = V diag(At*) V^T in the standard basis
  Eigen::MatrixXd optimum_matrix(CancelCheck cancelled = nullptr) const;
  // The best multiple of the identity, A = eta I: the one-step gradient-descent baseline.
  double one_step_eta() const { return D.sum() / C.diagonal().sum(); }
};

PopulationLoss make_population_loss(const Covariance& covariance, int n_train, double noise_sd = 0.0);

}  // namespace icl
