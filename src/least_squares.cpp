#include "least_squares.hpp"

#include <algorithm>

namespace icl {

LeastSquares::LeastSquares(int m, int d, const std::vector<double>& ridge_lambdas)
    : m_(m), d_(d), n_(std::min(m, d)), tall_(m >= d), gram_(n_, n_), shifted_(n_, n_), ols_(n_),
      ridge_(ridge_lambdas.size(), Eigen::LLT<Eigen::MatrixXd>(n_)), fallback_(m, d), work_(n_), wide_(m, d) {
  for (const double lambda : ridge_lambdas) shifts_.push_back(m * lambda);
  // Directions below 1e-10 of the largest are rank deficiency, not signal: a design confined to a
  // subspace (half_subspace) carries rounding of about d eps beside it, which Eigen's default
  // threshold (eps min(M, d)) may count as rank and X^+ would amplify by 1e16.
  fallback_.setThreshold(kRankThreshold);
}

void LeastSquares::factor(const Eigen::MatrixXd& X) {
  gram_.setZero();
  if (tall_)
    gram_.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
  else
    gram_.selfadjointView<Eigen::Lower>().rankUpdate(X);
  for (std::size_t i = 0; i < shifts_.size(); ++i) {
    shifted_ = gram_;
    shifted_.diagonal().array() += shifts_[i];
    ridge_[i].compute(shifted_);
  }
  ols_.compute(gram_);
  // Normal equations lose accuracy as cond(X)^2: beyond cond(X) ~ 1e4, or when X is
  // singular, the orthogonal decomposition takes over.
  const auto pivots = ols_.matrixLLT().diagonal().cwiseAbs2();
  use_fallback_ = ols_.info() != Eigen::Success || !(pivots.minCoeff() > 1e-8 * pivots.maxCoeff());
  if (use_fallback_) fallback_.compute(X);
}

void LeastSquares::pseudo_inverse(const Eigen::MatrixXd& X, const Eigen::VectorXd& b,
                                  Eigen::VectorXd& out) {
  if (use_fallback_) {
    out = fallback_.solve(b);
  } else {
    solve_with(ols_, X, b, out);
  }
}

void LeastSquares::ridge(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, Eigen::VectorXd& out, std::size_t which) {
  solve_with(ridge_[which], X, b, out);
}

void LeastSquares::solve_with(const Eigen::LLT<Eigen::MatrixXd>& gram, const Eigen::MatrixXd& X,
                              const Eigen::VectorXd& b, Eigen::VectorXd& out) {
  if (tall_) {  // (X^T X + c I)^-1 X^T b
    out.noalias() = X.transpose() * b;
    gram.solveInPlace(out);
  } else {  // X^T (X X^T + c I)^-1 b
    work_ = b;
    gram.solveInPlace(work_);
    out.noalias() = X.transpose() * work_;
  }
}

void LeastSquares::estimator_matrix(const Eigen::LLT<Eigen::MatrixXd>& factor, const Eigen::MatrixXd& X,
                                    Eigen::MatrixXd& out) {
  if (tall_) {  // (X^T X + c I)^{-1} X^T
    out = X.transpose();
    factor.solveInPlace(out);
  } else {  // X^T (X X^T + c I)^{-1}
    wide_ = X;
    factor.solveInPlace(wide_);
    out = wide_.transpose();
  }
}

void LeastSquares::pseudo_inverse_matrix(const Eigen::MatrixXd& X, Eigen::MatrixXd& out) {
  if (use_fallback_)
    out = fallback_.pseudoInverse();
  else
    estimator_matrix(ols_, X, out);
}

void LeastSquares::ridge_matrix(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, std::size_t which) {
  estimator_matrix(ridge_[which], X, out);
}

namespace {
// The blocks of the triangular inverse and product: wide enough for Eigen's kernels, narrow enough
// that the zeros they skip count (1.4x over full solves at n = 40, 1.9x at n = 100).
constexpr Eigen::Index kTriangularBlock = 16;
}  // namespace

void LeastSquares::lower_inverse(const Eigen::MatrixXd& factor, Eigen::MatrixXd& v) {
  const Eigen::Index n = factor.rows();
  v.setIdentity(n, n);
  for (Eigen::Index j = 0; j < n; j += kTriangularBlock) {
    const Eigen::Index w = std::min(kTriangularBlock, n - j);
    factor.bottomRightCorner(n - j, n - j).triangularView<Eigen::Lower>().solveInPlace(v.block(j, j, n - j, w));
  }
}

void LeastSquares::ridge_gram_inverse(Eigen::MatrixXd& r, Eigen::MatrixXd& v, std::size_t which) const {
  lower_inverse(ridge_[which].matrixLLT(), v);
  // V^T V by V's row blocks: block k is zero right of its last row, a rank-w update of the
  // leading corner.
  const Eigen::Index n = v.rows();
  r.setZero(n, n);
  for (Eigen::Index k = 0; k < n; k += kTriangularBlock) {
    const Eigen::Index w = std::min(kTriangularBlock, n - k), end = k + w;
    r.topLeftCorner(end, end).selfadjointView<Eigen::Lower>().rankUpdate(v.block(k, 0, w, end).transpose());
  }
  r.triangularView<Eigen::StrictlyUpper>() = r.transpose();
}

double LeastSquares::flops() const {
  const double n = n_;
  const double other = tall_ ? m_ : d_;  // the long side: k of the rank-k update
  const double gram = other * n * (n + 1);          // symmetric rank-k update
  const double cholesky = 2.0 * n * n * n / 3.0;    // two factorisations
  const double solves = 2.0 * (2.0 * n * n + 2.0 * m_ * d_);  // two triangular pairs, X^T b
  return gram + cholesky + solves;
}

}  // namespace icl
