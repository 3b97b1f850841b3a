#pragma once
#include <Eigen/Dense>
#include <vector>

namespace icl {

// Minimum-norm least squares and ridge for one prompt's M x d design X, sharing a single Gram
// matrix of size n = min(M, d): X^T X when M >= d, X X^T (via the push-through identity
// (X^T X + c I)^{-1} X^T = X^T (X X^T + c I)^{-1}) when M < d. Buffers are sized once, so a
// loop over prompts does not allocate. Ill-conditioned or rank-deficient designs fall back to
// a complete orthogonal decomposition, which gives the exact minimum-norm solution. Ridge with
// several lambdas shares the Gram matrix: one Cholesky factorisation per lambda, `which` naming it.
class LeastSquares {
 public:
  // The fallback's rank threshold, relative to the largest pivot.
  static constexpr double kRankThreshold = 1e-10;
  LeastSquares(int m, int d, double ridge_lambda) : LeastSquares(m, d, std::vector<double>{ridge_lambda}) {}
  LeastSquares(int m, int d, const std::vector<double>& ridge_lambdas);
  std::size_t ridge_count() const { return shifts_.size(); }

  void factor(const Eigen::MatrixXd& X);
  // out = X^+ b (b has M entries, out has d).
  void pseudo_inverse(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, Eigen::VectorXd& out);
  // out = (X^T X / M + lambda I)^{-1} X^T b / M.
  void ridge(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, Eigen::VectorXd& out, std::size_t which = 0);

  // The same estimators as d x M matrices B, the prediction being x^T B b: B = X^+ and
  // B = (X^T X / M + lambda I)^{-1} X^T / M (for the conditional Monte-Carlo error).
  void pseudo_inverse_matrix(const Eigen::MatrixXd& X, Eigen::MatrixXd& out);
  void ridge_matrix(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, std::size_t which = 0);
  // When M >= d and X has full rank (the Cholesky path): X^+ X = I exactly, and the d x d
  // Gram matrix X^T X (lower triangle) with in-place solves by it and by X^T X + M lambda I.
  bool full_column_rank() const { return tall_ && !use_fallback_; }
  // When M < d and X has full row rank (the Cholesky path): gram() is X X^T = K (lower triangle),
  // solve_gram solves by K and solve_ridge_gram by K + M lambda I.
  bool full_row_rank() const { return !tall_ && !use_fallback_; }
  const Eigen::MatrixXd& gram() const { return gram_; }
  double ridge_shift(std::size_t which = 0) const { return shifts_[which]; }  // M lambda
  void solve_gram(Eigen::MatrixXd& rhs) const { ols_.solveInPlace(rhs); }
  // rhs = L^{-1} rhs with X^T X = L L^T: tr(F^T (X^T X)^{-1} F) = ||L^{-1} F||^2 in one solve.
  void solve_gram_factor(Eigen::MatrixXd& rhs) const { ols_.matrixL().solveInPlace(rhs); }
  void solve_ridge_gram(Eigen::MatrixXd& rhs, std::size_t which = 0) const { ridge_[which].solveInPlace(rhs); }
  // v = L^{-1} with X^T X = L L^T: lower triangular (zero above the diagonal).
  void gram_factor_inverse(Eigen::MatrixXd& v) const { lower_inverse(ols_.matrixLLT(), v); }
  // r = (X^T X + M lambda I)^{-1}, both triangles, as V^T V with V = L^{-1} (into v) and
  // X^T X + M lambda I = L L^T.
  void ridge_gram_inverse(Eigen::MatrixXd& r, Eigen::MatrixXd& v, std::size_t which = 0) const;

  // Floating-point operations of one factor + pseudo_inverse + ridge on the Cholesky path (one lambda).
  double flops() const;

 private:
  // v = L^{-1} for the lower triangle L of `factor`, column blocks at a time (a third of a full
  // triangular solve's flops: the right-hand side is triangular too).
  static void lower_inverse(const Eigen::MatrixXd& factor, Eigen::MatrixXd& v);
  // (X^T X + c I)^{-1} X^T, or X^T (X X^T + c I)^{-1} when M < d, with `factor` that Gram's Cholesky.
  void estimator_matrix(const Eigen::LLT<Eigen::MatrixXd>& factor, const Eigen::MatrixXd& X, Eigen::MatrixXd& out);
  // The same applied to one vector b, into `out`.
  void solve_with(const Eigen::LLT<Eigen::MatrixXd>& factor, const Eigen::MatrixXd& X, const Eigen::VectorXd& b,
                  Eigen::VectorXd& out);

  int m_, d_, n_;
  bool tall_;
  std::vector<double> shifts_;  // M lambda, per lambda
  Eigen::MatrixXd gram_, shifted_;
  Eigen::LLT<Eigen::MatrixXd> ols_;
  std::vector<Eigen::LLT<Eigen::MatrixXd>> ridge_;  // per lambda
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> fallback_;
  bool use_fallback_ = false;
  Eigen::VectorXd work_;  // n entries
  Eigen::MatrixXd wide_;  // M x d
};

}  // namespace icl
