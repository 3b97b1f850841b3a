#include "task/run_task.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <new>
#include <stdexcept>

#include "covariance.hpp"
#include "environment_error.hpp"
#include "gd_steps.hpp"
#include "evaluation.hpp"
#include "gradient_flow.hpp"
#include "interruptible_product.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"
#include "models_library.hpp"
#include "task/stored_model.hpp"

namespace icl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What a training run gives every one of its rows, whichever the model.
struct Trained {
  TrainingStatus status = TrainingStatus::failed;
  double gf_time = kNaN, loss_final = kNaN, loss_min = kNaN, rel_err = kNaN, offblock_norm = kNaN, outside_sparse = kNaN;
  double balance_drift = kNaN, train_loss_final = kNaN;
  std::int64_t gf_steps = 0, train_steps = 0;
  LsaPredictors lsa;          // trained: the model's A when it is exactly x_q^T A h
  BlockPredictor predictor;   // the model, when it is not
  Eigen::MatrixXd a_eff;      // one LSA layer's effective A, when the layer is not exactly lsa.trained

  void fill(ResultRow& row) const {
    set_text(row.status, to_string(status));
    row.gf_time = gf_time;
    row.gf_steps = gf_steps;
    row.train_steps = train_steps;
    row.train_loss_final = train_loss_final;
    row.loss_final = loss_final;
    row.loss_min = loss_min;
    row.rel_err = rel_err;
    row.offblock_norm = offblock_norm;
    row.outside_sparse = outside_sparse;
    row.balance_drift = balance_drift;
  }
};

// The L-step GD reference of a linear_transformer(L) run (docs/theory.md §13): P_l = alpha_l A*,
// the alpha fitted on kGdFitDesigns designs of the training law at M = N (with its label noise,
// grid.train_noise), the same designs for every L, sigma and seed of a (d, spectrum, N). None (NaN columns,
// with a line on stderr) when the fit does not converge.
GdSteps gd_reference(const SweepConfig& config, const TrainingRun& run, const Covariance& covariance,
                     const Eigen::MatrixXd& a_star, std::uint64_t train_id, CancelCheck cancelled) {
  Stream fixed{config.seed, text_key("gd_steps")};  // shift none draws nothing from it
  const TestDistribution law = make_test_distribution(Shift{}, covariance, run.n_train, fixed, cancelled);
  const StreamKey key{config.seed, text_key("d=" + std::to_string(run.d) + ";spectrum=" + run.spectrum),
                      text_key("gd_steps;n=" + std::to_string(run.n_train))};
  const GdFit fit = fit_gd_steps(a_star, run.model.layers, draw_designs(law, key, kGdFitDesigns, cancelled),
                                 run.n_train, run.train_noise, cancelled);
  if (fit.converged) return fit.steps;
  std::fprintf(stderr, "icl-sweep: training run %llu: the %d-step GD reference did not converge in %d sweeps; its "
               "columns are NaN\n", static_cast<unsigned long long>(train_id), run.model.layers, fit.sweeps);
  return GdSteps{};
}

// The loss curve as stored: (flow time or optimizer step, loss, rel_err, excess) per sample.
template <class Sample>
void store_trajectory(const std::vector<Sample>& samples, double Sample::*clock, TaskResult& result) {
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    result.trajectory[i] = StoredSample{s.*clock, s.loss, s.rel_err, s.excess};
  }
}

TrainingStatus status_named(std::string_view text) {
  for (const TrainingStatus s : kTrainingStatuses)
    if (to_string(s) == text) return s;
  return TrainingStatus::failed;
}

// The flow's A, kept with its run (/parameters), row-major.
void keep_matrix(const Eigen::MatrixXd& a, TaskResult& result) {
  if (static_cast<std::size_t>(a.size()) != result.parameters.size()) return;  // none (a failed run)
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(result.parameters.data(), a.rows(),
                                                                                     a.cols()) = a;
}

// What a flow run gives its rows, from its (trained or restored) result.
Trained flow_trained(const FlowResult& flow, const PopulationLoss& loss, TaskResult& result, CancelCheck cancelled) {
  keep_matrix(flow.A, result);
  Trained t;
  t.status = flow.status;
  t.gf_time = flow.time;
  t.gf_steps = flow.steps;
  t.loss_final = flow.loss_final;
  t.loss_min = flow.loss_min;
  t.rel_err = flow.rel_err;
  t.offblock_norm = 0.0;  // the reduced model has none
  t.balance_drift = flow.balance_drift;
  t.lsa = LsaPredictors{flow.A, loss.optimum_matrix(cancelled), loss.one_step_eta(), LsaLayer{}, GdSteps{}};  // A_eff is A
  return t;
}

