#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cancellation.hpp"
#include "task/grid.hpp"
#include "config/sweep_config.hpp"
#include "task/task_result.hpp"

namespace icl {

// Where a sampled run's training state is kept across stops, passed in by the caller
// (store/run_checkpoint.hpp keeps it in files beside the output): read before training, handed
// every new state while training.
class TrainingCheckpoints {
 public:
  virtual ~TrainingCheckpoints() = default;
  virtual std::string load(std::uint64_t train_id) const = 0;  // "" when there is none
  virtual void save(std::uint64_t train_id, const std::string& state) const = 0;
};

// Trains run `train_id` once and evaluates it on all of its conditions. Never throws for a
// numerical failure: a diverged flow is that row's status, an exception makes it `failed`. A
// failure of the machine (std::bad_alloc, EnvironmentError) is no result of the run: it leaves
// run_task, and the run is computed again on resume. A checkpoint that cannot be written is said
// once, and training goes on.
// When `cancelled` answers true (checked before training and between conditions), the run is
// abandoned and the result has no rows.
// With `reused` (one byte per condition of the run), the conditions marked 1 are not evaluated:
// their rows keep the run's keys with done = 0, for rank 0 to fill from the file they are
// reused from (--extend, store/extend.hpp). Sampled models keep their training state in
// `checkpoints`; nullptr keeps none.
TaskResult run_task(const SweepConfig& config, const Grid& grid, std::uint64_t train_id, int rank,
                    const TrainingCheckpoints* checkpoints, CancelCheck cancelled = nullptr,
                    const std::uint8_t* reused = nullptr);

}  // namespace icl
