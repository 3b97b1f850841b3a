// Every shift of docs/theory.md §7: parsing, closed form against Monte-Carlo, and the
// Monte-Carlo-only conditions; baselines on the same prompts; determinism of the streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "covariance.hpp"
#include "evaluation.hpp"
#include "gd_steps.hpp"
#include "input_error.hpp"
#include "population_loss.hpp"
#include "shifts.hpp"

namespace {

using namespace icl;
using Eigen::MatrixXd;

struct TrainedModel {
  Covariance cov;
  PopulationLoss loss;
  LsaPredictors lsa;
};

// A model "trained" on `spectrum`: A* plus a fixed perturbation, so that the trained and the
// limit predictors differ.
TrainedModel setup(const std::string& spectrum, int d, int n) {
  TrainedModel s{make_covariance(spectrum, d), {}, {}};
  s.loss = make_population_loss(s.cov, n);
  s.lsa.limit = s.loss.optimum_matrix();
  s.lsa.trained = s.lsa.limit + 0.05 * MatrixXd::Ones(d, d);
  s.lsa.gd_eta = s.loss.one_step_eta();
  return s;
}

// The test distribution of the first condition `shift` expands into, with prompts of length m.
TestDistribution distribution(const TrainedModel& s, const std::string& shift, int m) {
  Stream stream{9, text_key(shift)};
  return make_test_distribution(expand_shift(shift).at(0), s.cov, m, stream);
}

ConditionRisks evaluate(const TrainedModel& s, const std::string& shift, int m, int prompts) {
  const TestDistribution dist = distribution(s, shift, m);
  McSettings settings;
  settings.prompts = prompts;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  return evaluate_condition(dist, s.lsa, settings, StreamKey{1, text_key(shift), 7});
}

class ClosedFormShift : public ::testing::TestWithParam<const char*> {};

// z-tests at 4.5 standard errors (about 7 in a million to fail by chance per check), on a
// non-isotropic training covariance so that rotations and flips change the answer.
TEST_P(ClosedFormShift, TheoryMatchesMonteCarlo) {
  const TrainedModel s = setup("power(1)", 6, 12);
  const ConditionRisks r = evaluate(s, GetParam(), 9, 30000);
  ASSERT_TRUE(std::isfinite(r.theory_of(Predictor::model)));
  EXPECT_NEAR(r.mc[Predictor::model].mean, r.theory_of(Predictor::model), 4.5 * r.mc[Predictor::model].se);
  EXPECT_NEAR(r.mc[Predictor::lsa_limit].mean, r.theory_of(Predictor::lsa_limit), 4.5 * r.mc[Predictor::lsa_limit].se);
  EXPECT_NEAR(r.mc[Predictor::gd].mean, r.theory_of(Predictor::gd), 4.5 * r.mc[Predictor::gd].se);
  // The zero predictor's error given the design does not depend on it: exact up to rounding.
  EXPECT_NEAR(r.mc[Predictor::zero].mean, r.zero(), 4.5 * r.mc[Predictor::zero].se + 1e-12 * r.zero());
  EXPECT_GT(r.mc[Predictor::model].se, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Shifts, ClosedFormShift,
                         ::testing::Values("none", "task_mean(1.5)", "task_scale(2)", "label_noise(0.5)",
                                           "query_scale(2)", "covariate_scale(0.5)", "prompt_scale(2)",
                                           "covariate_rotate(0.7)", "covariate_flip", "covariate_isotropic",
                                           "covariate_skewed", "half_subspace",
                                           // Composed: each part's piece of the law, in order.
                                           "covariate_scale(2)+label_noise(0.5)", "task_mean(1)+query_scale(0.5)",
                                           "covariate_isotropic+covariate_rotate(0.7)+task_scale(2)"),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// A composition is its parts applied in turn: the law of covariate_scale(2)+label_noise(0.5) is
// covariate_scale(2)'s with label_noise(0.5)'s noise; parameter lists give every combination; `none`
// and a shift twice are refused; a part with its own covariance frees the key of the training one.
TEST(Shifts, ComposedShiftsApplyEachPartInOrder) {
  const std::vector<Shift> both = expand_shift("covariate_scale(0.5, 2) + label_noise(0.5)");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].text, "covariate_scale(2)+label_noise(0.5)");
  const TrainedModel s = setup("power(1)", 4, 8);
  Stream a{1}, b{1};
  const TestDistribution composed = make_test_distribution(both[1], s.cov, 6, a);
  TestDistribution alone = make_test_distribution(expand_shift("covariate_scale(2)")[0], s.cov, 6, b);
  EXPECT_EQ(composed.prompt_scale, 2.0);
  EXPECT_EQ(composed.query_scale, 2.0);
  EXPECT_EQ(composed.noise_sd, 0.5);
  alone.noise_sd = 0.5;
  EXPECT_EQ(composed.moments()->lambda_p, alone.moments()->lambda_p);
  EXPECT_THROW(expand_shift("none+label_noise(1)"), InputError);
  EXPECT_THROW(expand_shift("label_noise(1)+label_noise(2)"), InputError);
  EXPECT_THROW(expand_shift("label_noise(1)+"), InputError);
  EXPECT_TRUE(test_law_uses_training_covariance(expand_shift("covariate_scale(2)+label_noise(1)")[0]));
  EXPECT_FALSE(test_law_uses_training_covariance(expand_shift("label_noise(1)+covariate_isotropic")[0]));
}

TEST(Shifts, CovariateScaleBreaksTheLsaButNotOls) {
  // The paper's contrast: scaling every x by c makes the LSA predict about c^2 <w, x_q>,
  // while least squares is unaffected.
  const TrainedModel s = setup("isotropic", 5, 40);
  const ConditionRisks base = evaluate(s, "none", 40, 4000);
  const ConditionRisks scaled = evaluate(s, "covariate_scale(3)", 40, 4000);
  EXPECT_GT(scaled.theory_of(Predictor::lsa_limit) / scaled.zero(), 10.0 * base.theory_of(Predictor::lsa_limit) / base.zero());
  EXPECT_LT(scaled.mc[Predictor::ols].mean, 1e-20);
  EXPECT_LT(base.mc[Predictor::ols].mean, 1e-20);
}

TEST(Shifts, MonteCarloOnlyConditionsHaveNoTheory) {
  const TrainedModel s = setup("power(1)", 6, 12);
  for (const char* shift : {"orthogonal_query", "overlapping_query", "random_quadrants",
                            "opposite_quadrants", "covariate_random(4)"}) {
    const ConditionRisks r = evaluate(s, shift, 4, 2000);
    EXPECT_TRUE(std::isnan(r.theory_of(Predictor::model))) << shift;
    EXPECT_TRUE(std::isnan(r.theory_of(Predictor::lsa_limit))) << shift;
    EXPECT_TRUE(std::isnan(r.theory_of(Predictor::gd))) << shift;
    EXPECT_TRUE(std::isfinite(r.mc[Predictor::model].mean)) << shift;
    EXPECT_TRUE(std::isfinite(r.mc[Predictor::knn].mean)) << shift;
    EXPECT_DOUBLE_EQ(r.zero(), r.mc[Predictor::zero].mean) << shift;
  }
}

TEST(Shifts, OrthogonalQueryIsUndefinedWhenPromptsSpanTheSpace) {
  const TrainedModel s = setup("isotropic", 4, 8);
  const ConditionRisks r = evaluate(s, "orthogonal_query", 4, 100);
  EXPECT_TRUE(std::isnan(r.mc[Predictor::model].mean));
  EXPECT_TRUE(std::isnan(r.mc[Predictor::ols].mean));
  EXPECT_TRUE(std::isnan(r.zero()));
}

TEST(Shifts, OrthogonalQueryDefeatsLeastSquares) {
  // A query orthogonal to every prompt example: min-norm OLS predicts exactly 0, so its error
  // equals the zero predictor's on every prompt.
  const TrainedModel s = setup("isotropic", 8, 8);
  const ConditionRisks r = evaluate(s, "orthogonal_query", 3, 3000);
  EXPECT_NEAR(r.mc[Predictor::ols].mean, r.mc[Predictor::zero].mean, 1e-9 * r.mc[Predictor::zero].mean);
}

TEST(Shifts, OverlappingQueryIsInterpolatedByOlsAndOneNearestNeighbour) {
  // x_q is one of the noiseless prompt examples: min-norm OLS interpolates it (even for
  // M < d) and its nearest neighbour is itself.
  TrainedModel s = setup("isotropic", 6, 12);
  const TestDistribution dist = distribution(s, "overlapping_query", 4);
  McSettings settings;
  settings.prompts = 500;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  settings.knn_ks = {1};
  const McRisks r = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  EXPECT_LT(r[Predictor::ols].mean, 1e-20);
  EXPECT_LT(r[Predictor::knn].mean, 1e-25);  // y_j and <w, x_q> differ only by rounding
  EXPECT_GT(r[Predictor::model].mean, 0.1);
}

TEST(Shifts, RandomCovarianceNormaliserIsScaledTrace) {
  // E<w, x_q>^2 = E tr(Lambda) = c d for Lambda = c diag(Exp(1)) and w ~ N(0, I).
  const TrainedModel s = setup("isotropic", 5, 10);
  const ConditionRisks r = evaluate(s, "covariate_random(4)", 10, 40000);
  EXPECT_NEAR(r.zero(), 4.0 * 5, 4.5 * r.mc[Predictor::zero].se);
  const TrainedModel random_training = setup("random_uniform(0.5, 1.5)", 5, 10);
  const ConditionRisks none = evaluate(random_training, "none", 10, 40000);
  EXPECT_NEAR(none.zero(), 5.0, 4.5 * none.mc[Predictor::zero].se);
}

TEST(Shifts, QuadrantsConfineThePromptToOneOrthant) {
  // The quadrant shifts move the covariates but keep their second moments diagonal: with
  // w ~ N(0, I) the zero predictor's error is still tr(Lambda) = d.
  const TrainedModel s = setup("isotropic", 4, 8);
  for (const char* shift : {"random_quadrants", "opposite_quadrants"}) {
    const ConditionRisks r = evaluate(s, shift, 8, 40000);
    EXPECT_NEAR(r.zero(), 4.0, 4.5 * r.mc[Predictor::zero].se) << shift;
  }
  // With the query in the opposite orthant, averaging predicts the wrong sign of the
  // prompt's mean direction: it does worse than with an unrestricted query.
  const ConditionRisks random = evaluate(s, "random_quadrants", 8, 40000);
  const ConditionRisks opposite = evaluate(s, "opposite_quadrants", 8, 40000);
  EXPECT_GT(opposite.mc[Predictor::avg].mean, random.mc[Predictor::avg].mean + 4.5 * (opposite.mc[Predictor::avg].se + random.mc[Predictor::avg].se));
}

TEST(MonteCarlo, OlsIsExactWhenNoiselessAndRightBelowD) {
  const TrainedModel s = setup("isotropic", 10, 20);
  // M >= d, noiseless: exact interpolation of w.
  EXPECT_LT(evaluate(s, "none", 10, 2000).mc[Predictor::ols].mean, 1e-18);
  EXPECT_LT(evaluate(s, "none", 25, 2000).mc[Predictor::ols].mean, 1e-20);
  // M < d, isotropic: the min-norm solution is w's projection on a random M-dimensional
  // subspace, so the error is E||(I - P) w||^2 = d - M.
  const ConditionRisks r = evaluate(s, "none", 4, 40000);
  EXPECT_NEAR(r.mc[Predictor::ols].mean, 10.0 - 4.0, 4.5 * r.mc[Predictor::ols].se);
  // Prompts and query in a random 5-dimensional subspace: more examples than its dimension
  // interpolate exactly (the rounding beside the subspace is not taken for rank), also at
  // M = 6, one more than the rank, where the design is nearly singular most often.
  for (const int m : {6, 8, 12}) EXPECT_LT(evaluate(s, "half_subspace", m, 20000).mc[Predictor::ols].mean, 1e-20) << m;
  const TrainedModel s3 = setup("isotropic", 3, 8);
  EXPECT_LT(evaluate(s3, "half_subspace", 2, 20000).mc[Predictor::ols].mean, 1e-20);
}

TEST(MonteCarlo, RidgeShrinksTowardsZeroAsLambdaGrows) {
  const TrainedModel s = setup("isotropic", 5, 10);
  const TestDistribution dist = distribution(s, "none", 10);
  McSettings settings;
  settings.prompts = 3000;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  settings.ridge_lambdas = {1e6};
  const McRisks heavy = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  EXPECT_NEAR(heavy[Predictor::ridge].mean, heavy[Predictor::zero].mean, 1e-3 * heavy[Predictor::zero].mean);
  settings.ridge_lambdas = {1e-9};
  const McRisks light = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  EXPECT_LT(std::abs(light[Predictor::ridge].mean - light[Predictor::ols].mean), 1e-6 * light[Predictor::zero].mean);
}

// Prompt i's design draws from (seed, the law of its designs, i), the rest of it from (seed,
// covariance, condition, i): the same keys, the same numbers; another condition of the same design
// law sees the same designs (its conditional estimates equal) and its own tasks, queries and noise
// (k-NN, sampled plainly, differs); another seed, other designs.
TEST(MonteCarlo, StreamsAreKeyedNotOrdered) {
  const TrainedModel s = setup("power(1)", 5, 10);
  const TestDistribution dist = distribution(s, "label_noise(0.3)", 7);
  McSettings settings;
  settings.prompts = 500;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  const McRisks a = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  const McRisks other = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 4});
  const McRisks seed = monte_carlo(dist, s.lsa, settings, StreamKey{9, 2, 3});
  const McRisks b = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  EXPECT_EQ(a[Predictor::model].mean, b[Predictor::model].mean);  // bitwise
  EXPECT_EQ(a[Predictor::knn].se, b[Predictor::knn].se);
  EXPECT_EQ(a[Predictor::model].mean, other[Predictor::model].mean);
  EXPECT_EQ(a[Predictor::ridge].se, other[Predictor::ridge].se);
  EXPECT_NE(a[Predictor::knn].mean, other[Predictor::knn].mean);
  EXPECT_NE(a[Predictor::model].mean, seed[Predictor::model].mean);
}

