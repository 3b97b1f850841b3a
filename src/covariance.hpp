#pragma once
#include <Eigen/Dense>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "random_stream.hpp"

namespace icl {

// A law for the i.i.d. diagonal entries of a per-prompt covariance (docs/theory.md §4).
struct DiagonalLaw {
  enum class Kind { exponential, uniform, gamma } kind = Kind::exponential;
  double a = 0.0;  // uniform: lower bound; gamma: shape
  double b = 0.0;  // uniform: upper bound

  double moment(int k) const;  // E[lambda^k], exact, k = 1, 2, 3
  double sample(Stream& stream) const;
};

// One covariance model (docs/theory.md, covariance models). Fixed models are Lambda = V diag(lambda) V^T with the
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

// A name as users write it, e.g. `power(alpha)`, and its meaning in one line.
struct CatalogueEntry {
  std::string name;
  std::string meaning;
};

// Every covariance model (spectrum) with its meaning.
const std::vector<CatalogueEntry>& spectrum_catalogue();

// The contents of the files that `file(PATH)` spectra name, by PATH as written. A sweep reads
// each file once, so that every run, on every rank, uses the same contents.
using InputFiles = std::map<std::string, std::string>;

// Builds the model named by `spec` for dimension d from `files`; throws InputError with the
// reason (also when spec names a file that `files` lacks).
Covariance make_covariance(std::string_view spec, int d, const InputFiles& files);
// Throws as make_covariance would, without building the eigenvectors (time and memory in d, not
// d^2, except for a file's d x d matrix): a grid's validation.
void check_covariance(std::string_view spec, int d, const InputFiles& files);
// The model's eigenvalues (or its law) alone, eigenvectors left empty, checked as make_covariance
// checks them: time and memory in d (a cost estimate's).
Covariance covariance_spectrum(std::string_view spec, int d, const InputFiles& files);
// The same, reading a `file(PATH)` spectrum's file itself.
Covariance make_covariance(std::string_view spec, int d);

// PATH for a `file(PATH)` spectrum, nullopt for the others.
std::optional<std::string> covariance_file(std::string_view spec);
// The whole file at `path`; InputError naming the spectrum if it cannot be read.
std::string read_input_file(const std::string& path, std::string_view spec);

// Diagonal Lambda with the given eigenvalues in the standard basis.
Covariance diagonal_covariance(std::string name, const Eigen::VectorXd& eigenvalues);

// The spectrum lambda_k proportional to 1/k, trace d, in the standard basis (docs/theory.md §7).
Eigen::VectorXd skewed_spectrum(int d);

}  // namespace icl
