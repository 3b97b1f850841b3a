#pragma once
#include <Eigen/Dense>

namespace icl {

// One whole LSA layer, every block of W^PV and W^KQ (docs/theory.md §12): for a test prompt of
// length M with design X, labels y and query x_q,
//   y_hat = p^T S W^KQ (x_q; 0),  S = (sum of z z^T over the keys) / M,  z = (x; y),
// p the last row of W^PV. The keys are the M labelled points and, for the LSA layer of §1, the
// query (x_q; 0) too; a layer of a deep linear transformer masks the query as a key.
struct LsaLayer {
  Eigen::VectorXd p;  // W^PV's last row, d + 1; empty: no layer
  Eigen::MatrixXd w;  // W^KQ, (d + 1) x (d + 1) (its last column never acts: the query's label is 0)
  bool query_is_key = true;

  bool empty() const { return p.size() == 0; }
  int d() const { return static_cast<int>(p.size()) - 1; }
  // The layer's prediction for one prompt (X: M x d, y: M, q: d).
  double predict(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& q) const;
};

// The share of one layer's squared weight norm (W^PV and W^KQ together) outside Ahn et al.'s
// sparse form of preconditioned gradient descent (docs/theory.md §11): W^PV with only its
// label-label entry, W^KQ with only its covariate block W_xx. 0 for a layer in that form; NaN for
// a zero layer. Entries that receive no gradient keep their initial values: from the `paper`
// initialisation they stay 0, from `gaussian(s)` they count as outside.
double outside_sparse_form(const Eigen::MatrixXd& w_pv, const Eigen::MatrixXd& w_kq);

// The layer's expected squared error over the task w ~ N(mu, c^2 I) and the label noise
// eps ~ N(0, s^2 I) (docs/theory.md §12), given the design X of a prompt of length m and either the
// query x_q or, for a query x_q ~ N(0, Lambda_q) independent of X, over the query too. Needs only
// Sigma = X^T X / M: O(d^2) per prompt given x_q, O(d^3) over x_q. Buffers are sized once.
class LayerError {
 public:
  LayerError(const LsaLayer& layer, int m, const Eigen::VectorXd& w_mean, double w_scale, double noise_sd);
  // E[(y_hat - <w, q>)^2 | X, q], Sigma = X^T X / M (symmetric, both triangles).
  double operator()(const Eigen::MatrixXd& sigma, const Eigen::VectorXd& q);
  // For integrated(): the query's covariance Lambda_q = F F^T, given as F^T (once per condition,
  // or per prompt for per-prompt laws). `diagonal`: F^T is diagonal (every per-prompt law here),
  // which makes this O(d^2); else O(d^3).
  void set_query_factor(const Eigen::MatrixXd& ft, bool diagonal);
  // E[(y_hat - <w, x_q>)^2 | X] with x_q ~ N(0, Lambda_q) independent of X.
  double integrated(const Eigen::MatrixXd& sigma);

 private:
  // What the error's moments over (w, eps) need of the design: tr Sigma_y + ||m_y||^2 and
  // Var ||y||^2 = 2 tr Sigma_y^2 + 4 m_y^T Sigma_y m_y (mu Sigma mu into smu_).
  struct LabelMoments {
    double mean_norm2, var_norm2;
  };
  LabelMoments label_moments(const Eigen::MatrixXd& sigma);

  const LsaLayer& layer_;
  double m_, c2_, s2_, py_;
  bool has_mean_;
  Eigen::VectorXd mu_, px_, wyx_, u_, su_, c_, sc_, bw_, smu_;
  Eigen::MatrixXd wxx_;
  // Over the query: C = p_x w_yx^T + p_y W_xx (so c = C x_q), and per query covariance L = F F^T:
  // F, D = C F, L r, C L r, and the vectors and constants of the cubic term (query as a key).
  Eigen::MatrixXd cm_, sym_, sl_, f_, dm_, q_, lambda_q_;
  Eigen::VectorXd f_diag_, lambda_diag_, lr_, clr_, v3_, g_, tmp_, lp_, slp_, lslp_, s2mu_;
  double trace_l_ = 0.0, r_l_r_ = 0.0, cubic2_ = 0.0;
  bool diagonal_ = false;
};

}  // namespace icl