// Sampled squared errors of a linear predictor, through the path every nonlinear model takes
// (a BlockPredictor): the plain Monte-Carlo estimate to hold the conditional one against.
BlockPredictor plain(std::function<double(const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q)> f) {
  return [f](const PromptBlock& block, double* out) {
    for (int b = 0; b < block.count; ++b) {
      using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      const MatrixXd x = Eigen::Map<const RowMajor>(block.x + static_cast<std::ptrdiff_t>(b) * block.m * block.d, block.m, block.d);
      const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(block.y + static_cast<std::ptrdiff_t>(b) * block.m, block.m);
      const Eigen::VectorXd q = Eigen::Map<const Eigen::VectorXd>(block.q + static_cast<std::ptrdiff_t>(b) * block.d, block.d);
      out[b] = f(x, y, q);
    }
  };
}

// Conditions whose laws draw the same designs, evaluated in one shared pass, give bitwise what each
// gives alone: with and without a target (each stops where it would alone), a sampled model (a
// BlockPredictor), a whole layer, the L-step GD reference, a fixed, a rotated (mixed) and a
// per-prompt law, queries that are not independent, and quadrant designs (random_quadrants and
// opposite_quadrants share theirs). Conditions of other design laws are refused.
TEST(MonteCarlo, SharedDesignsGiveWhatEachConditionGivesAlone) {
  const std::vector<std::vector<std::string>> families = {
      {"none", "label_noise(0.5)", "task_mean(1)", "query_scale(2)", "orthogonal_query", "overlapping_query",
       "task_scale(0.5)+label_noise(1)"},
      {"covariate_rotate(0.5)", "covariate_rotate(0.5)+label_noise(0.5)", "covariate_rotate(0.5)+task_mean(1)",
       "covariate_rotate(0.5)+query_scale(2)"},
      {"random_quadrants", "opposite_quadrants", "random_quadrants+label_noise(1)"}};
  for (const char* spectrum : {"power(1)", "random_exp"})
    for (const std::vector<std::string>& shifts : families) {
      TrainedModel s = setup(spectrum, 6, 12);
      // A whole layer near A*: W^PV's last row (0.02, ..., 1), W^KQ's top-left block 0.9 A*.
      s.lsa.layer.p = Eigen::VectorXd::Constant(7, 0.02);
      s.lsa.layer.p[6] = 1.0;
      s.lsa.layer.w = MatrixXd::Zero(7, 7);
      s.lsa.layer.w.topLeftCorner(6, 6) = 0.9 * s.lsa.limit;
      s.lsa.layer.w(6, 0) = 0.05;
      const BlockPredictor model = plain([&](const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q) {
        return q.dot(s.lsa.limit * (x.transpose() * y)) / static_cast<double>(x.rows());
      });
      for (const int m : {4, 9}) {
        // At M >= d with the L-step GD reference too (below d the d x M forms, without it).
        LsaPredictors lsa = s.lsa;
        if (m == 9) lsa.gd_steps = GdSteps{MatrixXd::Identity(6, 6), {0.3}};
        std::vector<TestDistribution> dists;
        for (const std::string& shift : shifts) dists.push_back(distribution(s, shift, m));
        for (const TestDistribution& d : dists) ASSERT_EQ(design_key(d), design_key(dists.front()));
        for (const double target : {0.0, 0.02})
          for (const BlockPredictor* with : {static_cast<const BlockPredictor*>(nullptr), &model}) {
            SCOPED_TRACE(std::string(spectrum) + ", M = " + std::to_string(m) + ", target " + std::to_string(target) +
                         (with ? ", sampled model" : ""));
            McSettings settings;
            settings.prompts = 700;
            settings.target_rel_se = target;
            settings.ridge_lambdas = {0.01, 1.0};
            settings.knn_ks = {0, 3};
            std::vector<McCondition> conditions;
            for (std::size_t c = 0; c < dists.size(); ++c) conditions.push_back(McCondition{&dists[c], StreamKey{1, 2, 10 + c}});
            const auto shared = monte_carlo_shared(conditions, lsa, settings, with);
            for (std::size_t c = 0; c < dists.size(); ++c) {
              const auto alone = monte_carlo_each(dists[c], lsa, settings, conditions[c].key, with);
              ASSERT_EQ(shared[c].size(), alone.size());
              for (std::size_t pair = 0; pair < alone.size(); ++pair) {
                EXPECT_EQ(shared[c][pair].prompts, alone[pair].prompts) << shifts[c];
                for (std::size_t i = 0; i < kPredictorCount; ++i) {
                  // NaN where not estimated: compared by its bits.
                  EXPECT_EQ(std::bit_cast<std::uint64_t>(shared[c][pair].of[i].mean), std::bit_cast<std::uint64_t>(alone[pair].of[i].mean))
                      << shifts[c] << " " << kPredictors[i].name;
                  EXPECT_EQ(std::bit_cast<std::uint64_t>(shared[c][pair].of[i].se), std::bit_cast<std::uint64_t>(alone[pair].of[i].se))
                      << shifts[c] << " " << kPredictors[i].name;
                }
                for (const auto& [a, b] : {std::pair{shared[c][pair].layer, alone[pair].layer},
                                           std::pair{shared[c][pair].layer_gap, alone[pair].layer_gap}}) {
                  EXPECT_EQ(std::bit_cast<std::uint64_t>(a.mean), std::bit_cast<std::uint64_t>(b.mean)) << shifts[c];
                  EXPECT_EQ(std::bit_cast<std::uint64_t>(a.se), std::bit_cast<std::uint64_t>(b.se)) << shifts[c];
                }
              }
            }
          }
      }
    }
  const TrainedModel s = setup("power(1)", 6, 12);
  const TestDistribution none = distribution(s, "none", 8), scaled = distribution(s, "covariate_scale(2)", 8);
  EXPECT_NE(design_key(none), design_key(scaled));
  EXPECT_NE(design_key(none), design_key(distribution(s, "none", 9)));
  // Laws that differ in a parameter of the design draw other designs.
  for (const auto& [a, b] : {std::pair{"covariate_random(0.5)", "covariate_random(2)"}, std::pair{"covariate_rotate(0.3)", "covariate_rotate(0.6)"},
                             std::pair{"prompt_scale(2)", "prompt_scale(3)"}, std::pair{"random_quadrants", "none"}})
    EXPECT_NE(design_key(distribution(s, a, 8)), design_key(distribution(s, b, 8))) << a << " / " << b;
  EXPECT_THROW(monte_carlo_shared({McCondition{&none, StreamKey{1, 2, 3}}, McCondition{&scaled, StreamKey{1, 2, 4}}}, s.lsa, McSettings{}),
               std::invalid_argument);
}