// A flow run that --extend handed back (task/stored_model.hpp): its result as training gave it,
// nothing trained; its trajectory as stored.
FlowResult restored_flow(const StoredFlow& stored, int d, TaskResult& result) {
  const ResultRow& row = stored.training;
  result.trajectory = stored.trajectory;
  FlowResult flow;
  flow.status = status_named(row.status);
  flow.time = row.gf_time;
  flow.steps = row.gf_steps;
  flow.loss_final = row.loss_final;
  flow.loss_min = row.loss_min;
  flow.rel_err = row.rel_err;
  flow.balance_drift = row.balance_drift;
  flow.A = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(stored.a.data(), d, d);
  return flow;
}

Trained train_flow(const SweepConfig& config, const TrainingRun& run, const PopulationLoss& loss, TaskResult& result,
                   std::uint64_t train_id, const TrainingCheckpoints* checkpoints, CancelCheck cancelled) {
  if (checkpoints) {
    const std::string kept = checkpoints->load(train_id);
    // Said once for the whole extension (sweep_command): a flow run is cheap, and there may be many.
    if (const std::optional<StoredFlow> stored = decode_flow(kept, run.d, result.trajectory.size()))
      return flow_trained(restored_flow(*stored, run.d, result), loss, result, cancelled);
    if (!kept.empty())
      std::fprintf(stderr, "icl-sweep: training run %llu: its stored model is not this run's; it is trained again\n",
                   static_cast<unsigned long long>(train_id));
  }
  // Theta depends on (seed, init_seed, d) only: runs that differ in spectrum, N or sigma
  // start from the same direction.
  Stream theta_stream{config.seed, text_key("theta"), static_cast<std::uint64_t>(run.init_seed),
                      static_cast<std::uint64_t>(run.d)};
  const FlowResult flow = gradient_flow(loss, run.sigma, initial_gram(run.d, theta_stream, cancelled), config.flow, cancelled);
  store_trajectory(flow.trajectory, &TrajectorySample::time, result);
  return flow_trained(flow, loss, result, cancelled);
}

