#include "shifts.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "call_syntax.hpp"
#include "input_error.hpp"
#include "interruptible_product.hpp"

namespace icl {
namespace {

enum class Param { none, any, positive, nonnegative };

// Whether the test law is made from the training covariance (most shifts move or keep it) or
// replaces it whatever it was (a fixed or per-prompt covariance of its own): in the second case
// rows trained on different covariances share their test prompts (docs/interface.md,
// "Determinism"). Test `Shifts.TrainingCovarianceFlagMatchesTheTestLaw` checks every entry.
enum class Covariates { from_training, own };

// Whether the shift leaves the prompt's covariates as they were (the task, the query, the noise
// move) or changes how they are drawn: the first kind share their designs with `none` at each M
// (docs/theory.md §9, "Shared designs"). Test `Shifts.DesignFlagMatchesTheDesignLaw` checks every entry.
enum class Design { kept, changed };

struct ShiftName {
  const char* name;
  ShiftKind kind;
  Param param;
  Covariates covariates;
  Design design;
  const char* meaning;  // one line, for --list-shifts and docs/theory.md §7
};

constexpr std::array<ShiftName, 17> kShifts{{
    {"none", ShiftKind::none, Param::none, Covariates::from_training, Design::kept, "test prompts from the training distribution"},
    {"task_mean", ShiftKind::task_mean, Param::any, Covariates::from_training, Design::kept, "w ~ N(c 1/sqrt(d), I): the task gets a mean of norm c"},
    {"task_scale", ShiftKind::task_scale, Param::nonnegative, Covariates::from_training, Design::kept, "w ~ N(0, c^2 I)"},
    {"label_noise", ShiftKind::label_noise, Param::nonnegative, Covariates::from_training, Design::kept, "y_i = <w, x_i> + N(0, c^2) in the prompt"},
    {"query_scale", ShiftKind::query_scale, Param::positive, Covariates::from_training, Design::kept, "the query x_q is multiplied by c"},
    {"covariate_scale", ShiftKind::covariate_scale, Param::positive, Covariates::from_training, Design::changed, "every covariate, prompt and query, is multiplied by c"},
    {"prompt_scale", ShiftKind::prompt_scale, Param::positive, Covariates::from_training, Design::changed, "the prompt's x_i are multiplied by c, the query is not"},
    {"covariate_rotate", ShiftKind::covariate_rotate, Param::any, Covariates::from_training, Design::changed, "covariates rotated by angle c in the planes of eigenvector pairs (1,2), (3,4), ..."},
    {"covariate_flip", ShiftKind::covariate_flip, Param::none, Covariates::from_training, Design::changed, "the training spectrum reversed (largest eigenvalue becomes smallest)"},
    {"covariate_isotropic", ShiftKind::covariate_isotropic, Param::none, Covariates::own, Design::changed, "test covariance I"},
    {"covariate_random", ShiftKind::covariate_random, Param::positive, Covariates::own, Design::changed, "test covariance c diag(Exp(1)), drawn anew per prompt (Monte-Carlo only)"},
    {"half_subspace", ShiftKind::half_subspace, Param::none, Covariates::from_training, Design::changed, "covariates projected onto a random subspace of dimension d/2"},
    {"orthogonal_query", ShiftKind::orthogonal_query, Param::none, Covariates::from_training, Design::kept, "the query orthogonal to the prompt's x_i (M < d; Monte-Carlo only)"},
    {"overlapping_query", ShiftKind::overlapping_query, Param::none, Covariates::from_training, Design::kept, "the query is one of the prompt's x_i (Monte-Carlo only)"},
    {"covariate_skewed", ShiftKind::covariate_skewed, Param::none, Covariates::own, Design::changed, "test spectrum proportional to 1/k in the standard basis, trace d"},
    {"random_quadrants", ShiftKind::random_quadrants, Param::none, Covariates::from_training, Design::changed, "prompt covariates in one random orthant per prompt, query anywhere (Monte-Carlo only)"},
    {"opposite_quadrants", ShiftKind::opposite_quadrants, Param::none, Covariates::from_training, Design::changed, "prompt covariates in one orthant, the query in the opposite one (Monte-Carlo only)"},
}};

std::string known_names() {
  std::string names;
  for (const auto& s : kShifts) names += (names.empty() ? "" : ", ") + std::string(s.name);
  return names;
}

}  // namespace

bool test_law_uses_training_covariance(ShiftKind kind) {
  for (const auto& s : kShifts)
    if (s.kind == kind) return s.covariates == Covariates::from_training;
  return true;
}

bool test_law_uses_training_covariance(const Shift& shift) {
  bool uses = test_law_uses_training_covariance(shift.kind);
  for (const ShiftPart& part : shift.then) uses = uses && test_law_uses_training_covariance(part.kind);
  return uses;
}

bool keeps_design(const Shift& shift) {
  const auto kept = [](ShiftKind kind) {
    for (const auto& s : kShifts)
      if (s.kind == kind) return s.design == Design::kept;
    return false;
  };
  return kept(shift.kind) && std::all_of(shift.then.begin(), shift.then.end(), [&](const ShiftPart& p) { return kept(p.kind); });
}

std::vector<CatalogueEntry> shift_catalogue() {
  std::vector<CatalogueEntry> entries;
  for (const auto& s : kShifts)
    entries.push_back({std::string(s.name) + (s.param == Param::none ? "" : "(c)"), s.meaning});
  return entries;
}

namespace {

// The parts of `text` split at the `+` outside parentheses.
std::vector<std::string> composed_parts(std::string_view text) {
  std::vector<std::string> parts{""};
  int depth = 0;
  for (const char ch : text) {
    depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    if (ch == '+' && depth == 0)
      parts.emplace_back();
    else
      parts.back() += ch;
  }
  return parts;
}

std::vector<Shift> expand_one(std::string_view text);

}  // namespace

std::vector<Shift> expand_shift(std::string_view text) {
  const std::vector<std::string> parts = composed_parts(text);
  if (parts.size() == 1) return expand_one(text);
  const std::string where = "shift '" + trim(text) + "'";
  std::vector<Shift> combined{Shift{}};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (trim(parts[i]).empty()) throw InputError(where + ": an empty part around '+'");
    const std::vector<Shift> options = expand_one(parts[i]);
    std::vector<Shift> next;
    for (const Shift& so_far : combined)
      for (const Shift& option : options) {
        if (option.kind == ShiftKind::none) throw InputError(where + ": `none` cannot be composed");
        Shift s = so_far;
        if (i == 0) {
          s = option;
        } else {
          const bool twice = s.kind == option.kind ||
                             std::any_of(s.then.begin(), s.then.end(), [&](const ShiftPart& p) { return p.kind == option.kind; });
          if (twice) throw InputError(where + ": a shift cannot be composed with itself (" + option.text + ")");
          s.then.push_back(ShiftPart{option.kind, option.param});
          s.text += "+" + option.text;
        }
        next.push_back(std::move(s));
      }
    combined = std::move(next);
  }
  return combined;
}