// k-NN as the definition says: sort every point by its distance to the query (ties to the lower
// index), average the k nearest labels nearest first. Through the model's path it gives bitwise the
// k-NN estimate, for k = 1 and 3 (the one-pass selection), 20 (the partial sort) and M, alone and
// among other k, also where the query is one of the points (overlapping_query: at distance 0).
TEST(MonteCarlo, NearestNeighboursAreTheDefinitions) {
  const TrainedModel s = setup("power(1)", 4, 8);
  for (const char* shift : {"none", "overlapping_query"})
    for (const int k : {1, 3, 20, 30}) {
      const TestDistribution dist = distribution(s, shift, 30);
      const BlockPredictor knn = plain([k](const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q) {
        std::vector<std::pair<double, int>> by_distance;
        for (int i = 0; i < x.rows(); ++i) {
          double d2 = 0.0;
          for (int j = 0; j < x.cols(); ++j) d2 += (x(i, j) - q[j]) * (x(i, j) - q[j]);
          by_distance.emplace_back(d2, i);
        }
        std::sort(by_distance.begin(), by_distance.end());
        double sum = 0.0;
        for (int i = 0; i < k; ++i) sum += y[by_distance[static_cast<std::size_t>(i)].second];
        return sum / k;
      });
      McSettings settings;
      settings.prompts = 300;
      settings.target_rel_se = 0.0;  // exactly settings.prompts
      settings.knn_ks = {k};
      const McRisks r = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3}, &knn);
      EXPECT_EQ(r[Predictor::knn].mean, r[Predictor::model].mean) << shift << " k = " << k;
      EXPECT_EQ(r[Predictor::knn].se, r[Predictor::model].se) << shift << " k = " << k;
      // Among several k in one pass (the neighbours of the largest found once, by the partial sort).
      settings.knn_ks = {30, 1, k, 20};
      const std::vector<McRisks> each = monte_carlo_each(dist, s.lsa, settings, StreamKey{1, 2, 3});
      EXPECT_EQ(each[2][Predictor::knn].mean, r[Predictor::knn].mean) << shift << " k = " << k;
      EXPECT_EQ(each[2][Predictor::knn].se, r[Predictor::knn].se) << shift << " k = " << k;
    }
}

