// The interruptible product: equal to Eigen's, exact on diagonal factors, and polled often
// enough that a stop ends a large product within a tile.
#include <gtest/gtest.h>

#include "interruptible_product.hpp"
#include "random_stream.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd random_matrix(Eigen::Index r, Eigen::Index c, std::uint64_t key) {
  Stream s{7, key, 0, 0};
  MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = s.normal();
  return m;
}

int polls = 0;
int cancel_at = -1;  // the poll that reports a stop; -1: none
bool counting_check() { return ++polls == cancel_at; }

TEST(InterruptibleProduct, EqualsTheDenseProductAcrossTilesAndUnevenEdges) {
  for (const auto& [r, k, c] : {std::array<Eigen::Index, 3>{3, 4, 5}, {1100, 900, 1300}, {1, 2048, 700}}) {
    const MatrixXd a = random_matrix(r, k, 1), b = random_matrix(k, c, 2);
    const MatrixXd expected = a * b;
    polls = 0;
    cancel_at = -1;
    const MatrixXd got = product(a, b, counting_check);
    EXPECT_LE((got - expected).cwiseAbs().maxCoeff(), 1e-12 * expected.cwiseAbs().maxCoeff()) << r << "x" << k << "x" << c;
    if (r * k * c > 100'000'000) {
      EXPECT_GE(polls, 4) << "a large product must be polled between tiles";
    }
  }
}

TEST(InterruptibleProduct, ADiagonalFactorGivesExactlyTheDenseResult) {
  const MatrixXd b = random_matrix(300, 200, 3);
  const VectorXd v = random_matrix(300, 1, 4);
  const MatrixXd diag = v.asDiagonal();
  const MatrixXd left = diag * b;
  const MatrixXd right = b.transpose() * diag;
  EXPECT_EQ(product(diag, b, nullptr), left);
  EXPECT_EQ(product(b.transpose(), diag, nullptr), right);
  const MatrixXd identity = MatrixXd::Identity(300, 300);
  EXPECT_EQ(product(identity, v, identity, nullptr), diag);
}

TEST(InterruptibleProduct, AStopEndsALargeProductAtTheNextTile) {
  const MatrixXd a = random_matrix(1500, 1500, 5), b = random_matrix(1500, 1500, 6);
  polls = 0;
  cancel_at = 2;
  EXPECT_THROW(product(a, b, counting_check), Cancelled);
  EXPECT_EQ(polls, 2);
}

TEST(InterruptibleProduct, TraceOfProductIsTheTraceOfTheProduct) {
  const MatrixXd a = random_matrix(40, 30, 8), b = random_matrix(30, 40, 9);
  EXPECT_NEAR(trace_of_product(a, b), (a * b).trace(), 1e-12 * (a * b).cwiseAbs().sum());
}

}  // namespace
