#pragma once
#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "accumulator.hpp"
#include "cancellation.hpp"
#include "gd_steps.hpp"
#include "lsa_layer.hpp"
#include "predictors.hpp"
#include "random_stream.hpp"
#include "shifts.hpp"

namespace icl {

// Mean squared error of each predictor (predictors.hpp), all on the same prompts. The model is
// the trained model: the linear predictor `LsaPredictors::trained`, or a BlockPredictor.
struct McRisks {
  std::array<RiskEstimate, kPredictorCount> of;  // indexed by Predictor
  // The whole trained LSA layer's risk (LsaPredictors::layer), w and eps integrated given the
  // design and the query (docs/theory.md §12); NaN without a layer. Where the query is an
  // independent Gaussian it is integrated too, and the layer's error is paired with A*'s on the
  // same prompts (PairedLayerRisk): layer_gap estimates R(layer) - R(A*), `layer` A*'s mean error
  // over every prompt plus that gap. Otherwise (the query given) the layer is evaluated on every
  // prompt and layer_gap is NaN.
  RiskEstimate layer;
  RiskEstimate layer_gap;
  std::int64_t prompts = 0;                      // prompts drawn
  RiskEstimate& operator[](Predictor p) { return of[index_of(p)]; }
  const RiskEstimate& operator[](Predictor p) const { return of[index_of(p)]; }
};

// The predictors a target waits for by default: all but k-NN, whose plainly sampled estimate needs
// tens of times the prompts of the conditional ones (eval.target_predictors).
inline constexpr std::array<bool, kPredictorCount> kTargetWaitsDefault = [] {
  std::array<bool, kPredictorCount> waits{};
  waits.fill(true);
  waits[index_of(Predictor::knn)] = false;
  return waits;
}();

// The default precision target (eval.target_rel_se): a standard error of 1% of the risk, a 95%
// interval of about +-2%, finer than the gaps the paper's comparisons turn on (docs/theory.md §9
// says why); eval.mc_prompts is then the cap.
inline constexpr double kTargetRelSeDefault = 0.01;

// Sampling to a target precision: the first check, and the least step between checks.
inline constexpr std::int64_t kTargetFirstCheck = 128;

struct McSettings {
  int prompts = 10000;          // the number of prompts, or the cap with a target
  // > 0: stop once the se of every estimate of a predictor in target_waits is <= target |mean|;
  // 0: exactly `prompts`.
  double target_rel_se = kTargetRelSeDefault;
  std::array<bool, kPredictorCount> target_waits = kTargetWaitsDefault;  // indexed by Predictor
  // Ridge's lambdas and k-NN's ks (0: no k-NN): monte_carlo_each estimates every pair on the same
  // prompts in one pass; monte_carlo takes one of each.
  std::vector<double> ridge_lambdas = {0.1};
  std::vector<int> knn_ks = {3};
  // Past a pilot, the whole LSA layer is evaluated on every s-th prompt, s at most layer_stride,
  // as its pairing with A* allows (PairedLayerRisk); 1: on every prompt.
  int layer_stride = 8;
};

// The linear predictors x_q^T A (1/M) sum y_i x_i under evaluation.
struct LsaPredictors {
  Eigen::MatrixXd trained;  // the trained model's A when the model is exactly this linear form; else empty
  Eigen::MatrixXd limit;    // A*
  double gd_eta = 0.0;      // one-step GD: A = eta I
  LsaLayer layer;           // the trained model when it is one whole LSA layer (McRisks::layer); else empty
  GdSteps gd_steps;         // the L-step GD reference of a linear_transformer(L) run (docs/theory.md §13); else no steps
};

// A block of test prompts, row-major: x[b][i][j] = x[(b m + i) d + j], y[b][i] = y[b m + i],
// the query q[b][j] = q[b d + j].
struct PromptBlock {
  int count = 0, m = 0, d = 0;
  const double* x = nullptr;
  const double* y = nullptr;
  const double* q = nullptr;
};
// A trained model's prediction of each query's label; writes block.count values.
using BlockPredictor = std::function<void(const PromptBlock& block, double* predictions)>;
// Prompts per call of a BlockPredictor.
inline constexpr int kPromptBlock = 256;

// Prompt i's design (its covariates X, and under a per-prompt law its covariance) draws from
// Stream{key.seed, design_key(dist), "design", i}; the rest of it (the task, the query, the label
// noise) from Stream{key.seed, key.covariance, key.condition, i}. The estimate does not depend on
// how prompts are scheduled, nor on the model evaluated; conditions whose laws draw designs
// alike see the same designs (common random numbers: monte_carlo_shared evaluates them in one
// pass). Where the query is an independent Gaussian, every linear predictor's (and the zero
// predictor's) error is averaged in its exact expectation given the prompt's design (conditional
// Monte-Carlo, docs/theory.md §9); k-NN, a model that is not linear and the other queries average
// sampled squared errors. With settings.target_rel_se, sampling stops at the first check where
// the standard error of every estimate settings.target_waits names is within that fraction of
// max(|mean|, 1e-12 R_0). Conditions that are not defined (orthogonal_query with M >= d) give NaN.
// With `model`, it is the trained model (lsa.trained is then ignored); without, lsa.trained.
// Polls `cancelled` every prompt and throws Cancelled when it says so. Takes one ridge lambda and
// one k (std::invalid_argument otherwise).
McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa,
                    const McSettings& settings, const StreamKey& key,
                    const BlockPredictor* model = nullptr, CancelCheck cancelled = nullptr);

