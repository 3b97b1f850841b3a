// The whole LSA layer (docs/theory.md §12): its prediction against the embedding's own algebra,
// its error given the design and the query against sampled tasks and noise, and its risk by
// conditional Monte-Carlo against the closed form (extra blocks zero) and against plain
// Monte-Carlo of the same layer (extra blocks not zero), under several test laws.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "covariance.hpp"
#include "evaluation.hpp"
#include "lsa_layer.hpp"
#include "population_loss.hpp"
#include "shifts.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd gaussian(Stream& s, int rows, int cols, double scale) {
  MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * s.normal();
  return m;
}

// A layer near A* of `loss` (p_y = 1, W_xx = A*^T plus N(0, spread^2) entries) with extra blocks of
// size `extra`.
LsaLayer layer_near(const PopulationLoss& loss, int d, double extra, Stream& s, double spread = 0.05) {
  LsaLayer layer;
  layer.p = VectorXd::Zero(d + 1);
  layer.w = MatrixXd::Zero(d + 1, d + 1);
  layer.p[d] = 1.0;
  layer.w.topLeftCorner(d, d) = loss.optimum_matrix().transpose() + spread * gaussian(s, d, d, 1.0);
  layer.p.head(d) = extra * gaussian(s, d, 1, 1.0);
  layer.w.row(d).head(d) = extra * gaussian(s, 1, d, 1.0);
  layer.w.col(d) = gaussian(s, d + 1, 1, 1.0);  // never acts: the query's label is 0
  return layer;
}

TEST(LsaLayer, PredictionIsTheEmbeddingsAlgebra) {
  Stream s{3, 4};
  const int d = 3, m = 5;
  for (const bool query_is_key : {true, false}) {
    LsaLayer layer{gaussian(s, d + 1, 1, 1.0), gaussian(s, d + 1, d + 1, 1.0), query_is_key};
    const MatrixXd X = gaussian(s, m, d, 1.0);
    const VectorXd y = gaussian(s, m, 1, 1.0), q = gaussian(s, d, 1, 1.0);
    // E: columns (x_i; y_i), then (x_q; 0); S over the keys.
    MatrixXd e = MatrixXd::Zero(d + 1, m + 1);
    e.topLeftCorner(d, m) = X.transpose();
    e.row(d).head(m) = y.transpose();
    e.col(m).head(d) = q;
    const int keys = query_is_key ? m + 1 : m;
    const MatrixXd S = e.leftCols(keys) * e.leftCols(keys).transpose() / m;
    const double want = layer.p.dot(S * layer.w * e.col(m));
    EXPECT_NEAR(layer.predict(X, y, q), want, 1e-12 * (1.0 + std::abs(want))) << query_is_key;
  }
}

// Given X and x_q, the exact E[e^2] over w ~ N(mu, c^2 I) and eps ~ N(0, s^2 I) against 400,000
// sampled (w, eps), with every block random and a task mean and label noise.
TEST(LsaLayer, ErrorGivenDesignAndQueryMatchesSampledTasksAndNoise) {
  Stream s{11, 12};
  const int d = 4, m = 7;
  for (const bool query_is_key : {true, false}) {
    LsaLayer layer{gaussian(s, d + 1, 1, 0.5), gaussian(s, d + 1, d + 1, 0.5), query_is_key};
    const MatrixXd X = gaussian(s, m, d, 1.0);
    const VectorXd q = gaussian(s, d, 1, 1.0), mu = gaussian(s, d, 1, 0.7);
    const double c = 1.3, noise = 0.6;
    LayerError error(layer, m, mu, c, noise);
    const MatrixXd sigma = X.transpose() * X / m;
    const double exact = error(sigma, q);
    double sum = 0.0, sum2 = 0.0;
    const int n = 400000;
    Stream draws{13, 14};
    VectorXd w(d), y(m);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < d; ++j) w[j] = mu[j] + c * draws.normal();
      y.noalias() = X * w;
      for (int j = 0; j < m; ++j) y[j] += noise * draws.normal();
      const double e = layer.predict(X, y, q) - w.dot(q);
      sum += e * e;
      sum2 += e * e * e * e;
    }
    const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / (n - 1));
    EXPECT_NEAR(exact, mean, 4.0 * se) << "query_is_key " << query_is_key << ": exact " << exact << ", sampled "
                                       << mean << " +- " << se;
  }
}