Trained train_model(const SweepConfig& config, const Grid& grid, std::uint64_t train_id, const TrainingRun& run,
                    const Covariance& covariance, const PopulationLoss& loss,
                    const TrainingCheckpoints* checkpoints, TaskResult& result, CancelCheck cancelled) {
  SampledSetup setup;
  setup.model = run.model;
  setup.options = run.options(config.train);
  setup.covariance = &covariance;
  setup.loss = &loss;
  setup.d = run.d;
  setup.n_train = run.n_train;
  setup.sigma = run.sigma;
  setup.train_noise = run.train_noise;
  setup.max_test_m = grid.max_test_m(run);
  setup.trajectory_points = config.flow.trajectory_points;
  setup.seed = config.seed;
  setup.train_key = run.train_key;
  setup.init_seed = run.init_seed;
  if (checkpoints) {
    // A checkpoint is an optimisation: one that cannot be written (the directory unusable, the
    // disk full) is said once per process, and training goes on; a stop then loses more training,
    // never the run's result.
    setup.save = [checkpoints, train_id](const std::string& state) {
      try {
        checkpoints->save(train_id, state);
      } catch (const std::exception& e) {
        static std::atomic<bool> said{false};
        if (!said.exchange(true))
          std::fprintf(stderr, "icl-sweep: training run %llu: %s; training goes on without checkpoints where they "
                       "cannot be written (a stop then loses the training since the last one written)\n",
                       static_cast<unsigned long long>(train_id), e.what());
      }
    };
    setup.resume_from = checkpoints->load(train_id);
  }
  SampledOutcome out;
  try {
    out = models_library().train_sampled(setup, cancelled);
  } catch (const CheckpointMismatch& e) {
    std::fprintf(stderr, "icl-sweep: training run %llu: %s; it starts again\n",
                 static_cast<unsigned long long>(train_id), e.what());
    setup.resume_from.clear();
    out = models_library().train_sampled(setup, cancelled);
  }
  if (out.resumed_at >= 0 && out.resumed_at >= run.steps)
    std::fprintf(stderr, "icl-sweep: training run %llu: its stored model (step %lld) is evaluated on its new conditions; "
                 "nothing trained\n", static_cast<unsigned long long>(train_id), static_cast<long long>(out.resumed_at));
  else if (out.resumed_at >= 0)
    std::fprintf(stderr, "icl-sweep: training run %llu continued from its checkpoint at step %lld\n",
                 static_cast<unsigned long long>(train_id), static_cast<long long>(out.resumed_at));
  store_trajectory(out.trajectory, &TrainingSample::step, result);
  if (out.status != TrainingStatus::cancelled) result.model_state = std::move(out.state);
  // The trained weights as the file keeps them (/parameters): W^PV_1, W^KQ_1, ..., each row-major.
  std::size_t at = 0;
  for (const Eigen::MatrixXd& w : out.weights) {
    if (at + static_cast<std::size_t>(w.size()) > result.parameters.size())
      throw std::logic_error("the trained weights outgrow the grid's parameters per run");
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        result.parameters.data() + at, w.rows(), w.cols()) = w;
    at += static_cast<std::size_t>(w.size());
  }
  Trained t;
  t.status = out.status;
  t.train_steps = out.steps;
  t.train_loss_final = out.loss_final;
  for (std::size_t l = 0; l + 1 < out.weights.size(); l += 2) {  // the largest share over layers
    const double share = outside_sparse_form(out.weights[l], out.weights[l + 1]);
    t.outside_sparse = std::isnan(t.outside_sparse) ? share : std::max(t.outside_sparse, share);
  }
  t.loss_min = loss.minimum();
  t.lsa = LsaPredictors{Eigen::MatrixXd(), loss.optimum_matrix(cancelled), loss.one_step_eta(), LsaLayer{}, GdSteps{}};
  if (run.model.kind == ModelSpec::Kind::linear_transformer)
    t.lsa.gd_steps = gd_reference(config, run, covariance, t.lsa.limit, train_id, cancelled);
  // One whole LSA layer, every block: its risk by theory (docs/theory.md §12). The LSA of §1 has
  // the query among its keys; a deep linear transformer's layer masks it.
  if (run.model.lsa_type() && out.weights.size() == 2 && out.status == TrainingStatus::trained)
    t.lsa.layer = LsaLayer{out.weights[0].row(run.d).transpose(), out.weights[1], run.model.kind == ModelSpec::Kind::lsa};
  t.predictor = std::move(out.predictor);
  if (out.a_eff.size() > 0) {
    const Eigen::MatrixXd& optimum = t.lsa.limit;
    t.offblock_norm = out.offblock_norm;
    t.rel_err = (out.a_eff - optimum).norm() / optimum.norm();
    t.loss_final = loss.minimum() + loss.excess(product(product(loss.basis.transpose(), out.a_eff, cancelled), loss.basis, cancelled));
    // Exactly x_q^T A_eff h only when the other blocks vanish.
    (out.offblock_norm == 0.0 ? t.lsa.trained : t.a_eff) = std::move(out.a_eff);
  }
  return t;
}

}  // namespace

