#pragma once
#include <Eigen/Dense>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "covariance.hpp"
#include "random_stream.hpp"
#include "theory.hpp"

namespace icl {

// The distribution shifts of docs/theory.md §7.
enum class ShiftKind {
  none, task_mean, task_scale, label_noise, query_scale, covariate_scale, prompt_scale,
  covariate_rotate, covariate_flip, covariate_isotropic, covariate_random, half_subspace,
  orthogonal_query, overlapping_query, covariate_skewed, random_quadrants, opposite_quadrants
};

struct ShiftPart {
  ShiftKind kind = ShiftKind::none;
  double param = 0.0;
};

// One test condition: a shift, or several composed with `+` (`covariate_scale(2)+label_noise(0.5)`:
// each applied to the test law in the order written; docs/theory.md §7).
struct Shift {
  ShiftKind kind = ShiftKind::none;  // the first (or only) part
  double param = 0.0;
  std::string text;                  // canonical one-condition form, e.g. `covariate_scale(2)`
  std::vector<ShiftPart> then;       // the parts composed after the first
};

// Every shift as `name` or `name(c)`, with its meaning in one line.
std::vector<CatalogueEntry> shift_catalogue();

// Whether the shift's test law is made from the training covariance (`none`, `covariate_scale`,
// ...) rather than replacing it with its own (`covariate_isotropic`, `covariate_random`,
// `covariate_skewed`): the training covariance is then part of the test prompts' key.
bool test_law_uses_training_covariance(ShiftKind kind);
// A composed shift's: whether every part's is.
bool test_law_uses_training_covariance(const Shift& shift);

// Whether every part of the shift leaves the prompt's covariates as the training law draws them
// (none, task_mean, task_scale, label_noise, query_scale, orthogonal_query, overlapping_query):
// such conditions share their designs at each M (monte_carlo.hpp, design_key).
bool keeps_design(const Shift& shift);

// `covariate_scale(0.5, 2, 4)` gives three shifts, one per parameter; a shift without
// parameters gives one; `a(1, 2)+b(3)` composes, one shift per combination (a(1)+b(3), a(2)+b(3)).
// Throws InputError for unknown names, missing, extra or out-of-range parameters, and for a
// composition with `none` or with one shift twice.
std::vector<Shift> expand_shift(std::string_view text);
// The largest size of a shift's parameter, and 1 / it the smallest positive one (InputError beyond).
inline constexpr double kMaxShiftParameter = 1e6;

// How the test prompts of one condition are drawn. Covariates are
//   x = mix * (sqrt(lambda) .* z),  z ~ N(0, I),
// with lambda fixed or drawn per prompt (law, times law_scale), then multiplied by
// prompt_scale (the x_i) or query_scale (x_q), then the query and quadrant rules apply.
struct TestDistribution {
  int d = 0;
  int m = 0;
  Eigen::VectorXd lambda;
  std::optional<DiagonalLaw> law;
  double law_scale = 1.0;
  Eigen::MatrixXd mix;
  bool mix_identity = true;
  double prompt_scale = 1.0;
  double query_scale = 1.0;
  enum class Query { independent, orthogonal, overlapping } query = Query::independent;
  enum class Quadrants { none, random, opposite } quadrants = Quadrants::none;
  Eigen::VectorXd w_mean;  // w = w_mean + w_scale * N(0, I)
  double w_scale = 1.0;
  double noise_sd = 0.0;
  int subspace = 0;  // > 0: the covariates lie in a random subspace of this dimension (half_subspace)

  // The rank of a prompt's design covariance: its nonzero eigenvalues, within the subspace.
  int design_rank() const;
  // Whether minimum-norm least squares has an infinite risk here: under label noise, its error
  // given the design holds s^2 tr((X^T X)^+), whose expectation is infinite for Gaussian designs
  // when |M - rank| <= 1 (the inverse Wishart's first moment, docs/theory.md §9).
  bool ols_risk_infinite() const { return noise_sd > 0.0 && std::abs(m - design_rank()) <= 1; }
  // Whether that error given the design has an infinite variance, its risk finite or not: the
  // inverse Wishart's second moment is finite only for |M - rank| > 3. The estimate then converges
  // slowly and its standard error does not say how far it is from the risk.
  bool ols_variance_infinite() const { return noise_sd > 0.0 && std::abs(m - design_rank()) <= 3; }

  // The second moments when the closed form of docs/theory.md §5 applies (fixed test
  // covariance, independent Gaussian query); empty for Monte-Carlo-only conditions.
  std::optional<TestMoments> moments(CancelCheck cancelled = nullptr) const;
  // Whether moments() has them, without forming them.
  bool has_moments() const { return !law && query == Query::independent && quadrants == Quadrants::none; }
  // orthogonal_query is defined only for M < d.
  bool defined() const { return query != Query::orthogonal || m < d; }
  // Whether the query is a Gaussian independent of the prompt, so that the errors of the linear
  // predictors have their closed form given the design (docs/theory.md §9): not orthogonal_query,
  // overlapping_query, opposite_quadrants, whose errors are sampled plainly.
  bool query_given_design() const { return query == Query::independent && quadrants != Quadrants::opposite; }
};

// The test distribution of `shift` for a model trained on `training`, with prompts of length
// m. `stream` supplies the draws that are fixed per condition (half_subspace's projector).
TestDistribution make_test_distribution(const Shift& shift, const Covariance& training, int m,
                                        Stream& stream, CancelCheck cancelled = nullptr);
// The same two facts of a shift before its law is made (the dry run's cost model), read off the law
// the shift makes of a small training covariance: whether its query depends on the prompt (not
// TestDistribution::query_given_design()), and whether it is defined at prompt length m in d
// dimensions (TestDistribution::defined()).
bool query_depends_on_prompt(const Shift& shift);
bool defined_at(const Shift& shift, int m, int d);

// One part of a shift applied to the test law `t` (make_test_distribution applies each in turn).
void apply_shift(const ShiftPart& part, Stream& stream, CancelCheck cancelled, TestDistribution& t);

}  // namespace icl
