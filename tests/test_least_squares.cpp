#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "least_squares.hpp"
#include "random_stream.hpp"

using icl::LeastSquares;
using icl::Stream;

namespace {

Eigen::MatrixXd normal_matrix(Stream& s, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) m(i, j) = s.normal();
  return m;
}

Eigen::VectorXd normal_vector(Stream& s, int n) {
  Eigen::VectorXd v(n);
  for (int i = 0; i < n; ++i) v(i) = s.normal();
  return v;
}

// Random n x n orthogonal matrix (Q factor of a Gaussian matrix).
Eigen::MatrixXd orthogonal(Stream& s, int n) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(normal_matrix(s, n, n));
  return qr.householderQ() * Eigen::MatrixXd::Identity(n, n);
}

// ||a - b|| / max(||b||, tiny): relative error against a reference.
double rel_err(const Eigen::VectorXd& a, const Eigen::VectorXd& ref) {
  return (a - ref).norm() / std::max(ref.norm(), 1e-300);
}

Eigen::VectorXd cod_solve(const Eigen::MatrixXd& X, const Eigen::VectorXd& b) {
  return Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(X).solve(b);
}

// Direct ridge formula (X^T X / M + lambda I)^{-1} X^T b / M in d x d, via LDLT.
Eigen::VectorXd ridge_direct(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, double lambda) {
  const double M = static_cast<double>(X.rows());
  Eigen::MatrixXd A = X.transpose() * X / M;
  A.diagonal().array() += lambda;
  return A.ldlt().solve(X.transpose() * b / M);
}

Eigen::VectorXd run_pinv(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, double lambda = 0.1) {
  LeastSquares ls(static_cast<int>(X.rows()), static_cast<int>(X.cols()), lambda);
  ls.factor(X);
  Eigen::VectorXd out;
  ls.pseudo_inverse(X, b, out);
  return out;
}

