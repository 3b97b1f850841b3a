#include "evaluation.hpp"

#include <cmath>
#include <stdexcept>

#include "theory.hpp"

namespace icl {

namespace {

// The closed forms of one condition, where its test law has the moments they need.
ConditionRisks closed_forms(const TestDistribution& dist, const LsaPredictors& lsa, const Eigen::MatrixXd& a_eff,
                            CancelCheck cancelled) {
  ConditionRisks closed;
  if (const auto moments = dist.moments(cancelled)) {
    const RiskForm form = risk_form(*moments, cancelled);
    closed.closed_form = true;
    if (lsa.trained.size() > 0) closed.theory[index_of(Predictor::model)] = risk(lsa.trained, form, cancelled);
    // A model that is exactly x_q^T A h has A_eff = A: its closed form is not computed twice.
    closed.a_eff_theory = a_eff.size() > 0 ? risk(a_eff, form, cancelled) : closed.theory_of(Predictor::model);
    closed.theory[index_of(Predictor::lsa_limit)] = risk(lsa.limit, form, cancelled);
    closed.theory[index_of(Predictor::gd)] = risk(lsa.gd_eta * Eigen::MatrixXd::Identity(dist.d, dist.d), form, cancelled);
    closed.theory[index_of(Predictor::zero)] = form.zero;
    for (std::size_t i = 0; i < kPredictorCount; ++i)
      if (!std::isnan(closed.theory[i])) closed.theory_se[i] = 0.0;
  }
  return closed;
}

// The closed forms with each pair's Monte-Carlo estimates.
std::vector<ConditionRisks> with_estimates(const ConditionRisks& closed, const std::vector<McRisks>& mc,
                                           const LsaPredictors& lsa) {
  std::vector<ConditionRisks> out(mc.size(), closed);
  for (std::size_t c = 0; c < out.size(); ++c) {
    ConditionRisks& r = out[c];
    r.mc = mc[c];
    const auto trained = index_of(Predictor::model);
    if (std::isnan(r.theory[trained]) && !lsa.layer.empty()) {
      // With R(A*) in closed form, the layer's risk is it plus the gap paired on the same prompts.
      const auto limit = index_of(Predictor::lsa_limit);
      const bool paired = r.closed_form && !std::isnan(r.mc.layer_gap.mean);
      r.theory[trained] = paired ? r.theory[limit] + r.mc.layer_gap.mean : r.mc.layer.mean;
      r.theory_se[trained] = paired ? r.mc.layer_gap.se : r.mc.layer.se;
    }
  }
  return out;
}

}  // namespace

std::vector<std::vector<ConditionRisks>> evaluate_shared(const std::vector<McCondition>& conditions, const LsaPredictors& lsa,
                                                         const McSettings& settings, const BlockPredictor* model,
                                                         const Eigen::MatrixXd& a_eff, CancelCheck cancelled) {
  std::vector<ConditionRisks> closed;
  for (const McCondition& c : conditions) closed.push_back(closed_forms(*c.dist, lsa, a_eff, cancelled));
  const std::vector<std::vector<McRisks>> mc = monte_carlo_shared(conditions, lsa, settings, model, cancelled);
  std::vector<std::vector<ConditionRisks>> out;
  for (std::size_t c = 0; c < conditions.size(); ++c) out.push_back(with_estimates(closed[c], mc[c], lsa));
  return out;
}

std::vector<ConditionRisks> evaluate_conditions(const TestDistribution& dist, const LsaPredictors& lsa,
                                                const McSettings& settings, const StreamKey& key,
                                                const BlockPredictor* model, const Eigen::MatrixXd& a_eff,
                                                CancelCheck cancelled) {
  return evaluate_shared({McCondition{&dist, key}}, lsa, settings, model, a_eff, cancelled).front();
}

ConditionRisks evaluate_condition(const TestDistribution& dist, const LsaPredictors& lsa,
                                  const McSettings& settings, const StreamKey& key,
                                  const BlockPredictor* model, const Eigen::MatrixXd& a_eff, CancelCheck cancelled) {
  if (settings.ridge_lambdas.size() != 1 || settings.knn_ks.size() != 1)
    throw std::invalid_argument("evaluate_condition: one ridge lambda and one k (evaluate_conditions takes lists)");
  return evaluate_conditions(dist, lsa, settings, key, model, a_eff, cancelled).front();
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