// The LSA form x_q^T A (1/M) X^T y, sampled plainly.
BlockPredictor plain_lsa(const MatrixXd& a) {
  return plain([a](const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q) {
    return q.dot(a * (x.transpose() * y)) / static_cast<double>(x.rows());
  });
}

// The conditional estimates (docs/theory.md §9) are unbiased where no closed form exists to
// check them: a per-prompt covariance law, prompts in one orthant, label noise and a task mean,
// for the LSA forms, OLS and ridge (M >= d: through L^-1's and R^-1's columns where the test law is
// unmixed, by solves where it is mixed, as covariate_rotate mixes it).
TEST(MonteCarlo, ConditionalErrorsAgreeWithSampledErrorsWithoutAClosedForm) {
  for (const char* shift : {"random_quadrants", "label_noise(0.7)", "task_mean(2)", "covariate_rotate(0.5)+label_noise(0.7)+task_mean(1)"}) {
    const TrainedModel s = setup("random_exp", 5, 10);
    const TestDistribution dist = distribution(s, shift, 7);
    ASSERT_EQ(dist.mix_identity, std::string(shift).find("rotate") == std::string::npos);
    McSettings settings;
    settings.prompts = 40000;
    settings.target_rel_se = 0.0;  // exactly settings.prompts
    const double lambda = settings.ridge_lambdas.front();
    const BlockPredictor lsa = plain_lsa(s.lsa.limit);
    const BlockPredictor ols = plain([](const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q) {
      return q.dot(x.completeOrthogonalDecomposition().solve(y));
    });
    const BlockPredictor ridge = plain([lambda](const MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& q) {
      const MatrixXd r = x.transpose() * x + lambda * static_cast<double>(x.rows()) * MatrixXd::Identity(x.cols(), x.cols());
      return q.dot(r.ldlt().solve(x.transpose() * y));
    });
    for (const auto& [name, model, predictor] :
         {std::tuple{"lsa", &lsa, Predictor::lsa_limit}, std::tuple{"ols", &ols, Predictor::ols}, std::tuple{"ridge", &ridge, Predictor::ridge}}) {
      const McRisks r = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3}, model);
      const RiskEstimate& conditional = r[predictor];
      // (plus rounding: OLS interpolating a noiseless prompt is exactly 0 given the design)
      EXPECT_NEAR(r[Predictor::model].mean, conditional.mean, 4.5 * std::hypot(r[Predictor::model].se, conditional.se) + 1e-12 * r[Predictor::zero].mean)
          << shift << " " << name;
      if (conditional.mean > 1e-12) {  // not OLS interpolating a noiseless prompt (M >= d): zero up to rounding
        EXPECT_LT(conditional.se, r[Predictor::model].se) << shift << " " << name;
      }
    }
  }
}

