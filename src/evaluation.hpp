#pragma once
#include "monte_carlo.hpp"
#include "shifts.hpp"

namespace icl {

// Everything a result row reports about one condition: closed forms where they exist (NaN
// otherwise) and the Monte-Carlo estimates.
struct ConditionRisks {
  double model_theory = std::numeric_limits<double>::quiet_NaN();  // R(lsa.trained), if the model is that linear form
  double a_eff_theory = std::numeric_limits<double>::quiet_NaN();  // R(A_eff); R(lsa.trained) without a_eff
  double lsa_limit = std::numeric_limits<double>::quiet_NaN();
  double gd_theory = std::numeric_limits<double>::quiet_NaN();
  // E<w, x_q>^2: closed form when there is one, else the Monte-Carlo mean.
  double zero = std::numeric_limits<double>::quiet_NaN();
  McRisks mc;
};

// `model`: the trained model when it is not lsa.trained (see monte_carlo); `a_eff`: the effective
// A of a trained layer that is not exactly x_q^T A h (docs/theory.md §11), else empty.
ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key,
                                  const BlockPredictor* model = nullptr,
                                  const Eigen::MatrixXd& a_eff = Eigen::MatrixXd(), CancelCheck cancelled = nullptr);

}  // namespace icl
