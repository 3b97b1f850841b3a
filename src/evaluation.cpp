#include "evaluation.hpp"

#include <cmath>

#include "theory.hpp"

namespace icl {

ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key,
                                  const BlockPredictor* model, const Eigen::MatrixXd& a_eff, CancelCheck cancelled) {
  ConditionRisks r;
  r.mc = monte_carlo(dist, lsa, settings, key, model, cancelled);
  if (const auto moments = dist.moments(cancelled)) {
    const RiskForm form = risk_form(*moments, cancelled);
    r.closed_form = true;
    if (lsa.trained.size() > 0) r.theory[index_of(Predictor::model)] = risk(lsa.trained, form, cancelled);
    // A model that is exactly x_q^T A h has A_eff = A: its closed form is not computed twice.
    r.a_eff_theory = a_eff.size() > 0 ? risk(a_eff, form, cancelled) : r.theory_of(Predictor::model);
    r.theory[index_of(Predictor::lsa_limit)] = risk(lsa.limit, form, cancelled);
    r.theory[index_of(Predictor::gd)] = risk(lsa.gd_eta * Eigen::MatrixXd::Identity(dist.d, dist.d), form, cancelled);
    r.theory[index_of(Predictor::zero)] = form.zero;
    for (std::size_t i = 0; i < kPredictorCount; ++i)
      if (!std::isnan(r.theory[i])) r.theory_se[i] = 0.0;
  }
  const auto trained = index_of(Predictor::model);
  if (std::isnan(r.theory[trained]) && !lsa.layer.empty()) {
    // With R(A*) in closed form, the layer's risk is it plus the gap paired on the same prompts.
    const auto limit = index_of(Predictor::lsa_limit);
    const bool paired = r.closed_form && !std::isnan(r.mc.layer_gap.mean);
    r.theory[trained] = paired ? r.theory[limit] + r.mc.layer_gap.mean : r.mc.layer.mean;
    r.theory_se[trained] = paired ? r.mc.layer_gap.se : r.mc.layer.se;
  }
  return r;
}

double ConditionRisks::value(Predictor p, Quantity quantity) const {
  switch (quantity) {
    case Quantity::theory: return theory_of(p);
    case Quantity::theory_se: return theory_se[index_of(p)];
    case Quantity::mc: return mc[p].mean;
    case Quantity::mc_se: return mc[p].se;
    case Quantity::a_eff_theory: return a_eff_theory;
    case Quantity::theory_else_mc: return closed_form ? theory_of(p) : mc[p].mean;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace icl
