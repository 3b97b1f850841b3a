#pragma once
#include "monte_carlo.hpp"
#include "shifts.hpp"

namespace icl {

// Everything a result row reports about one condition: closed forms where they exist (NaN
// otherwise) and the Monte-Carlo estimates.
struct ConditionRisks {
  double lsa_theory = std::numeric_limits<double>::quiet_NaN();
  double lsa_limit = std::numeric_limits<double>::quiet_NaN();
  double gd_theory = std::numeric_limits<double>::quiet_NaN();
  // E<w, x_q>^2: closed form when there is one, else the Monte-Carlo mean.
  double zero = std::numeric_limits<double>::quiet_NaN();
  McRisks mc;
};

ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key);

}  // namespace icl
