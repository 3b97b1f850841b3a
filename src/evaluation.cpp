#include "evaluation.hpp"

#include "theory.hpp"

namespace icl {

ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key) {
  ConditionRisks r;
  r.mc = monte_carlo(dist, lsa, settings, key);
  if (const auto moments = dist.moments()) {
    r.lsa_theory = risk(lsa.trained, *moments);
    r.lsa_limit = risk(lsa.limit, *moments);
    r.gd_theory = risk(lsa.gd_eta * Eigen::MatrixXd::Identity(dist.d, dist.d), *moments);
    r.zero = risk_zero(*moments);
  } else {
    r.zero = r.mc.zero.mean;
  }
  return r;
}

}  // namespace icl
