#include "covariance.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>
#include <vector>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl {

double DiagonalLaw::moment(int k) const {
  switch (kind) {
    case Kind::exponential:  // k!
      return k == 1 ? 1.0 : k == 2 ? 2.0 : 6.0;
    case Kind::uniform:
      return (std::pow(b, k + 1) - std::pow(a, k + 1)) / ((k + 1) * (b - a));
    case Kind::gamma: {  // shape a, scale 1/a: mean one, like the other laws
      double m = 1.0;
      for (int i = 0; i < k; ++i) m *= (a + i) / a;
      return m;
    }
  }
  return NAN;
}

double DiagonalLaw::sample(Stream& stream) const {
  switch (kind) {
    case Kind::exponential: return stream.exponential();
    case Kind::uniform: return stream.uniform(a, b);
    case Kind::gamma: return stream.gamma(a) / a;
  }
  return NAN;
}

Eigen::MatrixXd Covariance::matrix() const {
  return eigenvectors * eigenvalues.asDiagonal() * eigenvectors.transpose();
}

Covariance diagonal_covariance(std::string name, const Eigen::VectorXd& eigenvalues) {
  Covariance c;
  c.name = std::move(name);
  c.d = static_cast<int>(eigenvalues.size());
  c.eigenvalues = eigenvalues;
  c.eigenvectors = Eigen::MatrixXd::Identity(c.d, c.d);
  return c;
}

Eigen::VectorXd skewed_spectrum(int d) {
  Eigen::VectorXd lambda(d);
  for (int k = 0; k < d; ++k) lambda[k] = 1.0 / (k + 1);
  return lambda * (d / lambda.sum());
}

namespace {

void expect_args(const Call& call, std::size_t n, std::string_view spec) {
  expect_arguments(call, n, "spectrum '" + std::string(spec) + "'");
}

// Whether a construction needs the eigenvectors (a d x d matrix) or only checks the spectrum.
enum class Vectors { build, skip };

Covariance normalised(std::string_view spec, Eigen::VectorXd lambda, Vectors vectors) {
  const int d = static_cast<int>(lambda.size());
  std::sort(lambda.begin(), lambda.end(), std::greater<>());
  if (vectors == Vectors::build) return diagonal_covariance(std::string(spec), lambda * (d / lambda.sum()));
  Covariance c;
  c.name = std::string(spec);
  c.d = d;
  c.eigenvalues = lambda * (d / lambda.sum());
  return c;
}

// Every fixed spectrum must be one that double precision can train on and evaluate: finite,
// positive eigenvalues within [kMinEigenvalue, kMaxEigenvalue] (so that the products of up to
// four of them in the closed forms stay far from overflow and underflow), and a condition
// number of at most kMaxCondition (beyond it the smallest directions' terms lose every
// significant digit beside the largest ones').
constexpr double kMinEigenvalue = 1e-50, kMaxEigenvalue = 1e50, kMaxCondition = 1e12;

void check_range(std::string_view spec, const Eigen::VectorXd& lambda) {
  const auto fail = [&](const std::string& why) { throw InputError("spectrum '" + std::string(spec) + "': " + why); };
  const double condition = lambda.maxCoeff() / lambda.minCoeff();
  if (condition > kMaxCondition) {
    std::ostringstream why;
    why << "the condition number is " << condition << ", above " << kMaxCondition
        << ": double precision cannot resolve the smallest directions beside the largest";
    fail(why.str());
  }
  for (Eigen::Index k = 0; k < lambda.size(); ++k)
    if (!std::isfinite(lambda[k]) || !(lambda[k] >= kMinEigenvalue) || !(lambda[k] <= kMaxEigenvalue)) {
      std::ostringstream why;
      why << "eigenvalue " << k + 1 << " is " << lambda[k] << " (after normalisation to trace d where that applies),"
          << " outside [" << kMinEigenvalue << ", " << kMaxEigenvalue << "]: too large or too small for double precision";
      fail(why.str());
    }
}

std::vector<double> read_numbers(const std::string& text, const std::string& path, std::string_view spec) {
  std::istringstream in(text);
  std::vector<double> values;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    // Commas separate fields: an empty one ("1,,2", a trailing comma) is a missing number.
    if (line.find(',') != std::string::npos) {
      std::istringstream fields(line + ',');  // so that a trailing empty field is seen
      std::string field;
      for (int k = 1; std::getline(fields, field, ','); ++k)
        if (field.find_first_not_of(" \t\r") == std::string::npos)
          throw InputError("spectrum '" + std::string(spec) + "': " + path + " line " + std::to_string(line_no) +
                           ": field " + std::to_string(k) + " is empty");
    }
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) {
      try {
        values.push_back(parse_number(token, "value"));
      } catch (const InputError& e) {
        throw InputError("spectrum '" + std::string(spec) + "': " + path + " line " +
                         std::to_string(line_no) + ": " + e.what());
      }
    }
  }
  return values;
}

