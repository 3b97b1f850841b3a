#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace icl {

// Every predictor whose test error a sweep reports (docs/theory.md §8), declared once. The
// Monte-Carlo estimates are an array indexed by it (McRisks), the closed forms too
// (ConditionRisks); the result columns (sweep/config/result_row.hpp), `icl-sweep
// --describe-predictors` and the Python package's predictor table (icl_sweep/predictors.json)
// are made from kPredictors and kPredictorColumns below. Adding a baseline: an enumerator, a line
// of kPredictors and one per column of kPredictorColumns, its prediction in monte_carlo.cpp's
// predict() and, for a linear one, its error given the design in ConditionalError
// (docs/interface.md, "Predictors, and adding a baseline").
enum class Predictor : std::size_t { model, lsa_limit, ols, ridge, gd, gd_steps, avg, knn, zero };
inline constexpr std::size_t kPredictorCount = 9;

// How a predictor's Monte-Carlo error is estimated.
enum class Estimation {
  // A prediction linear in the labels: averaged in its exact expectation given the prompt's
  // design where the query is an independent Gaussian (conditional Monte-Carlo, docs/theory.md
  // §9), else sampled. The trained model is estimated so only when it is exactly x_q^T A h.
  linear,
  sampled,  // squared errors of sampled predictions, always
};

// What one result column holds of a predictor's error.
enum class Quantity {
  theory,          // the closed form (NaN where there is none); see theory_se
  theory_se,       // 0 for a closed form; the standard error where theory is a conditional Monte-Carlo estimate
  mc,              // the Monte-Carlo mean
  mc_se,           // its standard error
  a_eff_theory,    // a trained layer's closed form R(A_eff) (the model's only)
  theory_else_mc,  // the closed form where there is one, else the Monte-Carlo mean
};

// What a predictor is made from besides the test prompt.
enum class Source {
  training_law,  // the training law too (the trained model, A*, GD's eta*): differs between training laws
  prompt,        // the prompt alone: bitwise equal on rows with the same test law (same prompts)
};

struct PredictorSpec {
  Predictor id;
  std::string_view name;   // short, for commands and figures: "ols"
  std::string_view label;  // for legends: "OLS (min-norm)"
  Estimation estimation;
  Source source;
};

inline constexpr std::array<PredictorSpec, kPredictorCount> kPredictors{{
    {Predictor::model, "model", "trained model", Estimation::linear, Source::training_law},
    {Predictor::lsa_limit, "lsa_limit", "LSA at A*", Estimation::linear, Source::training_law},
    {Predictor::ols, "ols", "OLS (min-norm)", Estimation::linear, Source::prompt},
    {Predictor::ridge, "ridge", "ridge", Estimation::linear, Source::prompt},
    {Predictor::gd, "gd", "one-step GD", Estimation::linear, Source::training_law},
    {Predictor::gd_steps, "gd_steps", "L-step GD (fitted)", Estimation::linear, Source::training_law},
    {Predictor::avg, "avg", "averaging", Estimation::linear, Source::prompt},
    {Predictor::knn, "knn", "k-NN", Estimation::sampled, Source::prompt},
    {Predictor::zero, "zero", "zero predictor", Estimation::linear, Source::prompt},
}};

// One result column of a predictor: what it holds of the predictor's error.
struct PredictorColumn {
  Predictor predictor;
  std::string_view name;
  Quantity quantity;
  std::string_view meaning;
};

// Every predictor's result columns, in row order (grouped by predictor, in kPredictors' order).
inline constexpr auto kPredictorColumns = std::to_array<PredictorColumn>({
    {Predictor::model, "risk_model_theory", Quantity::theory, "test error of the trained model by theory: in closed form where it is x_q^T A h; for a whole LSA layer (lsa, linear_transformer(1)) otherwise, conditional Monte-Carlo with w and noise integrated, paired with A* (theory.md §12)"},
    {Predictor::model, "risk_model_theory_se", Quantity::theory_se, "its standard error: 0 in closed form"},
    {Predictor::model, "risk_model_mc", Quantity::mc, "Monte-Carlo test error of the trained model"},
    {Predictor::model, "risk_model_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::model, "risk_a_eff_theory", Quantity::a_eff_theory, "one LSA layer: closed-form test error R(A_eff)"},
    {Predictor::lsa_limit, "risk_lsa_limit", Quantity::theory, "closed-form test error R(A*) of the LSA's limit; NaN without closed form"},
    {Predictor::ols, "risk_ols_mc", Quantity::mc, "minimum-norm least squares on the same prompts"},
    {Predictor::ols, "risk_ols_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::ridge, "risk_ridge_mc", Quantity::mc, "ridge regression (the row's ridge_lambda) on the same prompts"},
    {Predictor::ridge, "risk_ridge_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::gd, "risk_gd_theory", Quantity::theory, "closed-form error of one step of gradient descent from 0"},
    {Predictor::gd, "risk_gd_mc", Quantity::mc, "Monte-Carlo error of one step of gradient descent, same prompts"},
    {Predictor::gd_steps, "risk_gd_steps_mc", Quantity::mc, "linear_transformer(L) runs: L steps of gradient descent preconditioned by alpha_l A*, the alpha fitted to the training law (theory.md §13), same prompts; NaN for other models"},
    {Predictor::gd_steps, "risk_gd_steps_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::avg, "risk_avg_mc", Quantity::mc, "averaging predictor x_q^T (1/M) sum y_i x_i, same prompts"},
    {Predictor::avg, "risk_avg_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::knn, "risk_knn_mc", Quantity::mc, "k-nearest-neighbour average (eval.knn_k), same prompts"},
    {Predictor::knn, "risk_knn_mc_se", Quantity::mc_se, "its standard error"},
    {Predictor::zero, "risk_zero", Quantity::theory_else_mc, "E<w, x_q>^2: the zero predictor's error, the normaliser"},
});

constexpr std::size_t index_of(Predictor p) { return static_cast<std::size_t>(p); }
constexpr const PredictorSpec& spec_of(Predictor p) { return kPredictors[index_of(p)]; }

inline constexpr std::size_t kPredictorColumnCount = kPredictorColumns.size();
// The index of `column` among them (kPredictorColumnCount when it is none of them).
constexpr std::size_t predictor_column(std::string_view column) {
  std::size_t i = 0;
  while (i < kPredictorColumnCount && kPredictorColumns[i].name != column) ++i;
  return i;
}

// The index of the predictor named `name` ("ols"; kPredictorCount when none is).
constexpr std::size_t predictor_named(std::string_view name) {
  std::size_t i = 0;
  while (i < kPredictorCount && kPredictors[i].name != name) ++i;
  return i;
}
// The names of the predictors `chosen` marks (indexed by Predictor), "model, ols", in kPredictors'
// order; without `chosen`, every predictor's: for messages and the config.
inline std::string predictor_names(const std::array<bool, kPredictorCount>* chosen = nullptr) {
  std::string names;
  for (std::size_t i = 0; i < kPredictorCount; ++i)
    if (!chosen || (*chosen)[i]) names += (names.empty() ? "" : ", ") + std::string(kPredictors[i].name);
  return names;
}

static_assert([] {
  for (std::size_t i = 0; i < kPredictorCount; ++i)
    if (index_of(kPredictors[i].id) != i) return false;
  for (std::size_t i = 1; i < kPredictorColumnCount; ++i)
    if (index_of(kPredictorColumns[i].predictor) < index_of(kPredictorColumns[i - 1].predictor)) return false;
  return true;
}(), "kPredictors lists the predictors in the order of the enum, kPredictorColumns grouped in that order");

}  // namespace icl
