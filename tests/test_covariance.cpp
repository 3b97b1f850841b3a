#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <string_view>

#include "covariance.hpp"
#include "input_error.hpp"
#include "random_stream.hpp"

using icl::Covariance;
using icl::DiagonalLaw;
using icl::make_covariance;

namespace {

constexpr int kD = 7;

std::string data(const std::string& name) { return std::string(ICL_TEST_DATA) + "/" + name; }
std::string file_spec(const std::string& name) { return "file(" + data(name) + ")"; }

// The message of the InputError that make_covariance(spec, d) throws; fails if none.
std::string error_of(std::string_view spec, int d) {
  try {
    make_covariance(spec, d);
  } catch (const icl::InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError for '" << spec << "' with d = " << d;
  return "";
}

void expect_error(std::string_view spec, int d, const std::string& needle) {
  const std::string msg = error_of(spec, d);
  EXPECT_NE(msg.find(needle), std::string::npos)
      << "spec '" << spec << "': message '" << msg << "' lacks '" << needle << "'";
}

void expect_fixed_and_normalised(const Covariance& c) {
  ASSERT_FALSE(c.random());
  ASSERT_EQ(c.d, kD);
  ASSERT_EQ(c.eigenvalues.size(), kD);
  EXPECT_NEAR(c.eigenvalues.sum(), double(kD), 1e-12) << c.name;  // trace d
  for (int k = 0; k + 1 < kD; ++k) EXPECT_GE(c.eigenvalues[k], c.eigenvalues[k + 1]) << c.name;
  EXPECT_TRUE(c.eigenvectors.isIdentity(0.0)) << c.name;  // diagonal in the standard basis
  EXPECT_NEAR((c.matrix() - Eigen::MatrixXd(c.eigenvalues.asDiagonal())).cwiseAbs().maxCoeff(), 0.0,
              1e-15);
}

// Exact E[lambda^k] of a law, written independently of DiagonalLaw::moment.
double exact_moment(const DiagonalLaw& law, int k) {
  switch (law.kind) {
    case DiagonalLaw::Kind::exponential: return std::tgamma(k + 1.0);
    case DiagonalLaw::Kind::uniform:
      return (std::pow(law.b, k + 1) - std::pow(law.a, k + 1)) / ((k + 1) * (law.b - law.a));
    case DiagonalLaw::Kind::gamma:  // Gamma(a, scale 1/a)
      return std::tgamma(law.a + k) / std::tgamma(law.a) / std::pow(law.a, k);
  }
  return NAN;
}

}  // namespace

TEST(Covariance, Isotropic) {
  const Covariance c = make_covariance("isotropic", kD);
  expect_fixed_and_normalised(c);
  EXPECT_EQ(c.name, "isotropic");
  for (int k = 0; k < kD; ++k) EXPECT_NEAR(c.eigenvalues[k], 1.0, 1e-15);
}

TEST(Covariance, PowerOne) {
  const Covariance c = make_covariance("power(1)", kD);
  expect_fixed_and_normalised(c);
  // lambda_k proportional to 1/k: k * lambda_k is constant = d / H_d.
  double harmonic = 0.0;
  for (int k = 1; k <= kD; ++k) harmonic += 1.0 / k;
  for (int k = 0; k < kD; ++k) EXPECT_NEAR((k + 1) * c.eigenvalues[k], kD / harmonic, 1e-12);
  EXPECT_LT((c.eigenvalues - icl::skewed_spectrum(kD)).cwiseAbs().maxCoeff(), 1e-14);
}

TEST(Covariance, PowerTwo) {
  const Covariance c = make_covariance("power(2)", kD);
  expect_fixed_and_normalised(c);
  for (int k = 0; k < kD; ++k) EXPECT_NEAR(c.eigenvalues[k] / c.eigenvalues[0], 1.0 / ((k + 1.0) * (k + 1.0)), 1e-12);
}

TEST(Covariance, Geometric) {
  const Covariance c = make_covariance("geometric(100)", kD);
  expect_fixed_and_normalised(c);
  EXPECT_NEAR(c.eigenvalues[0] / c.eigenvalues[kD - 1], 100.0, 1e-10);  // condition number
  const double step = std::pow(100.0, 1.0 / (kD - 1));                    // equal ratios
  for (int k = 0; k + 1 < kD; ++k) EXPECT_NEAR(c.eigenvalues[k] / c.eigenvalues[k + 1], step, 1e-12);
}

TEST(Covariance, Spiked) {
  const Covariance c = make_covariance("spiked(2, 10)", kD);
  expect_fixed_and_normalised(c);
  // before normalising: 10, 10, 1, 1, 1, 1, 1 (trace 25); after: times 7/25
  EXPECT_NEAR(c.eigenvalues[0], 2.8, 1e-12);
  EXPECT_NEAR(c.eigenvalues[1], 2.8, 1e-12);
  for (int k = 2; k < kD; ++k) EXPECT_NEAR(c.eigenvalues[k], 0.28, 1e-12);
}

TEST(Covariance, RandomModelsCarryTheirLaw) {
  const Covariance e = make_covariance("random_exp", kD);
  ASSERT_TRUE(e.random());
  EXPECT_EQ(e.law->kind, DiagonalLaw::Kind::exponential);
  const Covariance u = make_covariance("random_uniform(0.5, 2)", kD);
  ASSERT_TRUE(u.random());
  EXPECT_EQ(u.law->kind, DiagonalLaw::Kind::uniform);
  EXPECT_EQ(u.law->a, 0.5);
  EXPECT_EQ(u.law->b, 2.0);
  const Covariance g = make_covariance("random_gamma(3)", kD);
  ASSERT_TRUE(g.random());
  EXPECT_EQ(g.law->kind, DiagonalLaw::Kind::gamma);
  EXPECT_EQ(g.law->a, 3.0);
  EXPECT_EQ(g.d, kD);
}

TEST(Covariance, LawMomentsExact) {
  const DiagonalLaw exp_law{DiagonalLaw::Kind::exponential, 0.0, 0.0};
  EXPECT_DOUBLE_EQ(exp_law.moment(1), 1.0);
  EXPECT_DOUBLE_EQ(exp_law.moment(2), 2.0);
  EXPECT_DOUBLE_EQ(exp_law.moment(3), 6.0);
  // uniform(1, 3): (b^(k+1) - a^(k+1)) / ((k+1)(b-a)) = 2, 13/3, 10
  const DiagonalLaw uni{DiagonalLaw::Kind::uniform, 1.0, 3.0};
  EXPECT_DOUBLE_EQ(uni.moment(1), 2.0);
  EXPECT_DOUBLE_EQ(uni.moment(2), 13.0 / 3.0);
  EXPECT_DOUBLE_EQ(uni.moment(3), 10.0);
  for (double k : {0.5, 2.0, 3.7}) {  // Gamma(k, scale 1/k): 1, (k+1)/k, (k+1)(k+2)/k^2
    const DiagonalLaw g{DiagonalLaw::Kind::gamma, k, 0.0};
    EXPECT_DOUBLE_EQ(g.moment(1), 1.0) << k;
    EXPECT_DOUBLE_EQ(g.moment(2), (k + 1) / k) << k;
    EXPECT_DOUBLE_EQ(g.moment(3), (k + 1) * (k + 2) / (k * k)) << k;
  }
}

TEST(Covariance, LawSamplesMatchMoments) {
  const int n = 200000;
  for (const char* spec : {"random_exp", "random_uniform(0.5, 2)", "random_gamma(0.5)", "random_gamma(3.7)"}) {
    const DiagonalLaw law = *make_covariance(spec, kD).law;
    icl::Stream s{icl::text_key(spec)};
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = law.sample(s);
      ASSERT_GT(x, 0.0) << spec;
      s1 += x;
      s2 += x * x;
    }
    // sample mean of lambda^k has se sqrt((E lambda^2k - (E lambda^k)^2) / n); 5 se
    const double m1 = law.moment(1), m2 = law.moment(2), m4 = exact_moment(law, 4);
    EXPECT_NEAR(s1 / n, m1, 5.0 * std::sqrt((m2 - m1 * m1) / n)) << spec;
    EXPECT_NEAR(s2 / n, m2, 5.0 * std::sqrt((m4 - m2 * m2) / n)) << spec;
    EXPECT_NEAR(exact_moment(law, 3), law.moment(3), 1e-12 * law.moment(3)) << spec;
  }
}