// What conditioning buys at d = 20, M = 40 on isotropic prompts: the LSA's standard error per
// prompt falls more than tenfold (a hundredfold fewer prompts for the same precision).
TEST(MonteCarlo, ConditioningCutsTheLsaStandardErrorTenfold) {
  const TrainedModel s = setup("isotropic", 20, 40);
  const TestDistribution dist = distribution(s, "none", 40);
  McSettings settings;
  settings.prompts = 4000;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  const BlockPredictor lsa = plain_lsa(s.lsa.limit);
  const McRisks r = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3}, &lsa);
  EXPECT_GT(r[Predictor::model].se, 10.0 * r[Predictor::lsa_limit].se);
  EXPECT_NEAR(r[Predictor::model].mean, r[Predictor::lsa_limit].mean, 4.5 * std::hypot(r[Predictor::model].se, r[Predictor::lsa_limit].se));
}

// eval.target_rel_se: sampling stops at the first check where every estimate the target waits for
// (eval.target_predictors) is precise enough, at the same prompt count every time; an unreachable
// target uses the cap.
TEST(MonteCarlo, TargetRelativeStandardErrorStopsEarlyAndDeterministically) {
  const TrainedModel s = setup("power(1)", 5, 10);
  const TestDistribution dist = distribution(s, "label_noise(0.3)", 10);
  McSettings settings;
  settings.prompts = 200000;
  settings.target_rel_se = 0.02;
  settings.target_waits.fill(true);  // k-NN too
  const McRisks a = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  const McRisks b = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  EXPECT_LT(a.prompts, settings.prompts);
  EXPECT_EQ(a.prompts, b.prompts);
  EXPECT_EQ(a[Predictor::knn].mean, b[Predictor::knn].mean);
  for (const RiskEstimate& e : {a[Predictor::model], a[Predictor::lsa_limit], a[Predictor::ols], a[Predictor::ridge], a[Predictor::gd], a[Predictor::avg], a[Predictor::knn]})
    EXPECT_LE(e.se, 0.02 * e.mean);
  // By default the target does not wait for k-NN, sampled plainly: far fewer prompts, every
  // conditional estimate still within 2%, k-NN's reported with its own (larger) standard error.
  McSettings linear = settings;
  linear.target_waits = kTargetWaitsDefault;
  const McRisks l = monte_carlo(dist, s.lsa, linear, StreamKey{1, 2, 3});
  EXPECT_LT(2 * l.prompts, a.prompts) << l.prompts << " vs " << a.prompts;  // 3322 against 9585 prompts
  for (const RiskEstimate& e : {l[Predictor::model], l[Predictor::lsa_limit], l[Predictor::ols], l[Predictor::ridge], l[Predictor::gd], l[Predictor::avg]})
    EXPECT_LE(e.se, 0.02 * e.mean);
  EXPECT_GT(l[Predictor::knn].se, 0.02 * l[Predictor::knn].mean);
  // Waiting for k-NN alone: it decides the count; without a target the same prompts give the
  // same estimates.
  McSettings fixed = settings;
  fixed.target_rel_se = 0.0;
  fixed.prompts = static_cast<int>(a.prompts);
  const McRisks c = monte_carlo(dist, s.lsa, fixed, StreamKey{1, 2, 3});
  EXPECT_EQ(c[Predictor::knn].mean, a[Predictor::knn].mean);
  EXPECT_EQ(c[Predictor::model].mean, a[Predictor::model].mean);
  settings.prompts = 3000;
  settings.target_rel_se = 1e-9;
  EXPECT_EQ(monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3}).prompts, 3000);
}