Covariance from_file(std::string_view spec, const std::string& path, const std::string& text, int d,
                     Vectors vectors) {
  const std::vector<double> v = read_numbers(text, path, spec);
  const std::string where = "spectrum '" + std::string(spec) + "': " + path + ": ";
  const auto n = static_cast<std::size_t>(d);
  Covariance c;
  c.name = std::string(spec);
  c.d = d;
  if (v.size() == n) {
    Eigen::VectorXd lambda = Eigen::Map<const Eigen::VectorXd>(v.data(), d);
    for (int k = 0; k < d; ++k)
      if (!(lambda[k] > 0.0))
        throw InputError(where + "eigenvalue " + std::to_string(k + 1) + " is " +
                         std::to_string(lambda[k]) + ", not positive");
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int i, int j) { return lambda[i] > lambda[j]; });
    c.eigenvalues.resize(d);
    if (vectors == Vectors::build) c.eigenvectors = Eigen::MatrixXd::Zero(d, d);
    for (int k = 0; k < d; ++k) {
      c.eigenvalues[k] = lambda[order[k]];
      if (vectors == Vectors::build) c.eigenvectors(order[k], k) = 1.0;
    }
    return c;
  }
  if (v.size() != n * n)
    throw InputError(where + "has " + std::to_string(v.size()) + " numbers; d = " +
                     std::to_string(d) + " needs " + std::to_string(d) + " eigenvalues or a " +
                     std::to_string(d) + "x" + std::to_string(d) + " matrix");
  const Eigen::MatrixXd m = Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(v.data(), d, d);
  const double scale = m.cwiseAbs().maxCoeff();
  if (!(scale <= kMaxEigenvalue)) {
    std::ostringstream why;
    why << where << "an entry's magnitude is " << scale << ", above " << kMaxEigenvalue
        << ": too large for double precision";
    throw InputError(why.str());
  }
  if (((m - m.transpose()).cwiseAbs().array() > 1e-12 * scale).any())
    throw InputError(where + "the matrix is not symmetric");
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (m + m.transpose()));
  const Eigen::VectorXd ascending = eig.eigenvalues();
  // A relative threshold: eigenvalues at rounding level of the largest are not positive.
  if (!(ascending[0] > 1e-12 * ascending[d - 1]))
    throw InputError(where + "the matrix is not positive definite (smallest eigenvalue " +
                     std::to_string(ascending[0]) + ")");
  c.eigenvalues = ascending.reverse();
  c.eigenvectors = eig.eigenvectors().rowwise().reverse();
  return c;
}

}  // namespace

const std::vector<CatalogueEntry>& spectrum_catalogue() {
  static const std::vector<CatalogueEntry> entries = {
      {"isotropic", "Lambda = I (fixed spectra but file() are normalised to trace d)"},
      {"power(alpha)", "lambda_k proportional to k^-alpha"},
      {"geometric(kappa)", "lambda_k proportional to kappa^(-(k-1)/(d-1)): condition number kappa >= 1, log-evenly spaced"},
      {"spiked(k, s)", "lambda_1..lambda_k = s, the others 1 (k integer in [0, d], s > 0)"},
      {"random_exp", "a new diagonal Lambda per prompt, entries i.i.d. Exp(1)"},
      {"random_uniform(a, b)", "a new diagonal Lambda per prompt, entries i.i.d. Uniform(a, b), 0 <= a < b"},
      {"random_gamma(k)", "a new diagonal Lambda per prompt, entries i.i.d. Gamma(shape k, scale 1/k) (mean 1), k > 0"},
      {"file(PATH)", "d eigenvalues, or a d x d symmetric positive definite matrix, from a text file (whitespace or commas)"},
  };
  return entries;
}

std::optional<std::string> covariance_file(std::string_view spec) {
  const Call call = parse_call(spec);
  if (call.name != "file") return std::nullopt;
  if (call.raw_args.empty()) throw InputError("spectrum '" + std::string(spec) + "': file() needs a path");
  return call.raw_args;
}

