#pragma once
// One sampled model's training run set up on a training law, and the trained model's error on
// held-out prompts of that law: the model tests' fixture and the GPU check's runs
// (tests/gpu/gpu_check.cpp).
#include <string>

#include "covariance.hpp"
#include "monte_carlo.hpp"
#include "population_loss.hpp"
#include "sampled_training.hpp"
#include "shifts.hpp"

namespace icl::test {

struct ModelRun {
  ModelRun(const std::string& spectrum, int d, int n, const std::string& model, const std::string& device)
      : covariance(make_covariance(spectrum, d)), loss(make_population_loss(covariance, n)) {
    setup.model = parse_model(model);
    setup.covariance = &covariance;
    setup.loss = &loss;
    setup.d = d;
    setup.n_train = n;
    setup.sigma = 0.3;
    setup.max_test_m = n;
    setup.trajectory_points = 16;
    setup.seed = 11;
    setup.train_key = 12;
    setup.init_seed = 2;
    setup.options.device = device;
  }
  ModelRun(const ModelRun&) = delete;  // setup points at the members
  ModelRun& operator=(const ModelRun&) = delete;

  Covariance covariance;
  PopulationLoss loss;
  SampledSetup setup;
};

// The trained model's Monte-Carlo error on `prompts` held-out prompts of the training law at
// M = N, the same prompts for every run of that law (their stream is fixed).
inline RiskEstimate held_out(const ModelRun& run, const SampledOutcome& out, int prompts) {
  Stream fixed{1};
  const TestDistribution law = make_test_distribution(expand_shift("none")[0], run.covariance, run.setup.n_train, fixed);
  const LsaPredictors lsa{Eigen::MatrixXd(), run.loss.optimum_matrix(), run.loss.one_step_eta(), {}, {}};
  McSettings settings;
  settings.prompts = prompts;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  return monte_carlo(law, lsa, settings, StreamKey{99, 98, 97}, &out.predictor)[Predictor::model];
}

}  // namespace icl::test
