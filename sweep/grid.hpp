#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "shifts.hpp"
#include "sweep_config.hpp"

namespace icl {

struct TrainingRun {
  int d = 0, n_train = 0;
  std::string spectrum;
  double sigma = 0.0;
  int init_seed = 0;
  std::uint64_t key = 0;  // text_key of the parameters: the run's random streams hang off it
};

struct Condition {
  int m = 0;  // resolved: `n` is the run's n_train
  Shift shift;
  std::uint64_t key = 0;
};

// The sweep's rows without materialising them: training runs in the lexicographic order of
// (d, n_train, spectrum, sigma, init_seed) as listed, each followed by its conditions in the
// order (m_test, shift). Row r belongs to run r / conditions_per_run().
class Grid {
 public:
  explicit Grid(const SweepConfig& config);
  std::uint64_t runs() const { return runs_; }
  std::uint64_t conditions_per_run() const { return conditions_; }
  std::uint64_t rows() const { return runs_ * conditions_; }
  TrainingRun run(std::uint64_t train_id) const;
  Condition condition(const TrainingRun& run, std::uint64_t index) const;
  // Rough single-core seconds for one run with all its conditions: orders the work so that
  // the costliest runs start first. O(1).
  double cost_estimate(std::uint64_t train_id) const;
  // The sum over all runs, in O(|d| |n_train| |m_test|): --dry-run answers at once.
  double total_cost_estimate() const;

 private:
  double cost_of(int d, int n_train) const;

  const SweepConfig& config_;  // must outlive the grid
  std::uint64_t runs_ = 0, conditions_ = 0;
  std::vector<double> cost_;  // by (d, n_train) index
};

}  // namespace icl
