#pragma once
#include <cstdint>
#include <vector>

#include "cancellation.hpp"
#include "grid.hpp"
#include "result_row.hpp"
#include "sweep_config.hpp"

namespace icl {

// Everything one training run contributes to the file: its rows (contiguous, starting at
// train_id * conditions_per_run) and its trajectory.
struct TaskResult {
  std::uint64_t train_id = 0;
  std::vector<ResultRow> rows;
  std::vector<StoredSample> trajectory;
};

// Trains run `train_id` once and evaluates it on all of its conditions. Never throws for a
// numerical failure: a diverged flow is that row's status, an exception makes it `failed`.
// When `cancelled` answers true (checked before training and between conditions), the run is
// abandoned and the result has no rows.
// With `reused` (one byte per condition of the run), the conditions marked 1 are not evaluated:
// their rows keep the run's keys with done = 0, for rank 0 to fill from the file they are
// reused from (--extend, extend.hpp).
TaskResult run_task(const SweepConfig& config, const Grid& grid, std::uint64_t train_id, int rank,
                    CancelCheck cancelled = nullptr, const std::uint8_t* reused = nullptr);

}  // namespace icl
