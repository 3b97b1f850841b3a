#pragma once
#include <Eigen/Dense>
#include <vector>

#include "cancellation.hpp"

namespace icl {

// L steps of preconditioned gradient descent on a prompt's least-squares loss, from w_0 = 0
// (docs/theory.md §13, Ahn et al.'s reading of a deep linear transformer):
//   w_{l+1} = w_l - P_l (S w_l - s_xy),  S = X^T X / M,  s_xy = X^T y / M,  P_l = alpha_l B,
// so w_L = G s_xy with G_0 = 0, G_{l+1} = G_l - P_l S G_l + P_l, and the prediction x_q^T G s_xy is
// linear in the labels given the design. B is the training law's A* (alpha_l I on isotropic data).
struct GdSteps {
  Eigen::MatrixXd base;       // B
  std::vector<double> alpha;  // one per step

  int layers() const { return static_cast<int>(alpha.size()); }
};

// G for the design covariance `sigma` (S), into g; `scratch` d x d.
void gd_steps_matrix(const GdSteps& steps, const Eigen::MatrixXd& sigma, Eigen::MatrixXd& g, Eigen::MatrixXd& scratch);

// One prompt's design as the fit needs it: S = X^T X / M and the query's covariance (the
// training law's: the prompt's own covariance).
struct Design {
  Eigen::MatrixXd sigma;
  Eigen::MatrixXd query_covariance;
};

// The mean over `designs` of the error given the design, with the task w ~ N(0, I), label noise
// N(0, noise_sd^2) and the query N(0, Lambda_q):
//   tr(Lambda_q (I - G S)(I - G S)^T) + (noise_sd^2 / M) tr(Lambda_q G S G^T).
double gd_steps_risk(const GdSteps& steps, const std::vector<Design>& designs, int m, double noise_sd,
                     CancelCheck cancelled = nullptr);

// The step sizes alpha_0..alpha_{L-1} that minimise gd_steps_risk on `designs` (common random
// numbers: the same designs for every alpha). The risk is quadratic in each alpha_l with the
// others fixed (G is affine in each), so coordinate descent moves each to its exact minimiser;
// from alpha = (1, 0, ..., 0) (one step at B) the risk never rises. Sweeps stop when a sweep
// lowers the risk by less than kTolerance of it (converged) or after kMaxSweeps (not converged).
struct GdFit {
  GdSteps steps;
  double risk = 0.0;
  int sweeps = 0;
  bool converged = false;
};
inline constexpr int kGdFitDesigns = 2000;  // designs of the training law a sweep fits on
inline constexpr double kGdFitTolerance = 1e-10;
inline constexpr int kGdFitMaxSweeps = 500;
GdFit fit_gd_steps(const Eigen::MatrixXd& base, int layers, const std::vector<Design>& designs, int m,
                   double noise_sd, CancelCheck cancelled = nullptr);

}  // namespace icl
