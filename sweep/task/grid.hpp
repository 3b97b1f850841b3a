#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model_spec.hpp"
#include "shifts.hpp"
#include "config/grid_axes.hpp"
#include "config/result_row.hpp"
#include "config/sweep_config.hpp"

namespace icl {

// Seconds a process takes to load libtorch with the sampled models' library (bench/cost_model.py).
inline constexpr double kModelsLibraryLoadSeconds = 0.6;

struct TrainingRun {
  int d = 0, n_train = 0;
  std::string spectrum;
  double sigma = 0.0;
  double train_noise = 0.0;  // label noise (sd) of the training prompts
  int init_seed = 0;
  ModelSpec model;
  double lr = 0.0;
  std::int64_t steps = 0;
  TrainOptions::Optimizer optimizer = TrainOptions::Optimizer::adam;
  int batch = 0;
  TrainOptions::Schedule schedule = TrainOptions::Schedule::constant;
  std::string init;  // canonical: paper, gaussian(0.02)
  // text_key of the point (d, n_train, sigma, init_seed, spectrum, and train_noise where it is not
  // 0), the model, lr and steps: the
  // training prompts and the initialisation hang off it (the test prompts do not: Condition).
  // Runs that differ only in optimizer, batch, lr_schedule or init share it: they start from
  // the same weights and draw the same stream of training prompts, a paired comparison.
  std::uint64_t train_key = 0;

  // The training options of this run: `base` (the config's train.*) with the run's own values.
  TrainOptions options(const TrainOptions& base) const;
};

struct Condition {
  int m = 0;  // resolved: `n` is the run's n_train
  Shift shift;
  double ridge_lambda = 0.0;
  int knn_k = 0;
  // The test law's keys, off which the test prompts and the condition's fixed draws hang: rows
  // with the same test law see the same prompts, whatever was trained and how.
  // text_key of d, and of the training spectrum as written where the shift's test law is made
  // from the training covariance (test_law_uses_training_covariance).
  std::uint64_t covariance_key = 0;
  // text_key of (M, shift): the same for every ridge_lambda and knn_k.
  std::uint64_t key = 0;
};

// The sweep's rows without materialising them: training runs in the lexicographic order of
// (d, n_train, spectrum, sigma, init_seed, model, lr, steps, optimizer, batch, lr_schedule, init)
// as listed, each followed by its conditions in the order (m_test, shift, ridge_lambda, knn_k). Row r belongs to run r / conditions_per_run().
class Grid {
 public:
  explicit Grid(const SweepConfig& config);
  const SweepConfig& config() const { return config_; }
  std::uint64_t runs() const { return runs_; }
  std::uint64_t conditions_per_run() const { return conditions_; }
  std::uint64_t rows() const { return runs_ * conditions_; }
  TrainingRun run(std::uint64_t train_id) const;
  Condition condition(const TrainingRun& run, std::uint64_t index) const;
  int max_test_m(const TrainingRun& run) const;  // the longest test prompt of the run
  // The trained weights kept per run (/parameters): the most any run of the grid keeps; 0 when
  // no run keeps any.
  std::int64_t parameters_per_run() const;
  // Rough single-core seconds for one run with all its conditions: orders the work so that
  // the costliest runs start first. O(1).
  double cost_estimate(std::uint64_t train_id) const;
  // The sum over all runs, in O(|d| |n_train| |m_test|): --dry-run answers at once; with sampled
  // models, plus one load of their library (kModelsLibraryLoadSeconds). With `model`, the runs of
  // that model only.
  double total_cost_estimate(const ModelSpec* model = nullptr) const;
  double longest_run_estimate() const;  // the costliest single run: a lower bound on the wall time
  // The Monte-Carlo prompts the cost model expects a condition to draw, on average over the grid
  // (eval.mc_prompts without a precision target).
  double expected_prompts_mean() const { return prompts_mean_; }

 private:
  void tabulate_costs();

  const SweepConfig& config_;  // must outlive the grid
  AxisDigits sizes_;           // every axis's number of values: decoding a row's place needs no more
  std::uint64_t runs_ = 0, conditions_ = 0;
  // By (d, n_train, model, batch) class, in run order: a run costs fixed_ + steps x per_step_.
  std::vector<double> fixed_, per_step_;
  double prompts_mean_ = 0.0;
};

// Writes the row's grid columns: every axis of config/grid_axes.hpp, from the run and condition.
void set_grid_columns(ResultRow& row, const TrainingRun& run, const Condition& condition);

}  // namespace icl