// Ridge over a list of lambdas and k-NN over a list of k (eval.ridge_lambda, eval.knn_k): one
// pass over the prompts gives every pair exactly what that pair alone gives, bitwise, with a
// fixed count and with a target (each pair stopping where it would alone: waiting for ridge at a
// tiny lambda, near OLS, or for k-NN at k = 1 takes more prompts), for conditional estimates
// (an independent query; M > d and M < d) and plainly sampled ones (orthogonal_query), and for a
// sampled model evaluated a block at a time.
TEST(MonteCarlo, RidgeAndKnnListsInOnePassMatchEachPairAlone) {
  const TrainedModel s = setup("power(1)", 6, 12);
  const BlockPredictor lsa = plain_lsa(s.lsa.trained);
  struct Case {
    const char* shift;
    int m;
    double target;
    bool waits_for_all;
    const BlockPredictor* model;
  };
  for (const Case& c : {Case{"label_noise(0.3)", 12, 0.0, false, nullptr}, Case{"label_noise(0.3)", 12, 0.02, true, nullptr},
                        Case{"covariate_scale(2)", 4, 0.02, true, nullptr}, Case{"orthogonal_query", 4, 0.05, false, nullptr},
                        Case{"none", 12, 0.02, true, &lsa}}) {
    SCOPED_TRACE(std::string(c.shift) + ", M = " + std::to_string(c.m) + ", target " + std::to_string(c.target));
    const TestDistribution dist = distribution(s, c.shift, c.m);
    McSettings settings;
    settings.prompts = 20000;
    settings.target_rel_se = c.target;
    if (c.waits_for_all) settings.target_waits.fill(true);
    settings.ridge_lambdas = {1e-6, 0.1, 10.0};
    settings.knn_ks = {0, 1, 3};
    const std::vector<McRisks> each = monte_carlo_each(dist, s.lsa, settings, StreamKey{1, 2, 3}, c.model);
    ASSERT_EQ(each.size(), 9u);
    std::set<std::int64_t> counts;
    for (std::size_t l = 0; l < 3; ++l)
      for (std::size_t j = 0; j < 3; ++j) {
        McSettings alone = settings;
        alone.ridge_lambdas = {settings.ridge_lambdas[l]};
        alone.knn_ks = {settings.knn_ks[j]};
        const McRisks a = monte_carlo(dist, s.lsa, alone, StreamKey{1, 2, 3}, c.model);
        const McRisks& e = each[l * 3 + j];
        counts.insert(e.prompts);
        EXPECT_EQ(e.prompts, a.prompts) << l << ", " << j;
        for (std::size_t i = 0; i < kPredictorCount; ++i) {
          // Bitwise, NaN where not estimated (k-NN at k = 0).
          EXPECT_TRUE(e.of[i].mean == a.of[i].mean || (std::isnan(e.of[i].mean) && std::isnan(a.of[i].mean)))
              << kPredictors[i].name << " (" << l << ", " << j << "): " << e.of[i].mean << " vs " << a.of[i].mean;
          EXPECT_TRUE(e.of[i].se == a.of[i].se || (std::isnan(e.of[i].se) && std::isnan(a.of[i].se))) << kPredictors[i].name;
        }
      }
    // Where the target waits for every predictor, the pairs stop at different counts.
    if (c.waits_for_all) {
      EXPECT_GT(counts.size(), 1u);
    }
    if (c.target == 0.0) {
      EXPECT_EQ(counts, std::set<std::int64_t>{20000});
    }
  }
  EXPECT_THROW(monte_carlo(distribution(s, "none", 12), s.lsa, [] {
                 McSettings two;
                 two.ridge_lambdas = {0.1, 1.0};
                 return two;
               }(), StreamKey{1, 2, 3}),
               std::invalid_argument);
}

// Below d (M < d, X X^T of full rank) the conditional errors take the d x M forms (no d x d
// products); with the L-step GD reference they take the d x d ones through Sigma. On the same
// prompts the two agree to rounding, for every linear predictor, with label noise (the ||F^T B||^2
// term), a task mean (the G mu term), a rotated test law (F^T not diagonal), a law drawn per
// prompt, and several ridge lambdas.
TEST(MonteCarlo, WideFormsBelowDAgreeWithTheSquareForms) {
  for (const char* spectrum : {"power(1)", "random_exp"}) {
    const TrainedModel s = setup(spectrum, 12, 24);
    ASSERT_EQ(s.cov.random(), std::string(spectrum) == "random_exp");
    LsaPredictors with_steps = s.lsa;
    with_steps.gd_steps = GdSteps{MatrixXd::Identity(12, 12), {0.3}};
    for (const char* shift : {"none", "label_noise(0.3)", "task_mean(1)", "covariate_random(1)", "covariate_scale(2)+label_noise(1)"})
      for (const int m : {3, 8, 11}) {
        SCOPED_TRACE(std::string(spectrum) + ", " + shift + ", M = " + std::to_string(m));
        const TestDistribution dist = distribution(s, shift, m);
        McSettings settings;
        settings.prompts = 300;
        settings.target_rel_se = 0.0;  // exactly settings.prompts
        settings.ridge_lambdas = {1e-3, 0.1, 5.0};
        settings.knn_ks = {0};
        const std::vector<McRisks> wide = monte_carlo_each(dist, s.lsa, settings, StreamKey{1, 2, 3});
        const std::vector<McRisks> square = monte_carlo_each(dist, with_steps, settings, StreamKey{1, 2, 3});
        for (std::size_t l = 0; l < 3; ++l)
          for (const Predictor p : {Predictor::model, Predictor::lsa_limit, Predictor::ols, Predictor::ridge, Predictor::gd,
                                    Predictor::avg, Predictor::zero}) {
            const RiskEstimate a = wide[l][p], b = square[l][p];
            EXPECT_NEAR(a.mean, b.mean, 1e-10 * b.mean) << kPredictors[index_of(p)].name << " lambda " << l;
            EXPECT_NEAR(a.se, b.se, 1e-6 * b.se + 1e-14 * b.mean) << kPredictors[index_of(p)].name << " lambda " << l;
          }
      }
  }
  // A subspace law with M its rank: X's rows span the query's range, so OLS without noise errs
  // by zero up to rounding on either way, far below the 1e-12 R_0 that a target reads as zero
  // (the difference ||F||^2 - <Q, Q K^-1> alone would leave 1e-14 R_0 of rounding). The normal
  // equations' rounding is ~eps cond(K) on a design near the fallback's threshold (cond(K) up to
  // 1e8): 1e-17 R_0 on the mean here, and ridge's two forms agree to 1e-8 of it.
  const TrainedModel s = setup("isotropic", 12, 24);
  LsaPredictors with_steps = s.lsa;
  with_steps.gd_steps = GdSteps{MatrixXd::Identity(12, 12), {0.3}};
  const TestDistribution dist = distribution(s, "half_subspace", 6);
  ASSERT_EQ(dist.design_rank(), 6);
  McSettings settings;
  settings.prompts = 300;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  const McRisks wide = monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  const McRisks square = monte_carlo(dist, with_steps, settings, StreamKey{1, 2, 3});
  EXPECT_LT(wide[Predictor::ols].mean, 1e-15 * wide[Predictor::zero].mean);
  EXPECT_LT(square[Predictor::ols].mean, 1e-15 * square[Predictor::zero].mean);
  EXPECT_NEAR(wide[Predictor::ridge].mean, square[Predictor::ridge].mean, 1e-8 * square[Predictor::ridge].mean);
}