// The same for every pair (settings.ridge_lambdas[l], settings.knn_ks[j]), at l * knn_ks.size() + j,
// in one pass over the prompts: each design's Gram matrix once, a Cholesky factorisation per
// lambda, the other predictors once. With a target, each pair reports its estimates at the first
// check where its own (ridge at its lambda, k-NN at its k, and the others) are precise enough,
// exactly what monte_carlo with that pair alone gives; the pass ends when every pair has stopped.
std::vector<McRisks> monte_carlo_each(const TestDistribution& dist, const LsaPredictors& lsa,
                                      const McSettings& settings, const StreamKey& key,
                                      const BlockPredictor* model = nullptr, CancelCheck cancelled = nullptr);

// What a prompt's design is drawn from, as a key: M, d, the covariance or its per-prompt law, the
// mixing, the prompt scale and whether quadrant signs apply. Equal keys, the same designs.
std::uint64_t design_key(const TestDistribution& dist);

// One condition of a shared pass: its test law and the keys of its prompts.
struct McCondition {
  const TestDistribution* dist = nullptr;
  StreamKey key;
};
// monte_carlo_each for several conditions of one seed whose laws draw the same designs (equal
// design_key; std::invalid_argument otherwise), in one pass: each prompt's design drawn and factored
// once (its Gram matrix, Cholesky factors, Sigma, Sigma^2 and the inverses that the conditional
// errors of ridge and noisy OLS take), each condition's own draws and estimates on it. Each
// condition's estimates, and where it stops, are exactly what monte_carlo_each gives it alone.
std::vector<std::vector<McRisks>> monte_carlo_shared(const std::vector<McCondition>& conditions, const LsaPredictors& lsa,
                                                     const McSettings& settings, const BlockPredictor* model = nullptr,
                                                     CancelCheck cancelled = nullptr);

// `count` designs of `dist`, design i drawn from Stream{key.seed, key.covariance, key.condition, i}
// as monte_carlo draws a prompt's design (independent of every condition's test prompts, whose
// designs draw from design_key): Sigma = X^T X / M and the query's covariance given the prompt,
// for fitting the L-step GD reference (docs/theory.md §13).
std::vector<Design> draw_designs(const TestDistribution& dist, const StreamKey& key, int count,
                                 CancelCheck cancelled = nullptr);

}  // namespace icl
