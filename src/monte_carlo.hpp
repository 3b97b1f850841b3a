#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <limits>

#include "random_stream.hpp"
#include "shifts.hpp"

namespace icl {

struct RiskEstimate {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double se = std::numeric_limits<double>::quiet_NaN();  // standard error of the mean
};

// Mean squared error of each predictor of docs/theory.md §8, all on the same prompts.
struct McRisks {
  RiskEstimate lsa, lsa_limit, ols, ridge, gd, avg, knn, zero;
};

struct McSettings {
  int prompts = 10000;
  double ridge_lambda = 0.1;
  int knn_k = 3;
};

// The linear predictors x_q^T A (1/M) sum y_i x_i under evaluation.
struct LsaPredictors {
  Eigen::MatrixXd trained;  // the A reached by gradient flow
  Eigen::MatrixXd limit;    // A*
  double gd_eta = 0.0;      // one-step GD: A = eta I
};

// Prompt i draws from Stream{key.seed, key.train, key.condition, i}: the estimate does not
// depend on how prompts are scheduled. Conditions that are not defined (orthogonal_query
// with M >= d) give NaN.
McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa,
                    const McSettings& settings, const StreamKey& key);

}  // namespace icl