Eigen::VectorXd run_ridge(const Eigen::MatrixXd& X, const Eigen::VectorXd& b, double lambda) {
  LeastSquares ls(static_cast<int>(X.rows()), static_cast<int>(X.cols()), lambda);
  ls.factor(X);
  Eigen::VectorXd out;
  ls.ridge(X, b, out);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tall designs (M >= d): Cholesky path on X^T X.

TEST(LeastSquares, TallPseudoInverseMatchesCOD) {
  // Gaussian designs have cond(X) ~ 1-10, so normal equations lose at most ~cond^2 * eps ~ 1e-14:
  // 1e-10 relative is a generous bound.
  for (int d : {5}) {
    for (int M : {12, 5, 40}) {
      Stream s{1, 2, static_cast<std::uint64_t>(M)};
      for (int rep = 0; rep < 10; ++rep) {
        const Eigen::MatrixXd X = normal_matrix(s, M, d);
        const Eigen::VectorXd b = normal_vector(s, M);  // generic b: nonzero residual when M > d
        const Eigen::VectorXd out = run_pinv(X, b);
        ASSERT_EQ(out.size(), d);
        EXPECT_LT(rel_err(out, cod_solve(X, b)), 1e-10) << "M=" << M << " rep=" << rep;
        // Normal equations hold: X^T (X out - b) = 0 (relative to ||X^T|| ||b||), 1e-10.
        EXPECT_LT((X.transpose() * (X * out - b)).norm(), 1e-10 * X.norm() * b.norm());
      }
    }
  }
}

TEST(LeastSquares, TallNoiselessRecoversWeights) {
  // b = X w exactly (up to rounding): X^+ b = w for full-column-rank X; tolerance 1e-10 relative.
  for (int M : {12, 5}) {
    Stream s{3, 4, static_cast<std::uint64_t>(M)};
    const int d = 5;
    for (int rep = 0; rep < 10; ++rep) {
      const Eigen::MatrixXd X = normal_matrix(s, M, d);
      const Eigen::VectorXd w = normal_vector(s, d);
      const Eigen::VectorXd out = run_pinv(X, X * w);
      EXPECT_LT(rel_err(out, w), 1e-10) << "M=" << M << " rep=" << rep;
    }
  }
}

TEST(LeastSquares, SquareMatchesSolve) {
  // M = d: X^+ b = X^{-1} b (partial-pivot LU as a second reference); 1e-10 relative.
  Stream s{5, 6};
  for (int rep = 0; rep < 10; ++rep) {
    const Eigen::MatrixXd X = normal_matrix(s, 5, 5);
    const Eigen::VectorXd b = normal_vector(s, 5);
    const Eigen::VectorXd out = run_pinv(X, b);
    EXPECT_LT(rel_err(out, X.partialPivLu().solve(b)), 1e-10) << "rep=" << rep;
    EXPECT_LT((X * out - b).norm(), 1e-10 * b.norm());
  }
}

// ---------------------------------------------------------------------------------------------
// Wide designs (M < d): push-through on X X^T; the answer must be the minimum-norm solution.

TEST(LeastSquares, WideGivesMinimumNormSolution) {
  const int M = 3, d = 8;
  Stream s{7, 8};
  for (int rep = 0; rep < 10; ++rep) {
    const Eigen::MatrixXd X = normal_matrix(s, M, d);
    const Eigen::VectorXd b = normal_vector(s, M);
    const Eigen::VectorXd out = run_pinv(X, b);
    ASSERT_EQ(out.size(), d);
    // Interpolation: X out = b (relative to ||b||), 1e-10.
    EXPECT_LT((X * out - b).norm(), 1e-10 * b.norm()) << "rep=" << rep;
    // Minimum norm: equals COD's minimum-norm solve, 1e-10 relative.
    EXPECT_LT(rel_err(out, cod_solve(X, b)), 1e-10) << "rep=" << rep;
    // Row space: the null-space projector (I - X^+ X) annihilates out, 1e-10 relative to ||out||.
    const Eigen::MatrixXd pinv =
        Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(X).pseudoInverse();
    const Eigen::MatrixXd null_proj = Eigen::MatrixXd::Identity(d, d) - pinv * X;
    EXPECT_LT((null_proj * out).norm(), 1e-10 * out.norm()) << "rep=" << rep;
    // Any other solution out + n (n in the null space) is strictly longer.
    const Eigen::VectorXd other = out + null_proj * normal_vector(s, d);
    EXPECT_LT((X * other - b).norm(), 1e-10 * b.norm());
    EXPECT_GT(other.norm(), out.norm());
  }
}

// ---------------------------------------------------------------------------------------------
// Ridge.

TEST(LeastSquares, RidgeMatchesDirectFormula) {
  // Direct d x d LDLT of X^T X / M + lambda I; both are well conditioned for lambda >= 0.1, so
  // 1e-10 relative.
  struct Shape { int M, d; };
  for (Shape sh : {Shape{12, 5}, Shape{5, 5}, Shape{3, 8}, Shape{40, 7}}) {
    for (double lambda : {0.1, 3.0}) {
      Stream s{9, 10, static_cast<std::uint64_t>(sh.M * 100 + sh.d)};
      for (int rep = 0; rep < 5; ++rep) {
        const Eigen::MatrixXd X = normal_matrix(s, sh.M, sh.d);
        const Eigen::VectorXd b = normal_vector(s, sh.M);
        const Eigen::VectorXd out = run_ridge(X, b, lambda);
        ASSERT_EQ(out.size(), sh.d);
        EXPECT_LT(rel_err(out, ridge_direct(X, b, lambda)), 1e-10)
            << "M=" << sh.M << " d=" << sh.d << " lambda=" << lambda << " rep=" << rep;
        // Also against the explicit-inverse form, 1e-10 relative.
        Eigen::MatrixXd A = X.transpose() * X / sh.M;
        A.diagonal().array() += lambda;
        const Eigen::VectorXd via_inverse = A.inverse() * (X.transpose() * b / sh.M);
        EXPECT_LT(rel_err(out, via_inverse), 1e-10);
      }
    }
  }
}

TEST(LeastSquares, RidgeShrinksTowardZeroAndApproachesPseudoInverse) {
  // Ridge norm decreases in lambda; as lambda -> 0 (1e-10) it approaches X^+ b for a
  // well-conditioned tall design (bias ~ lambda * M * cond^2, bound 1e-6 relative).
  Stream s{11, 12};
  const Eigen::MatrixXd X = normal_matrix(s, 12, 5);
  const Eigen::VectorXd b = normal_vector(s, 12);
  double prev = run_ridge(X, b, 1e-3).norm();
  for (double lambda : {0.01, 0.1, 1.0, 10.0}) {
    const double n = run_ridge(X, b, lambda).norm();
    EXPECT_LT(n, prev) << "lambda=" << lambda;
    prev = n;
  }
  EXPECT_LT(rel_err(run_ridge(X, b, 1e-10), cod_solve(X, b)), 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Rank-deficient designs: the fallback must give the COD minimum-norm solution.

TEST(LeastSquares, RankDeficientTallMatchesCOD) {
  const int M = 10, d = 6;
  Stream s{13, 14};
  for (int rep = 0; rep < 5; ++rep) {
    // P: orthogonal projector onto a random 2-dim subspace, so rank(X) = 2.
    const Eigen::MatrixXd Q = orthogonal(s, d).leftCols(2);
    const Eigen::MatrixXd P = Q * Q.transpose();
    const Eigen::MatrixXd X = normal_matrix(s, M, d) * P;
    const Eigen::VectorXd b = normal_vector(s, M);
    const Eigen::VectorXd out = run_pinv(X, b);
    const Eigen::VectorXd ref = cod_solve(X, b);
    // Exact rank deficiency is detected by COD's threshold; 1e-10 relative.
    EXPECT_LT(rel_err(out, ref), 1e-10) << "rep=" << rep;
    // Minimum norm: out lies in range(P) = row space of X, 1e-10 relative.
    EXPECT_LT((out - P * out).norm(), 1e-10 * out.norm());
    // Ridge has no rank issue (shifted Gram is positive definite); 1e-10 relative.
    for (double lambda : {0.1, 3.0})
      EXPECT_LT(rel_err(run_ridge(X, b, lambda), ridge_direct(X, b, lambda)), 1e-10)
          << "lambda=" << lambda;
  }
}

TEST(LeastSquares, RankDeficientWideMatchesCOD) {
  // Wide M=5, d=8 with rank 2: X X^T is singular, so the wide path must fall back too.
  const int M = 5, d = 8;
  Stream s{15, 16};
  for (int rep = 0; rep < 5; ++rep) {
    const Eigen::MatrixXd X = normal_matrix(s, M, 2) * normal_matrix(s, 2, d);
    const Eigen::VectorXd b = normal_vector(s, M);
    EXPECT_LT(rel_err(run_pinv(X, b), cod_solve(X, b)), 1e-10) << "rep=" << rep;  // 1e-10 rel.
    for (double lambda : {0.1, 3.0})
      EXPECT_LT(rel_err(run_ridge(X, b, lambda), ridge_direct(X, b, lambda)), 1e-10);
  }
}

TEST(LeastSquares, ZeroDesignGivesZero) {
  // X = 0: X^+ = 0 and ridge = 0 exactly; outputs must be finite zeros (abs tolerance 0).
  Stream s{17, 18};
  struct Shape { int M, d; };
  for (Shape sh : {Shape{10, 6}, Shape{3, 8}, Shape{5, 5}}) {
    const Eigen::MatrixXd X = Eigen::MatrixXd::Zero(sh.M, sh.d);
    const Eigen::VectorXd b = normal_vector(s, sh.M);
    const Eigen::VectorXd p = run_pinv(X, b);
    ASSERT_EQ(p.size(), sh.d);
    EXPECT_TRUE(p.allFinite());
    EXPECT_EQ(p.cwiseAbs().maxCoeff(), 0.0) << "M=" << sh.M << " d=" << sh.d;
    for (double lambda : {0.1, 3.0}) {
      const Eigen::VectorXd r = run_ridge(X, b, lambda);
      ASSERT_EQ(r.size(), sh.d);
      EXPECT_EQ(r.cwiseAbs().maxCoeff(), 0.0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Ill-conditioned designs.

TEST(LeastSquares, IllConditionedColumnScalingMatchesCOD) {
  // Columns scaled 1, 1e-2, ..., 1e-7 (cond(X) ~ 1e7): normal equations would lose everything
  // (cond^2 ~ 1e14), the fallback keeps ~cond * eps ~ 1e-9. Bound: 1e-6 relative.
  const int M = 12, d = 5;
  Eigen::VectorXd scale(d);
  scale << 1.0, 1e-2, 1e-4, 1e-6, 1e-7;
  Stream s{19, 20};
  for (int rep = 0; rep < 5; ++rep) {
    const Eigen::MatrixXd X = normal_matrix(s, M, d) * scale.asDiagonal();
    const Eigen::VectorXd b = normal_vector(s, M);
    EXPECT_LT(rel_err(run_pinv(X, b), cod_solve(X, b)), 1e-6) << "rep=" << rep;
    // Noiseless: recover w, 1e-6 relative (w scaled so every column contributes).
    const Eigen::VectorXd w = scale.cwiseInverse().asDiagonal() * normal_vector(s, d);
    EXPECT_LT(rel_err(run_pinv(X, X * w), w), 1e-6) << "rep=" << rep;
  }
}

TEST(LeastSquares, IllConditionedRotatedSpectrumMatchesCOD) {
  // X = U diag(sigma) V^T with random U, V and sigma graded 1 .. 1/cond, cond in 1e2 .. 1e8:
  // the ill-conditioning is not aligned with columns, so Cholesky pivots must still reveal it.
  // Cholesky is accurate to ~cond^2 eps (<= ~1e-8 below the 1e4 switch) and COD to ~cond eps, so
  // 1e-6 relative holds on both sides of the switch.
  const int M = 12, d = 5;
  Stream s{21, 22};
  for (double cond : {1e2, 1e3, 1e4, 3e4, 1e5, 1e6, 1e7, 1e8}) {
    for (int rep = 0; rep < 5; ++rep) {
      const Eigen::MatrixXd U = orthogonal(s, M).leftCols(d);
      const Eigen::MatrixXd V = orthogonal(s, d);
      Eigen::VectorXd sigma(d);
      for (int i = 0; i < d; ++i) sigma(i) = std::pow(cond, -static_cast<double>(i) / (d - 1));
      const Eigen::MatrixXd X = U * sigma.asDiagonal() * V.transpose();
      const Eigen::VectorXd b = normal_vector(s, M);
      EXPECT_LT(rel_err(run_pinv(X, b), cod_solve(X, b)), 1e-6) << "cond=" << cond << " rep=" << rep;
      // Wide transpose with the same spectrum.
      const Eigen::MatrixXd Xt = X.transpose();
      const Eigen::VectorXd bt = normal_vector(s, d);
      EXPECT_LT(rel_err(run_pinv(Xt, bt), cod_solve(Xt, bt)), 1e-6)
          << "wide cond=" << cond << " rep=" << rep;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reuse across prompts.

TEST(LeastSquares, ReuseMatchesFreshObjects) {
  // One object over many prompts, interleaving well-conditioned, rank-deficient and
  // ill-conditioned designs (so the fallback flag must switch on and back off). Same operations
  // on the same data: answers agree with fresh objects to 1e-14 relative, and with COD/direct
  // references to 1e-10 (1e-6 for the ill-conditioned prompts).
  struct Shape { int M, d; };
  for (Shape sh : {Shape{12, 5}, Shape{3, 8}}) {
    const double lambda = 0.5;
    LeastSquares reused(sh.M, sh.d, lambda);
    Stream s{23, 24, static_cast<std::uint64_t>(sh.M)};
    Eigen::VectorXd p, r;  // reused output buffers too
    for (int prompt = 0; prompt < 60; ++prompt) {
      Eigen::MatrixXd X = normal_matrix(s, sh.M, sh.d);
      double tol = 1e-10;
      if (prompt % 3 == 1) {
        // rank 1
        X = normal_matrix(s, sh.M, 1) * normal_matrix(s, 1, sh.d);
      } else if (prompt % 6 == 2) {
        X.col(0) *= 1e-7;  // ill-conditioned
        tol = 1e-6;
      }
      const Eigen::VectorXd b = normal_vector(s, sh.M);
      reused.factor(X);
      reused.pseudo_inverse(X, b, p);
      reused.ridge(X, b, r);

      LeastSquares fresh(sh.M, sh.d, lambda);
      fresh.factor(X);
      Eigen::VectorXd pf, rf;
      fresh.pseudo_inverse(X, b, pf);
      fresh.ridge(X, b, rf);

      EXPECT_LE(rel_err(p, pf), 1e-14) << "M=" << sh.M << " prompt=" << prompt;
      EXPECT_LE(rel_err(r, rf), 1e-14) << "M=" << sh.M << " prompt=" << prompt;
      EXPECT_LT(rel_err(p, cod_solve(X, b)), tol) << "M=" << sh.M << " prompt=" << prompt;
      EXPECT_LT(rel_err(r, ridge_direct(X, b, lambda)), 1e-10) << "M=" << sh.M << " prompt=" << prompt;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Flop count.

TEST(LeastSquares, FlopsPositiveAndGrowWithM) {
  const int d = 5;
  double prev = 0.0;
  for (int M : {1, 3, 5, 8, 12, 40, 100, 1000}) {  // crosses the wide -> tall switch at M = d
    const double f = LeastSquares(M, d, 0.1).flops();
    EXPECT_GT(f, 0.0) << "M=" << M;
    EXPECT_GT(f, prev) << "M=" << M;
    prev = f;
  }
}

TEST(LeastSquares, FlopsCountGramOverTheLongDimension) {
  // The Gram matrix of an M x d design with n = min(M, d) is an n x n symmetric rank-k update
  // with k = max(M, d): n(n+1)/2 entries, each a length-k dot product (2 flops per term), i.e.
  // k n (n+1) flops. Together with the two X^T b / X^T work products (2 M d each) this is a
  // lower bound on the reported count. Checked exactly as inequalities (no tolerance).
  struct Shape { int M, d; };
  for (Shape sh : {Shape{1000, 5}, Shape{100, 10}, Shape{3, 1000}, Shape{10, 100}}) {
    const double n = std::min(sh.M, sh.d), k = std::max(sh.M, sh.d);
    const double lower = k * n * (n + 1) + 4.0 * sh.M * sh.d;
    EXPECT_GE(LeastSquares(sh.M, sh.d, 0.1).flops(), lower) << "M=" << sh.M << " d=" << sh.d;
  }
  // For fixed d, the Gram term alone grows by d (d+1) per extra row.
  const int d = 5;
  const double slope = (LeastSquares(2000, d, 0.1).flops() - LeastSquares(1000, d, 0.1).flops()) / 1000;
  EXPECT_GE(slope, d * (d + 1) + 4.0 * d);
}