TEST(Covariance, FileEigenvalues) {
  const Covariance c = make_covariance(file_spec("eigenvalues_7.txt"), kD);
  ASSERT_FALSE(c.random());
  ASSERT_EQ(c.eigenvalues.size(), kD);
  // file order: 3, 0.5, 2, 1.25, 4, 0.75, 0.1 (the numbers after '#' are ignored)
  const double in_file[kD] = {3.0, 0.5, 2.0, 1.25, 4.0, 0.75, 0.1};
  const double sorted[kD] = {4.0, 3.0, 2.0, 1.25, 0.75, 0.5, 0.1};
  const int source[kD] = {4, 0, 2, 3, 5, 1, 6};  // index in the file of sorted[k]
  for (int k = 0; k < kD; ++k) EXPECT_EQ(c.eigenvalues[k], sorted[k]) << k;
  Eigen::MatrixXd permutation = Eigen::MatrixXd::Zero(kD, kD);
  for (int k = 0; k < kD; ++k) permutation(source[k], k) = 1.0;
  EXPECT_EQ(c.eigenvectors, permutation);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(kD, kD);
  for (int i = 0; i < kD; ++i) expected(i, i) = in_file[i];
  EXPECT_LT((c.matrix() - expected).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(Covariance, FileMatrix) {
  const Covariance c = make_covariance(file_spec("matrix_3_spd.txt"), 3);
  ASSERT_FALSE(c.random());
  Eigen::Matrix3d m;
  m << 4.0, 1.0, 0.5, 1.0, 3.0, 0.25, 0.5, 0.25, 2.0;
  EXPECT_LT((c.matrix() - m).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((c.eigenvectors.transpose() * c.eigenvectors - Eigen::Matrix3d::Identity()).cwiseAbs().maxCoeff(),
            1e-12);
  EXPECT_GE(c.eigenvalues[0], c.eigenvalues[1]);
  EXPECT_GE(c.eigenvalues[1], c.eigenvalues[2]);
  EXPECT_GT(c.eigenvalues[2], 0.0);
  // each column is an eigenvector for its eigenvalue
  for (int k = 0; k < 3; ++k)
    EXPECT_LT((m * c.eigenvectors.col(k) - c.eigenvalues[k] * c.eigenvectors.col(k)).norm(), 1e-12);
}

TEST(Covariance, ArgumentErrors) {
  expect_error("banana", kD, "unknown covariance model 'banana'");
  expect_error("power", kD, "takes 1 argument");
  expect_error("power(1, 2)", kD, "takes 1 argument");
  expect_error("isotropic(1)", kD, "takes 0 arguments");
  expect_error("spiked(1)", kD, "takes 2 arguments");
  expect_error("power(abc)", kD, "not a number");
  expect_error("geometric(0.5)", kD, "condition number");
  expect_error("spiked(9, 2)", kD, "k must be an integer in [0, d]");
  expect_error("spiked(1.5, 2)", kD, "k must be an integer in [0, d]");
  expect_error("spiked(1, -1)", kD, "spike must be positive");
  expect_error("random_uniform(2, 1)", kD, "0 <= a < b");
  expect_error("random_uniform(-1, 1)", kD, "0 <= a < b");
  expect_error("random_gamma(0)", kD, "shape must be positive");
  expect_error("isotropic", 0, "dimension");
  expect_error("power(", kD, "power(");  // syntax errors quote the text
}

TEST(Covariance, FileErrors) {
  const std::string bad_token = error_of(file_spec("eigenvalues_bad_token.txt"), kD);
  EXPECT_NE(bad_token.find("line 3"), std::string::npos) << bad_token;
  EXPECT_NE(bad_token.find("abc"), std::string::npos) << bad_token;
  expect_error(file_spec("eigenvalues_wrong_count.txt"), kD, "has 5 numbers");
  expect_error(file_spec("eigenvalues_7_negative.txt"), kD, "eigenvalue 4");
  expect_error(file_spec("eigenvalues_7_negative.txt"), kD, "not positive");
  expect_error(file_spec("matrix_3_not_symmetric.txt"), 3, "not symmetric");
  expect_error(file_spec("matrix_3_indefinite.txt"), 3, "not positive definite");
  expect_error(file_spec("matrix_3_singular.txt"), 3, "not positive definite");
  expect_error(file_spec("does_not_exist.txt"), 3, "cannot open");
  expect_error(file_spec("matrix_3_spd.txt"), 4, "has 9 numbers");  // wrong d for the file
  expect_error("file()", kD, "empty argument list");
  expect_error("file", kD, "needs a path");
}