TaskResult run_task(const SweepConfig& config, const Grid& grid, std::uint64_t train_id, int rank,
                    const TrainingCheckpoints* checkpoints, CancelCheck cancelled, const std::uint8_t* reused) {
  using Clock = std::chrono::steady_clock;
  const TrainingRun run = grid.run(train_id);
  // Loading libtorch (once a process, about 0.6 s) is no part of a run's training time.
  if (run.model.sampled()) models_library();
  const auto start = Clock::now();
  const std::uint64_t conditions = grid.conditions_per_run();
  TaskResult result;
  result.train_id = train_id;
  result.rows.resize(conditions);
  result.trajectory.assign(config.flow.trajectory_points, StoredSample{kNaN, kNaN, kNaN, kNaN});
  result.parameters.assign(static_cast<std::size_t>(run.model.stored_parameters(run.d)), kNaN);
  // This rank's device for a sampled model (config.train.device: cpu or cuda:k), -1 the CPU.
  const std::int32_t device = run.model.sampled() ? parse_device(config.train.device).index : -1;
  for (std::uint64_t c = 0; c < conditions; ++c) {
    ResultRow& row = result.rows[c];
    row = blank_row();
    const Condition cond = grid.condition(run, c);
    row.row = train_id * conditions + c;
    row.train_id = train_id;
    row.seed = config.seed;
    set_grid_columns(row, run, cond);
    row.mc_prompts = 0;  // the prompts drawn, once evaluated
    row.rank = rank;
    row.device = device;
  }

  const auto abandon = [&] {
    if (!cancelled || !cancelled()) return false;
    result.rows.clear();
    return true;
  };
  try {
    if (abandon()) return result;
    const Covariance covariance = make_covariance(run.spectrum, run.d, config.inputs);
    const PopulationLoss loss = make_population_loss(covariance, run.n_train, run.train_noise);
    const Trained trained = run.model.sampled() ? train_model(config, grid, train_id, run, covariance, loss, checkpoints, result, cancelled)
                                                : train_flow(config, run, loss, result, train_id, checkpoints, cancelled);
    if (trained.status == TrainingStatus::cancelled) {
      result.rows.clear();
      return result;
    }
    const double train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const BlockPredictor* model = trained.predictor ? &trained.predictor : nullptr;
    // The conditions that differ only in ridge's lambda and k-NN's k (the two fastest condition
    // axes) share their test law and prompts: one pass over the prompts evaluates them all. The
    // passes whose laws draw the same designs (the shifts that leave the covariates alone: none,
    // label_noise, task_mean, query_scale, ...) share those designs and go as one.
    McSettings mc = config.mc;
    mc.ridge_lambdas = config.ridge_lambda;
    mc.knn_ks = config.knn_k;
    const std::uint64_t group = config.ridge_lambda.size() * config.knn_k.size();
    std::vector<std::uint64_t> firsts;  // each pass's first condition
    std::vector<TestDistribution> laws;
    std::vector<StreamKey> keys;
    for (std::uint64_t first = 0; first < conditions; first += group) {
      if (reused && std::all_of(reused + first, reused + first + group, [](std::uint8_t r) { return r != 0; })) continue;
      const Condition cond = grid.condition(run, first);
      keys.push_back(StreamKey{config.seed, cond.covariance_key, cond.key});
      Stream fixed_draws{config.seed, cond.covariance_key, cond.key, text_key("condition")};
      laws.push_back(make_test_distribution(cond.shift, covariance, cond.m, fixed_draws, cancelled));
      firsts.push_back(first);
    }
    std::vector<std::uint64_t> design_keys;
    for (const TestDistribution& law : laws) design_keys.push_back(design_key(law));
    std::vector<bool> done(laws.size(), false);
    for (std::size_t lead = 0; lead < laws.size(); ++lead) {
      if (done[lead]) continue;
      if (abandon()) return result;
      const auto pass_start = Clock::now();
      std::vector<std::size_t> members;
      std::vector<McCondition> shared;
      for (std::size_t g = lead; g < laws.size(); ++g)
        if (!done[g] && design_keys[g] == design_keys[lead]) {
          members.push_back(g);
          shared.push_back(McCondition{&laws[g], keys[g]});
          done[g] = true;
        }
      const std::vector<std::vector<ConditionRisks>> risks =
          evaluate_shared(shared, trained.lsa, mc, model, trained.a_eff, cancelled);
      // The pass's time is shared out over its rows, as the training time over the run's.
      const double seconds = std::chrono::duration<double>(Clock::now() - pass_start).count() /
                                 static_cast<double>(group * members.size()) +
                             train_seconds / static_cast<double>(conditions);
      for (std::size_t member = 0; member < members.size(); ++member) {
        const std::uint64_t first = firsts[members[member]];
        for (std::uint64_t c = first; c < first + group; ++c) {
          if (reused && reused[c]) continue;
          ResultRow& row = result.rows[c];
          const ConditionRisks& r = risks[member][c - first];
          if (row.ridge_lambda != mc.ridge_lambdas[(c - first) / mc.knn_ks.size()] ||
              row.knn_k != mc.knn_ks[(c - first) % mc.knn_ks.size()])
            throw std::logic_error("run_task: the condition order is not (..., ridge_lambda, knn_k)");
          trained.fill(row);
          row.train_seconds = train_seconds;
          // Every predictor's columns (src/predictors.hpp), in row order.
          for (std::size_t i = 0; i < kPredictorColumnCount; ++i)
            row.risk[i] = r.value(kPredictorColumns[i].predictor, kPredictorColumns[i].quantity);
          row.mc_prompts = static_cast<std::int32_t>(r.mc.prompts);
          row.seconds = seconds;
        }
      }
    }
  } catch (const Cancelled&) {
    result.rows.clear();  // abandoned: computed again on resume
    return result;
  } catch (const std::bad_alloc&) {
    throw;  // depends on the node, not on the run: not a result to keep
  } catch (const EnvironmentError&) {
    throw;  // the same
  } catch (const std::exception& e) {
    // The rows not yet evaluated keep status `failed` and NaN values; the sweep goes on.
    std::fprintf(stderr, "icl-sweep: training run %llu (%s) failed: %s\n",
                 static_cast<unsigned long long>(train_id), run.spectrum.c_str(), e.what());
  }
  for (std::uint64_t c = 0; c < result.rows.size(); ++c) result.rows[c].done = reused && reused[c] ? 0 : 1;
  return result;
}

}  // namespace icl
