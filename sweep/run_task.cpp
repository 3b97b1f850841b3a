#include "run_task.hpp"

#include <chrono>
#include <cstdio>
#include <limits>
#include <new>

#include "covariance.hpp"
#include "evaluation.hpp"
#include "gradient_flow.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"

namespace icl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TaskResult run_task(const SweepConfig& config, const Grid& grid, std::uint64_t train_id, int rank,
                    bool (*cancelled)()) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const TrainingRun run = grid.run(train_id);
  const std::uint64_t conditions = grid.conditions_per_run();
  TaskResult result;
  result.train_id = train_id;
  result.rows.resize(conditions);
  result.trajectory.assign(config.flow.trajectory_points, StoredSample{kNaN, kNaN, kNaN, kNaN});
  for (std::uint64_t c = 0; c < conditions; ++c) {
    ResultRow& row = result.rows[c];
    row = blank_row();
    const Condition cond = grid.condition(run, c);
    row.row = train_id * conditions + c;
    row.train_id = train_id;
    row.d = run.d;
    row.n_train = run.n_train;
    row.m_test = cond.m;
    set_text(row.spectrum, run.spectrum);
    set_text(row.shift, cond.shift.text);
    row.sigma = run.sigma;
    row.init_seed = run.init_seed;
    row.mc_prompts = config.mc.prompts;
    row.rank = rank;
  }

  const auto abandon = [&] {
    if (!cancelled || !cancelled()) return false;
    result.rows.clear();
    return true;
  };
  try {
    if (abandon()) return result;
    const Covariance covariance = make_covariance(run.spectrum, run.d, config.inputs);
    const PopulationLoss loss = make_population_loss(covariance, run.n_train);
    // Theta depends on (seed, init_seed, d) only: runs that differ in spectrum, N or sigma
    // start from the same direction.
    Stream theta_stream{config.seed, text_key("theta"), static_cast<std::uint64_t>(run.init_seed),
                        static_cast<std::uint64_t>(run.d)};
    const FlowResult flow = gradient_flow(loss, run.sigma, initial_gram(run.d, theta_stream), config.flow);
    for (std::size_t i = 0; i < flow.trajectory.size(); ++i) {
      const TrajectorySample& s = flow.trajectory[i];
      result.trajectory[i] = StoredSample{s.time, s.loss, s.rel_err, s.excess};
    }
    const double train_seconds = std::chrono::duration<double>(Clock::now() - start).count();

    const LsaPredictors lsa{flow.A, loss.optimum_matrix(), loss.one_step_eta()};
    for (std::uint64_t c = 0; c < conditions; ++c) {
      if (abandon()) return result;
      const auto cond_start = Clock::now();
      ResultRow& row = result.rows[c];
      const Condition cond = grid.condition(run, c);
      row.gf_time = flow.time;
      row.gf_steps = flow.steps;
      row.loss_final = flow.loss_final;
      row.loss_min = flow.loss_min;
      row.rel_err = flow.rel_err;
      row.balance_drift = flow.balance_drift;
      const StreamKey key{config.seed, run.key, cond.key};
      Stream fixed_draws{key.seed, key.train, key.condition, text_key("condition")};
      const TestDistribution dist = make_test_distribution(cond.shift, covariance, cond.m, fixed_draws);
      const ConditionRisks r = evaluate_condition(dist, lsa, config.mc, key);
      row.risk_lsa_theory = r.lsa_theory;
      row.risk_lsa_limit = r.lsa_limit;
      row.risk_lsa_mc = r.mc.lsa.mean;
      row.risk_lsa_mc_se = r.mc.lsa.se;
      row.risk_ols_mc = r.mc.ols.mean;
      row.risk_ols_mc_se = r.mc.ols.se;
      row.risk_ridge_mc = r.mc.ridge.mean;
      row.risk_ridge_mc_se = r.mc.ridge.se;
      row.risk_gd_theory = r.gd_theory;
      row.risk_gd_mc = r.mc.gd.mean;
      row.risk_avg_mc = r.mc.avg.mean;
      row.risk_avg_mc_se = r.mc.avg.se;
      row.risk_knn_mc = r.mc.knn.mean;
      row.risk_knn_mc_se = r.mc.knn.se;
      row.risk_zero = r.zero;
      set_text(row.status, std::string(to_string(flow.status)));
      // The training time is shared out over the run's rows.
      row.seconds = std::chrono::duration<double>(Clock::now() - cond_start).count() +
                    train_seconds / static_cast<double>(conditions);
    }
  } catch (const std::bad_alloc&) {
    throw;  // depends on the node, not on the run: not a result to keep
  } catch (const std::exception& e) {
    // The rows not yet evaluated keep status `failed` and NaN values; the sweep goes on.
    std::fprintf(stderr, "icl-sweep: training run %llu (%s) failed: %s\n",
                 static_cast<unsigned long long>(train_id), run.spectrum.c_str(), e.what());
  }
  for (auto& row : result.rows) row.done = 1;
  return result;
}

}  // namespace icl