namespace {

std::vector<Shift> expand_one(std::string_view text) {
  const Call call = parse_call(text);
  const std::string where = "shift '" + trim(text) + "'";
  for (const auto& s : kShifts) {
    if (call.name != s.name) continue;
    if (s.param == Param::none) {
      if (!call.args.empty()) throw InputError(where + ": " + call.name + " takes no parameter");
      return {Shift{s.kind, 0.0, call.name, {}}};
    }
    if (call.args.empty()) throw InputError(where + ": " + call.name + " needs a parameter");
    std::vector<Shift> shifts;
    for (const auto& arg : call.args) {
      // A range gives one shift per value, named by its shortest text; a number keeps its text.
      std::vector<std::pair<double, std::string>> values;
      if (is_range(arg)) {
        try {
          for (const double v : expand_range(arg, kMaxRangeValues)) values.emplace_back(v, shortest(v));
        } catch (const InputError& x) {
          throw InputError(where + ": " + arg + ": " + x.what());
        }
      } else {
        values.emplace_back(parse_number(arg, where), arg);
      }
      for (const auto& [v, value_text] : values) {
        if (s.param == Param::positive && !(v > 0.0))
          throw InputError(where + ": the parameter must be positive, not " + value_text);
        if (s.param == Param::nonnegative && !(v >= 0.0))
          throw InputError(where + ": the parameter must be >= 0, not " + value_text);
        // Risks hold powers of the parameter (c^6 for an LSA under covariate_scale(c), higher for
        // deep models): beyond these bounds they overflow or vanish in double precision, and a
        // row of NaN would look like a result.
        if (!(std::abs(v) <= kMaxShiftParameter))
          throw InputError(where + ": the parameter must be at most " + shortest(kMaxShiftParameter) +
                           " in size (beyond it the risks overflow), not " + value_text);
        if (s.param == Param::positive && !(v >= 1.0 / kMaxShiftParameter))
          throw InputError(where + ": the parameter must be at least " + shortest(1.0 / kMaxShiftParameter) +
                           " (below it the risks vanish), not " + value_text);
        shifts.push_back(Shift{s.kind, v, call.name + "(" + value_text + ")", {}});
      }
    }
    return shifts;
  }
  throw InputError(where + ": unknown shift '" + call.name + "' (" + known_names() + ")");
}

}  // namespace

std::optional<TestMoments> TestDistribution::moments(CancelCheck cancelled) const {
  if (!has_moments()) return std::nullopt;
  const Eigen::MatrixXd base = product(mix, lambda, mix.transpose(), cancelled);
  TestMoments t;
  t.lambda_p = (prompt_scale * prompt_scale) * base;
  t.lambda_q = (query_scale * query_scale) * base;
  t.s_w = (w_scale * w_scale) * Eigen::MatrixXd::Identity(d, d) + w_mean * w_mean.transpose();
  t.noise_sd = noise_sd;
  t.m = m;
  return t;
}