// Without a trained model (neither lsa.trained nor a BlockPredictor) the model's estimate is NaN,
// for a query independent of the prompt and for one that depends on it; the baselines are there.
TEST(MonteCarlo, NoModelGivesNoModelEstimate) {
  TrainedModel s = setup("isotropic", 4, 8);
  s.lsa.trained.resize(0, 0);
  for (const char* shift : {"none", "orthogonal_query"}) {
    McSettings settings;
    settings.prompts = 200;
    settings.target_rel_se = 0.0;  // exactly settings.prompts
    const McRisks r = monte_carlo(distribution(s, shift, 3), s.lsa, settings, StreamKey{1, 2, 3});
    EXPECT_TRUE(std::isnan(r[Predictor::model].mean)) << shift;
    EXPECT_TRUE(std::isfinite(r[Predictor::ols].mean) && std::isfinite(r[Predictor::lsa_limit].mean)) << shift;
    EXPECT_EQ(r.prompts, 200) << shift;
  }
}

TEST(MonteCarlo, TargetDoesNotWaitForAnInfiniteOlsRiskOrVariance) {
  // Label noise with |M - rank| <= 1: E tr((X^T X)^+) is infinite, so OLS's estimate never
  // settles; the target is reached on the other estimates, far below the cap.
  const TrainedModel s = setup("isotropic", 8, 16);
  // Label noise at prompt length m, to a 2% target with a cap far above what it needs.
  const auto targeted = [&](const TestDistribution& dist) {
    McSettings settings;
    settings.prompts = 400000;
    settings.target_rel_se = 0.02;
    settings.knn_ks = {0};
    return monte_carlo(dist, s.lsa, settings, StreamKey{1, 2, 3});
  };
  for (const int m : {7, 8, 9}) {
    const TestDistribution dist = distribution(s, "label_noise(0.5)", m);
    EXPECT_TRUE(dist.ols_risk_infinite()) << m;
    const McRisks r = targeted(dist);
    EXPECT_LT(r.prompts, 20000) << m;
    for (const RiskEstimate& e : {r[Predictor::model], r[Predictor::lsa_limit], r[Predictor::ridge], r[Predictor::gd], r[Predictor::avg]}) EXPECT_LE(e.se, 0.02 * e.mean) << m;
  }
  // Two or three away from the rank the risk is finite but the error given the design has an
  // infinite variance (E tr((X^T X)^-1)^2 is infinite): not waited for either; four away it is.
  for (const int m : {5, 6, 10, 11, 12}) {
    const TestDistribution dist = distribution(s, "label_noise(0.5)", m);
    EXPECT_FALSE(dist.ols_risk_infinite()) << m;
    EXPECT_EQ(dist.ols_variance_infinite(), m != 12) << m;
    const McRisks r = targeted(dist);
    EXPECT_LT(r.prompts, 20000) << m;
    if (m == 12) {
      EXPECT_LE(r[Predictor::ols].se, 0.02 * r[Predictor::ols].mean);
    }
  }
  // Finite: two away from the rank, no noise, or the rank halved by half_subspace.
  EXPECT_FALSE(distribution(s, "label_noise(0.5)", 10).ols_risk_infinite());
  EXPECT_FALSE(distribution(s, "none", 8).ols_risk_infinite());
  EXPECT_EQ(distribution(s, "half_subspace", 8).design_rank(), 4);
  EXPECT_EQ(distribution(s, "covariate_random(2)", 8).design_rank(), 8);
}

TEST(Shifts, ExpansionAndValidation) {
  const auto scales = expand_shift("covariate_scale(0.5, 2, 4)");
  ASSERT_EQ(scales.size(), 3u);
  EXPECT_EQ(scales[1].text, "covariate_scale(2)");
  EXPECT_EQ(scales[2].param, 4.0);
  EXPECT_EQ(expand_shift(" covariate_flip ")[0].text, "covariate_flip");
  // Ranges inside the parameter: one shift per value, named by its shortest text; numbers
  // written out keep their text (their keys, and so their rows, stay what they were).
  const auto range = expand_shift("covariate_scale(0.5:2:0.5, 4.0)");
  ASSERT_EQ(range.size(), 5u);
  EXPECT_EQ(range[0].text, "covariate_scale(0.5)");
  EXPECT_EQ(range[1].text, "covariate_scale(1)");
  EXPECT_EQ(range[3].param, 2.0);
  EXPECT_EQ(range[4].text, "covariate_scale(4.0)");
  EXPECT_EQ(expand_shift("label_noise(0:0.3:0.1)")[3].text, "label_noise(0.3)");  // 0.3, not 0.30000000000000004
  for (const char* bad : {"warp", "covariate_scale", "covariate_scale(-1)", "covariate_scale(0)",
                          "label_noise(-0.1)", "none(1)", "task_mean(nan)", "query_scale(1,)",
                          "covariate_random(0)", "task_scale(x)", "covariate_scale(0:1:0.5)",
                          "covariate_scale(2:1:0.5)", "covariate_scale(1:2:0)", "covariate_scale(1:2)"})
    EXPECT_THROW(expand_shift(bad), InputError) << bad;
}