std::string read_input_file(const std::string& path, std::string_view spec) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec))
    throw InputError("spectrum '" + std::string(spec) + "': cannot open '" + path + "'");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw InputError("spectrum '" + std::string(spec) + "': cannot read '" + path + "'");
  return text;
}

Covariance make_covariance(std::string_view spec, int d) {
  InputFiles files;
  if (const auto path = covariance_file(spec)) files[*path] = read_input_file(*path, spec);
  return make_covariance(spec, d, files);
}

namespace {

Covariance build(std::string_view spec, int d, const InputFiles& files, Vectors vectors) {
  if (d < 1) throw InputError("spectrum '" + std::string(spec) + "': dimension must be >= 1");
  const Call call = parse_call(spec);
  const auto number = [&](std::size_t i) {
    return parse_number(call.args[i], "spectrum '" + std::string(spec) + "'");
  };
  const auto fail = [&](const std::string& why) {
    throw InputError("spectrum '" + std::string(spec) + "': " + why);
  };
  Eigen::VectorXd lambda(d);
  if (call.name == "isotropic") {
    expect_args(call, 0, spec);
    return normalised(spec, Eigen::VectorXd::Ones(d), vectors);
  }
  if (call.name == "power") {
    expect_args(call, 1, spec);
    const double alpha = number(0);
    for (int k = 0; k < d; ++k) lambda[k] = std::pow(k + 1.0, -alpha);
    return normalised(spec, lambda, vectors);
  }
  if (call.name == "geometric") {
    expect_args(call, 1, spec);
    const double kappa = number(0);
    if (!(kappa >= 1.0)) fail("the condition number must be >= 1");
    for (int k = 0; k < d; ++k) lambda[k] = d == 1 ? 1.0 : std::pow(kappa, -double(k) / (d - 1));
    return normalised(spec, lambda, vectors);
  }
  if (call.name == "spiked") {
    expect_args(call, 2, spec);
    const double k = number(0);
    const double s = number(1);
    if (!(k >= 0 && k <= d && k == std::floor(k))) fail("k must be an integer in [0, d]");
    if (!(s > 0.0)) fail("the spike must be positive");
    for (int i = 0; i < d; ++i) lambda[i] = i < k ? s : 1.0;
    return normalised(spec, lambda, vectors);
  }
  Covariance c;
  c.name = std::string(spec);
  c.d = d;
  if (call.name == "random_exp") {
    expect_args(call, 0, spec);
    c.law = DiagonalLaw{DiagonalLaw::Kind::exponential, 0.0, 0.0};
    return c;
  }
  if (call.name == "random_uniform") {
    expect_args(call, 2, spec);
    const double a = number(0);
    const double b = number(1);
    if (!(a >= 0.0 && b > a)) fail("needs 0 <= a < b");
    c.law = DiagonalLaw{DiagonalLaw::Kind::uniform, a, b};
    return c;
  }
  if (call.name == "random_gamma") {
    expect_args(call, 1, spec);
    const double k = number(0);
    if (!(k > 0.0)) fail("the shape must be positive");
    c.law = DiagonalLaw{DiagonalLaw::Kind::gamma, k, 0.0};
    return c;
  }
  if (call.name == "file") {
    if (call.raw_args.empty()) fail("file() needs a path");
    const auto text = files.find(call.raw_args);
    if (text == files.end()) fail("the contents of '" + call.raw_args + "' were not read");
    return from_file(spec, call.raw_args, text->second, d, vectors);
  }
  std::string known;
  for (const auto& entry : spectrum_catalogue())
    known += (known.empty() ? "" : ", ") + entry.name.substr(0, entry.name.find('('));
  fail("unknown covariance model '" + call.name + "' (" + known + ")");
  return c;
}

}  // namespace

Covariance make_covariance(std::string_view spec, int d, const InputFiles& files) {
  Covariance c = build(spec, d, files, Vectors::build);
  if (!c.random()) check_range(spec, c.eigenvalues);
  return c;
}

Covariance covariance_spectrum(std::string_view spec, int d, const InputFiles& files) {
  Covariance c = build(spec, d, files, Vectors::skip);
  if (!c.random()) check_range(spec, c.eigenvalues);
  return c;
}

void check_covariance(std::string_view spec, int d, const InputFiles& files) { covariance_spectrum(spec, d, files); }

}  // namespace icl

