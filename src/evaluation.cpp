#include "evaluation.hpp"

#include "theory.hpp"

namespace icl {

ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key,
                                  const BlockPredictor* model, const Eigen::MatrixXd& a_eff, CancelCheck cancelled) {
  ConditionRisks r;
  r.mc = monte_carlo(dist, lsa, settings, key, model, cancelled);
  if (const auto moments = dist.moments(cancelled)) {
    const RiskForm form = risk_form(*moments, cancelled);
    if (lsa.trained.size() > 0) r.model_theory = risk(lsa.trained, form, cancelled);
    // A model that is exactly x_q^T A h has A_eff = A: its closed form is not computed twice.
    r.a_eff_theory = a_eff.size() > 0 ? risk(a_eff, form, cancelled) : r.model_theory;
    r.lsa_limit = risk(lsa.limit, form, cancelled);
    r.gd_theory = risk(lsa.gd_eta * Eigen::MatrixXd::Identity(dist.d, dist.d), form, cancelled);
    r.zero = form.zero;
  } else {
    r.zero = r.mc.zero.mean;
  }
  return r;
}

}  // namespace icl