// The flag that puts the training covariance into the test prompts' key (sweep/task/grid.cpp)
// says what make_test_distribution does: a shift that is flagged not to use it gives the same
// test distribution whatever the model was trained on, and a flagged one a different one.
bool same_law(const TestDistribution& a, const TestDistribution& b) {
  const bool laws = a.law.has_value() == b.law.has_value() &&
                    (!a.law || (a.law->kind == b.law->kind && a.law->a == b.law->a && a.law->b == b.law->b));
  return laws && a.d == b.d && a.m == b.m && a.lambda == b.lambda && a.law_scale == b.law_scale && a.mix == b.mix &&
         a.mix_identity == b.mix_identity && a.prompt_scale == b.prompt_scale && a.query_scale == b.query_scale &&
         a.query == b.query && a.quadrants == b.quadrants && a.w_mean == b.w_mean && a.w_scale == b.w_scale &&
         a.noise_sd == b.noise_sd && a.subspace == b.subspace;
}

// Every catalogue shift (parameter 0.7 where it takes one), alone and composed with a part that
// keeps the design and is not itself (label_noise(0.5), or task_mean(1) after label_noise; `none`
// composes with nothing): (alone, composed).
std::vector<std::pair<std::string, std::string>> catalogue_shifts() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CatalogueEntry& entry : shift_catalogue()) {
    std::string text = entry.name;
    if (text.ends_with("(c)")) text = text.substr(0, text.size() - 3) + "(0.7)";
    const std::string then = text.starts_with("label_noise") ? "+task_mean(1)" : "+label_noise(0.5)";
    out.emplace_back(text, text == "none" ? text : text + then);
  }
  return out;
}

TEST(Shifts, TrainingCovarianceFlagMatchesTheTestLaw) {
  const int d = 4, m = 6;
  const std::vector<Covariance> trainings{make_covariance("power(1)", d), make_covariance("random_exp", d),
                                          make_covariance("isotropic", d), make_covariance("geometric(100)", d)};
  int own = 0;
  for (const auto& shifts : catalogue_shifts()) {
    const std::string& text = shifts.first;
    const Shift shift = expand_shift(text).at(0);
    const bool uses = test_law_uses_training_covariance(shift.kind);
    own += !uses;
    for (std::size_t i = 0; i < trainings.size(); ++i)
      for (std::size_t j = i + 1; j < trainings.size(); ++j) {
        Stream si{5, 6}, sj{5, 6};  // the condition's fixed draws: the same stream for both
        const TestDistribution a = make_test_distribution(shift, trainings[i], m, si);
        const TestDistribution b = make_test_distribution(shift, trainings[j], m, sj);
        if (!uses) {
          EXPECT_TRUE(same_law(a, b)) << text << ": " << trainings[i].name << " / " << trainings[j].name;
        }
      }
    // Flagged: the law follows the training covariance (power(1) against random_exp differ always).
    if (uses) {
      Stream si{5, 6}, sj{5, 6};
      EXPECT_FALSE(same_law(make_test_distribution(shift, trainings[0], m, si),
                            make_test_distribution(shift, trainings[1], m, sj)))
          << text;
    }
  }
  EXPECT_EQ(own, 3);  // covariate_isotropic, covariate_random, covariate_skewed
}

// What the dry run knows of a shift before its law is made (query_depends_on_prompt, defined_at)
// is what its law says on any training covariance, d and M: every catalogue shift, alone and
// composed.
TEST(Shifts, QueryFactsBeforeTheLawMatchTheLaw) {
  int on_prompt = 0;
  for (const auto& [text, composed_text] : catalogue_shifts()) {
    for (const std::string& composed : {text, composed_text}) {
      const Shift shift = expand_shift(composed).at(0);
      for (const char* spectrum : {"power(1)", "random_exp"})
        for (const int d : {4, 9})
          for (const int m : {3, 4, 9, 12}) {
            Stream fixed{5, 6};
            const TestDistribution law = make_test_distribution(shift, make_covariance(spectrum, d), m, fixed);
            EXPECT_EQ(query_depends_on_prompt(shift), !law.query_given_design()) << composed;
            EXPECT_EQ(defined_at(shift, m, d), law.defined()) << composed << " M = " << m << ", d = " << d;
          }
      if (composed == text) on_prompt += query_depends_on_prompt(shift);
    }
  }
  EXPECT_EQ(on_prompt, 3);  // orthogonal_query, overlapping_query, opposite_quadrants
}

// A shift flagged as keeping the design draws the designs of `none` (the same design_key) on every
// training covariance, composed too; one flagged as changing it draws others on geometric(100) (on
// some spectra a changed law is the same law: covariate_flip of isotropic or of an i.i.d. law,
// covariate_skewed of power(1), and then the designs are the same too).
TEST(Shifts, DesignFlagMatchesTheDesignLaw) {
  const int d = 4, m = 6;
  int kept = 0;
  for (const char* spectrum : {"power(1)", "geometric(100)", "random_exp", "isotropic"}) {
    const Covariance training = make_covariance(spectrum, d);
    Stream fixed{5, 6};
    const std::uint64_t none = design_key(make_test_distribution(Shift{}, training, m, fixed));
    for (const auto& [text, composed_text] : catalogue_shifts()) {
      for (const std::string& composed : {text, composed_text}) {
        const Shift shift = expand_shift(composed).at(0);
        Stream si{5, 6};
        const std::uint64_t key = design_key(make_test_distribution(shift, training, m, si));
        if (keeps_design(shift)) {
          EXPECT_EQ(key, none) << composed << " on " << spectrum;
        } else if (std::string(spectrum) == "geometric(100)") {
          EXPECT_NE(key, none) << composed << " on " << spectrum;
        }
      }
      if (std::string(spectrum) == "power(1)") kept += keeps_design(expand_shift(text).at(0));
    }
  }
  EXPECT_EQ(kept, 7);  // none, task_mean, task_scale, label_noise, query_scale, orthogonal_query, overlapping_query
  EXPECT_FALSE(keeps_design(expand_shift("label_noise(1)+covariate_scale(2)").at(0)));
}

}  // namespace