TestDistribution make_test_distribution(const Shift& shift, const Covariance& training, int m,
                                        Stream& stream, CancelCheck cancelled) {
  const int d = training.d;
  TestDistribution t;
  t.d = d;
  t.m = m;
  t.law = training.law;
  t.lambda = training.random() ? Eigen::VectorXd::Ones(d) : training.eigenvalues;
  t.mix = training.random() ? Eigen::MatrixXd::Identity(d, d) : training.eigenvectors;
  t.w_mean = Eigen::VectorXd::Zero(d);
  // Each part in turn, on the law the parts before it made.
  std::vector<ShiftPart> parts{ShiftPart{shift.kind, shift.param}};
  parts.insert(parts.end(), shift.then.begin(), shift.then.end());
  for (const ShiftPart& part : parts) apply_shift(part, stream, cancelled, t);
  t.mix_identity = t.mix.isIdentity(0.0);
  return t;
}

void apply_shift(const ShiftPart& part, Stream& stream, CancelCheck cancelled, TestDistribution& t) {
  const int d = t.d;
  const double c = part.param;
  switch (part.kind) {
    case ShiftKind::none: break;
    case ShiftKind::task_mean: t.w_mean.setConstant(c / std::sqrt(double(d))); break;
    case ShiftKind::task_scale: t.w_scale = c; break;
    case ShiftKind::label_noise: t.noise_sd = c; break;
    case ShiftKind::query_scale: t.query_scale = c; break;
    case ShiftKind::covariate_scale: t.prompt_scale = t.query_scale = c; break;
    case ShiftKind::prompt_scale: t.prompt_scale = c; break;
    case ShiftKind::covariate_rotate:
      // R = V B V^T rotates by c in the planes of eigenvector pairs (1,2), (3,4), ...;
      // x = R V sqrt(lambda) z = V B sqrt(lambda) z. B is applied pair by pair: mix B in O(d^2).
      for (int k = 0; k + 1 < d; k += 2) {
        const Eigen::VectorXd x = t.mix.col(k), y = t.mix.col(k + 1);
        t.mix.col(k) = std::cos(c) * x + std::sin(c) * y;
        t.mix.col(k + 1) = std::cos(c) * y - std::sin(c) * x;
      }
      break;
    case ShiftKind::covariate_flip:
      // Reversing an i.i.d. law's entries leaves it unchanged, so only fixed spectra move.
      t.lambda.reverseInPlace();
      break;
    case ShiftKind::covariate_isotropic:
      t.law.reset();
      t.lambda.setOnes();
      t.mix.setIdentity();
      break;
    case ShiftKind::covariate_random:
      t.law = DiagonalLaw{DiagonalLaw::Kind::exponential, 0.0, 0.0};
      t.law_scale = c;
      t.lambda.setOnes();
      t.mix.setIdentity();
      break;
    case ShiftKind::half_subspace: {
      Eigen::MatrixXd g(d, d / 2);
      for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = stream.normal();
      const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() *
                                Eigen::MatrixXd::Identity(d, d / 2);
      t.mix = product(q, product(q.transpose(), t.mix, cancelled), cancelled);  // (q q^T) mix
      t.subspace = d / 2;
      break;
    }
    case ShiftKind::orthogonal_query: t.query = TestDistribution::Query::orthogonal; break;
    case ShiftKind::overlapping_query: t.query = TestDistribution::Query::overlapping; break;
    case ShiftKind::covariate_skewed:
      t.law.reset();
      t.lambda = skewed_spectrum(d);
      t.mix.setIdentity();
      break;
    case ShiftKind::random_quadrants: t.quadrants = TestDistribution::Quadrants::random; break;
    case ShiftKind::opposite_quadrants: t.quadrants = TestDistribution::Quadrants::opposite; break;
  }
}

namespace {
// The shift's law on a 2-dimensional isotropic training covariance, prompts of length m.
TestDistribution small_law(const Shift& shift, int m) {
  Stream unused{0};
  return make_test_distribution(shift, make_covariance("isotropic", 2), m, unused);
}
}  // namespace

bool query_depends_on_prompt(const Shift& shift) { return !small_law(shift, 1).query_given_design(); }

bool defined_at(const Shift& shift, int m, int d) {
  TestDistribution t = small_law(shift, 1);
  t.m = m;
  t.d = d;
  return t.defined();
}

int TestDistribution::design_rank() const {
  const int nonzero = law ? d : static_cast<int>((lambda.array() > 0.0).count());
  return subspace > 0 ? std::min(subspace, nonzero) : nonzero;
}

}  // namespace icl