// Given X alone, the error integrated over a Gaussian query x_q ~ N(0, L) as well, against the
// mean of the error given x_q over 400,000 sampled queries (every block random, a task mean and
// label noise, a non-diagonal L).
TEST(LsaLayer, ErrorGivenDesignMatchesSampledQueries) {
  Stream s{15, 16};
  const int d = 4, m = 6;
  for (const bool query_is_key : {true, false}) {
    LsaLayer layer{gaussian(s, d + 1, 1, 0.5), gaussian(s, d + 1, d + 1, 0.5), query_is_key};
    const MatrixXd X = gaussian(s, m, d, 1.0), f = gaussian(s, d, d, 0.6);
    const VectorXd mu = gaussian(s, d, 1, 0.7);
    LayerError error(layer, m, mu, 1.2, 0.4);
    const MatrixXd sigma = X.transpose() * X / m;
    error.set_query_factor(f.transpose(), false);
    const double exact = error.integrated(sigma);
    // A diagonal F gives the same as the general path.
    const VectorXd scales = f.col(0).cwiseAbs();
    error.set_query_factor(scales.asDiagonal().toDenseMatrix(), true);
    const double diagonal = error.integrated(sigma);
    error.set_query_factor(scales.asDiagonal().toDenseMatrix(), false);
    EXPECT_NEAR(diagonal, error.integrated(sigma), 1e-12 * diagonal);
    error.set_query_factor(f.transpose(), false);
    double sum = 0.0, sum2 = 0.0;
    const int n = 400000;
    Stream draws{17, 18};
    VectorXd z(d);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < d; ++j) z[j] = draws.normal();
      const double e = error(sigma, f * z);
      sum += e;
      sum2 += e * e;
    }
    const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / (n - 1));
    EXPECT_NEAR(exact, mean, 4.0 * se) << "query_is_key " << query_is_key << ": exact " << exact << ", sampled "
                                       << mean << " +- " << se;
  }
}

struct Case {
  const char* spectrum;
  const char* shift;
  int m;
};

// layer_near for the case's training spectrum (N = 10), drawn from a stream of `seed` and the shift.
LsaLayer layer_for(const Case& c, int d, std::uint64_t seed, double extra, double spread = 0.05) {
  Stream s{seed, text_key(c.shift)};
  return layer_near(make_population_loss(make_covariance(c.spectrum, d), 10), d, extra, s, spread);
}

// The condition's risks of `layer` (as the model when plain_model, by its forward pass; else
// the model is the linear form `linear`, empty for none).
ConditionRisks evaluate(const Case& c, const LsaLayer& layer, const MatrixXd& a_eff, bool plain_model, int prompts,
                        const MatrixXd& linear = MatrixXd(), int layer_stride = McSettings{}.layer_stride) {
  const int d = layer.d();
  const Covariance cov = make_covariance(c.spectrum, d);
  const PopulationLoss loss = make_population_loss(cov, 10);
  Stream fixed{1, text_key(c.shift)};
  const TestDistribution dist = make_test_distribution(expand_shift(c.shift).at(0), cov, c.m, fixed);
  LsaPredictors lsa{linear, loss.optimum_matrix(), loss.one_step_eta(), layer, {}};
  McSettings settings;
  settings.prompts = prompts;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  settings.layer_stride = layer_stride;
  const BlockPredictor model = [&layer](const PromptBlock& b, double* out) {
    for (int i = 0; i < b.count; ++i) {
      const MatrixXd X = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          b.x + static_cast<std::ptrdiff_t>(i) * b.m * b.d, b.m, b.d);
      out[i] = layer.predict(X, Eigen::Map<const VectorXd>(b.y + static_cast<std::ptrdiff_t>(i) * b.m, b.m),
                             Eigen::Map<const VectorXd>(b.q + static_cast<std::ptrdiff_t>(i) * b.d, b.d));
    }
  };
  return evaluate_condition(dist, lsa, settings, StreamKey{5, text_key(c.spectrum), text_key(c.shift)},
                            plain_model ? &model : nullptr, a_eff);
}

// Extra blocks zero: the layer is x_q^T A h with A = p_y W_xx^T, and its conditional estimate
// agrees with the closed form R(A) (risk_a_eff_theory) within 3 of its standard errors.
TEST(LsaLayer, WithoutExtraBlocksItIsTheClosedFormOfAEff) {
  const int d = 4;
  for (const Case& c : {Case{"isotropic", "none", 10}, Case{"power(1)", "covariate_scale(2)", 6},
                        Case{"power(1)", "label_noise(0.5)", 12}, Case{"isotropic", "task_mean(1)", 8}}) {
    const LsaLayer layer = layer_for(c, d, 21, 0.0);
    const MatrixXd a = layer.p[d] * layer.w.topLeftCorner(d, d).transpose();
    const ConditionRisks r = evaluate(c, layer, a, false, 4000);
    const double theory = r.value(Predictor::model, Quantity::theory);
    const double se = r.value(Predictor::model, Quantity::theory_se);
    ASSERT_TRUE(std::isfinite(r.a_eff_theory) && se > 0.0) << c.shift;
    EXPECT_NEAR(theory, r.a_eff_theory, 3.0 * se) << c.spectrum << " " << c.shift;
    // Prompt by prompt it is the conditional error of x_q^T A h given the design (§9): on every
    // prompt (layer_stride 1), the same estimate up to rounding, and its gap to A* that of the
    // two linear predictors.
    const ConditionRisks linear = evaluate(c, layer, a, false, 4000, a, 1);
    const double model = linear.mc[Predictor::model].mean, limit = linear.mc[Predictor::lsa_limit].mean;
    EXPECT_NEAR(linear.mc.layer.mean, model, 1e-10 * model) << c.shift;
    EXPECT_NEAR(linear.mc.layer_gap.mean, model - limit, 1e-10 * model) << c.shift;
    const ConditionRisks every = evaluate(c, layer, a, false, 4000, MatrixXd(), 1);
    EXPECT_NEAR(every.value(Predictor::model, Quantity::theory), every.theory_of(Predictor::lsa_limit) + model - limit,
                1e-10 * model)
        << c.shift;
  }
}

