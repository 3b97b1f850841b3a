#pragma once
#include <array>
#include <limits>
#include <vector>

#include "monte_carlo.hpp"
#include "predictors.hpp"
#include "shifts.hpp"

namespace icl {

// Everything a result row reports about one condition: closed forms where they exist (NaN
// otherwise) and the Monte-Carlo estimates, per predictor (predictors.hpp).
struct ConditionRisks {
  // Indexed by Predictor: R(lsa.trained) for the model when it is that linear form, R(A*), R of
  // one-step GD and E<w, x_q>^2 where the test law has its moments (closed_form); NaN otherwise.
  std::array<double, kPredictorCount> theory;
  // Its standard error: 0 for a closed form; for the model when it is a whole LSA layer whose
  // closed form is unknown (blocks beyond A_eff, or a test law without moments), theory holds
  // the layer's conditional Monte-Carlo estimate (McRisks::layer) and this its standard error.
  std::array<double, kPredictorCount> theory_se;
  double a_eff_theory = std::numeric_limits<double>::quiet_NaN();  // R(A_eff); R(lsa.trained) without a_eff
  bool closed_form = false;  // the test law has the moments the closed forms need
  McRisks mc;

  ConditionRisks() {
    theory.fill(std::numeric_limits<double>::quiet_NaN());
    theory_se.fill(std::numeric_limits<double>::quiet_NaN());
  }
  double theory_of(Predictor p) const { return theory[index_of(p)]; }
  // What a result column of `p` holds (predictors.hpp, Quantity).
  double value(Predictor p, Quantity quantity) const;
  // E<w, x_q>^2: the closed form when there is one, else the Monte-Carlo mean.
  double zero() const { return value(Predictor::zero, Quantity::theory_else_mc); }
};

// `model`: the trained model when it is not lsa.trained (see monte_carlo); `a_eff`: the effective
// A of a trained layer that is not exactly x_q^T A h (docs/theory.md §11), else empty.
ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key,
                                  const BlockPredictor* model = nullptr,
                                  const Eigen::MatrixXd& a_eff = Eigen::MatrixXd(), CancelCheck cancelled = nullptr);
// The same for every pair (ridge lambda, k) of settings, in monte_carlo_each's order: one pass over
// the prompts, the closed forms once.
std::vector<ConditionRisks> evaluate_conditions(const TestDistribution& dist, const LsaPredictors& lsa,
                                                const McSettings& settings, const StreamKey& key,
                                                const BlockPredictor* model = nullptr,
                                                const Eigen::MatrixXd& a_eff = Eigen::MatrixXd(),
                                                CancelCheck cancelled = nullptr);
// The same for several conditions whose laws draw the same designs, in one pass over their shared
// designs (monte_carlo_shared): per condition, what evaluate_conditions gives it alone.
std::vector<std::vector<ConditionRisks>> evaluate_shared(const std::vector<McCondition>& conditions, const LsaPredictors& lsa,
                                                         const McSettings& settings, const BlockPredictor* model = nullptr,
                                                         const Eigen::MatrixXd& a_eff = Eigen::MatrixXd(),
                                                         CancelCheck cancelled = nullptr);

}  // namespace icl
