#include "interruptible_product.hpp"

#include <algorithm>
#include <cmath>

namespace icl {
namespace {

// Flops per tile of the result between two polls: a few hundredths of a second on one core.
// Tiles stay at least kMinTile wide, so that each is still a GEMM at full speed.
constexpr double kFlopsPerTile = 1e9;
constexpr Eigen::Index kMinTile = 128;

}  // namespace

Eigen::MatrixXd product(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, CancelCheck cancelled) {
  eigen_assert(a.cols() == b.rows());
  Eigen::MatrixXd c(a.rows(), b.cols());
  if (a.rows() == a.cols() && a.isDiagonal(0.0)) {
    c.noalias() = a.diagonal().asDiagonal() * b;
  } else if (b.rows() == b.cols() && b.isDiagonal(0.0)) {
    c.noalias() = a * b.diagonal().asDiagonal();
  } else {
    const double inner = static_cast<double>(std::max<Eigen::Index>(1, a.cols()));
    const Eigen::Index tile = std::max(kMinTile, static_cast<Eigen::Index>(std::sqrt(kFlopsPerTile / (2.0 * inner))));
    for (Eigen::Index j = 0; j < b.cols(); j += tile) {
      const Eigen::Index w = std::min(tile, b.cols() - j);
      for (Eigen::Index i = 0; i < a.rows(); i += tile) {
        throw_if_cancelled(cancelled);
        const Eigen::Index h = std::min(tile, a.rows() - i);
        c.block(i, j, h, w).noalias() = a.middleRows(i, h) * b.middleCols(j, w);
      }
    }
  }
  throw_if_cancelled(cancelled);
  return c;
}

Eigen::MatrixXd product(const Eigen::MatrixXd& a, const Eigen::VectorXd& v, const Eigen::MatrixXd& b,
                        CancelCheck cancelled) {
  const Eigen::MatrixXd av = a * v.asDiagonal();
  return product(av, b, cancelled);
}

double trace_of_product(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  eigen_assert(a.cols() == b.rows() && a.rows() == b.cols());
  return (a.array() * b.transpose().array()).sum();
}

}  // namespace icl