// Extra blocks not zero: the conditional estimate of the layer's risk agrees with plain
// Monte-Carlo of the same layer's predictions on the same prompts within 3 standard errors (of
// the difference), with a standard error several times smaller; for every query law, Monte-Carlo-
// only ones included.
TEST(LsaLayer, WithExtraBlocksItAgreesWithPlainMonteCarloOfTheLayer) {
  const int d = 4;
  for (const Case& c : {Case{"isotropic", "none", 10}, Case{"power(1)", "covariate_scale(2)", 6},
                        Case{"isotropic", "label_noise(0.5)", 12}, Case{"power(1)", "task_mean(1)", 8},
                        Case{"random_exp", "covariate_random(2)", 10}, Case{"isotropic", "orthogonal_query", 3},
                        Case{"isotropic", "random_quadrants", 10}}) {
    const LsaLayer layer = layer_for(c, d, 22, 0.15);
    const ConditionRisks r = evaluate(c, layer, MatrixXd(), true, 20000);
    const double theory = r.value(Predictor::model, Quantity::theory);
    const double theory_se = r.value(Predictor::model, Quantity::theory_se);
    const RiskEstimate plain = r.mc[Predictor::model];
    const double se = std::hypot(theory_se, plain.se);
    EXPECT_NEAR(theory, plain.mean, 3.0 * se) << c.spectrum << " " << c.shift << ": conditional " << theory << " +- "
                                              << theory_se << ", plain " << plain.mean << " +- " << plain.se;
    EXPECT_LT(theory_se, plain.se / 2.0) << c.spectrum << " " << c.shift;
    RecordProperty(std::string(c.shift) + "_se_ratio", std::to_string(plain.se / theory_se));
    std::printf("%-12s %-20s conditional %.6g +- %.3g, plain %.6g +- %.3g (se ratio %.1f)\n", c.spectrum, c.shift,
                theory, theory_se, plain.mean, plain.se, plain.se / theory_se);
  }
}

// Paired with A* on every layer_stride-th prompt (the default), the layer's estimate agrees with
// the one from its own error on every prompt within 3 of their standard errors; where R(A*) has
// its closed form, with a standard error several times smaller although it evaluates the layer on
// an eighth of the prompts. A_eff within about 3% of A* and extra blocks of about 0.01, as sampled
// training leaves them.
TEST(LsaLayer, PairedWithAStarOnEveryEighthPromptItAgreesAndIsPreciser) {
  const int d = 4;
  for (const Case& c : {Case{"isotropic", "none", 10}, Case{"power(1)", "covariate_scale(2)", 6},
                        Case{"isotropic", "label_noise(0.5)", 12}, Case{"random_exp", "covariate_random(2)", 10}}) {
    const LsaLayer layer = layer_for(c, d, 23, 0.01, 0.01);
    const ConditionRisks paired = evaluate(c, layer, MatrixXd(), false, 8000);
    const ConditionRisks every = evaluate(c, layer, MatrixXd(), false, 8000, MatrixXd(), 1);
    const double a = paired.value(Predictor::model, Quantity::theory), a_se = paired.value(Predictor::model, Quantity::theory_se);
    const double b = every.mc.layer.mean, b_se = every.mc.layer.se;
    EXPECT_NEAR(a, b, 3.0 * std::hypot(a_se, b_se)) << c.spectrum << " " << c.shift;
    if (paired.closed_form) {
      EXPECT_LT(a_se, b_se / 3.0) << c.spectrum << " " << c.shift;
    }
    std::printf("%-12s %-20s paired %.6g +- %.3g, every prompt %.6g +- %.3g\n", c.spectrum, c.shift, a, a_se, b, b_se);
  }
}

}  // namespace
