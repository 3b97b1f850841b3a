#pragma once
#include <Eigen/Dense>
#include <optional>
#include <string>
#include <string_view>

#include "random_stream.hpp"

namespace icl {

// A law for the i.i.d. diagonal entries of a per-prompt covariance (THEORY.md section 4).
struct DiagonalLaw {
  enum class Kind { exponential, uniform, gamma } kind = Kind::exponential;
  double a = 0.0;  // uniform: lower bound; gamma: shape
  double b = 0.0;  // uniform: upper bound

  double moment(int k) const;  // E[lambda^k], exact, k = 1, 2, 3
  double sample(Stream& stream) const;
};

// One covariance model of SPEC.md. Fixed models are Lambda = V diag(lambda) V^T with the
// eigenvalues in decreasing order; random models draw a new diagonal Lambda per prompt.
struct Covariance {
  std::string name;  // as written in the config
  int d = 0;
  std::optional<DiagonalLaw> law;  // set for random models
  Eigen::VectorXd eigenvalues;     // fixed models
  Eigen::MatrixXd eigenvectors;    // fixed models (columns); identity for diagonal spectra

  bool random() const { return law.has_value(); }
  Eigen::MatrixXd matrix() const;  // Lambda, fixed models only
};

// Builds the model named by `spec` for dimension d; throws InputError with the reason.
Covariance make_covariance(std::string_view spec, int d);

// Diagonal Lambda with the given eigenvalues in the standard basis.
Covariance diagonal_covariance(std::string name, const Eigen::VectorXd& eigenvalues);

// The spectrum lambda_k proportional to 1/k, trace d (Garg et al.'s "skewed" covariance).
Eigen::VectorXd skewed_spectrum(int d);

}  // namespace icl
